"""Where a sweep's Ray runs: the address policy, the connection, and the GPU share a trial asks for.

Ray's own convention decides (as ``ray.init()`` does): ``--local`` starts Ray in this process,
``--address`` joins a cluster, else ``RAY_ADDRESS`` is joined when set, else Ray starts locally.
``HeadWatch`` notices when the head stops answering under a running sweep.
Ray is imported only by ``connect``: a local cluster's token must be in the environment first
(``auth.local_token_auth``).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlparse

from orchestrator.errors import SweepError, last_line
from orchestrator.plan import DEFAULT_GPU_FRACTION


@dataclass(frozen=True)
class RaySite:
    local: bool                 # start Ray in this process
    address: str | None         # the cluster to join, when not local
    why: str                    # one line for the user: where, and what decided it


def choose_site(local: bool, address: str | None, environ: Mapping[str, str]) -> RaySite:
    """Where the sweep runs, from the flags and the environment; SweepError when both flags are given."""
    if local and address is not None:
        raise SweepError("give at most one of --local (start Ray here) or --address ADDR (join a cluster)")
    if local:
        return RaySite(True, None, "Ray: starting a local instance on this machine (--local)")
    if address is not None:
        return RaySite(False, address, f"Ray: joining the cluster at {address} (--address)")
    if environ.get("RAY_ADDRESS"):
        return RaySite(False, environ["RAY_ADDRESS"], f"Ray: joining the cluster at {environ['RAY_ADDRESS']} "
                                                      "(RAY_ADDRESS)")
    return RaySite(True, None, "Ray: starting a local instance on this machine (no --address, and RAY_ADDRESS "
                               "is not set)")


def connect(site: RaySite) -> None:
    """Start Ray in-process or join the cluster at ``site.address``; SweepError if it cannot be reached."""
    import ray

    if ray.is_initialized():
        return
    if site.local:
        ray.init(address="local", include_dashboard=False, log_to_driver=False, configure_logging=False)
        return
    check_reachable(site.address)
    try:
        ray.init(address=site.address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        # Ray wraps the cause (an AuthenticationError for a missing or wrong token) in a generic error.
        raise SweepError(f"cannot connect to Ray at {site.address!r}: "
                         f"{last_line(str(exc.__cause__ or exc))}") from None


def check_reachable(address: str | None) -> None:
    """Fail fast, before Ray's own minute of retries, when a host:port address does not answer."""
    if not address or address == "auto":
        return
    try:
        parsed = urlparse(address if "://" in address else f"ray://{address}")
        host, port = parsed.hostname, parsed.port   # ValueError: bad IPv6 brackets, port not in 0..65535
    except ValueError:
        host = port = None
    if host is None or port is None:
        raise SweepError(f"bad --address {address!r}; valid: auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        raise SweepError(f"cannot reach Ray at {address!r}: {exc.strerror or exc}") from None


def resolve_gpus(requested: float | None, local: bool, log: Callable[[str], None]) -> float:
    """The GPU share per trial: as requested, else DEFAULT_GPU_FRACTION where the cluster has GPUs, else 0."""
    import ray

    if requested is not None:
        return requested
    if ray.cluster_resources().get("GPU", 0):
        return DEFAULT_GPU_FRACTION
    if not local:
        log("the cluster has no GPU now, so trials run on CPU; an autoscaling cluster adds GPU nodes only "
            f"for trials that ask for them: pass --gpus-per-trial {DEFAULT_GPU_FRACTION}")
    return 0.0


class HeadWatch:
    """Polls Ray's head (its GCS port) from a daemon thread; calls ``on_lost`` once if it stops answering.

    When the head dies under a driver, Ray's own client waits a minute, prints its internals and
    ends the process; this notices within ``patience`` seconds, so that the sweep can end first
    with one line of its own.
    """

    def __init__(self, gcs_address: str, on_lost: Callable[[], None], *, every: float = 0.5,
                 patience: float = 5.0) -> None:
        host, _, port = gcs_address.rpartition(":")
        self.host, self.port = host.strip("[]"), int(port)
        self.on_lost, self.every, self.patience = on_lost, every, patience
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="archbench-head-watch", daemon=True)

    def __enter__(self) -> HeadWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join()

    def _answers(self) -> bool:
        try:
            socket.create_connection((self.host, self.port), timeout=self.every).close()
            return True
        except OSError:
            return False

    def _run(self) -> None:
        silent_since = None
        while not self._stopped.wait(self.every):
            if self._answers():
                silent_since = None
            elif silent_since is None:
                silent_since = time.monotonic()
            elif time.monotonic() - silent_since >= self.patience:
                self.on_lost()
                return


def gcs_address() -> str | None:
    """The address of the head's GCS this driver is connected to, where Ray says it (not through Ray Client)."""
    import ray

    try:
        return ray.get_runtime_context().gcs_address
    except (AttributeError, RuntimeError):
        return None
