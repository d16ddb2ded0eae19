"""archbench on a Ray cluster: the launcher configs, and a real two-node cluster on 127.0.0.1.

1. ``cluster.yaml`` and ``examples/cluster-local.yaml`` pass the cluster launcher's own checks
   (``prepare_config`` then ``validate_config`` against ``ray-schema.json``: what ``ray up`` does
   before it talks to a cloud) and keep their security properties.
A head and a worker node on loopback, with token authentication as the configs set it up:
2. the worker's raylet is killed under a running trial: the trial is retried on the head and every
   cell still ends with exactly one ok row;
3. the head dies under a running sweep: one line and exit 3;
4. ``archbench sweep --address`` runs trials on both nodes and every row reaches the driver's
   Parquet; a driver without the token is refused (these two share one cluster).

Every node is started on 127.0.0.1 with ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``. With that
setting Ray 2.60's ``ray start --address`` refuses to start a worker ("Multi-node Ray clusters are
not supported on Windows and OSX"), and without it Ray rewrites 127.0.0.1 to the network
interface's address. So the head comes from ``ray start --head`` and the worker from the same
``ray._private.node.Node(head=False)`` call that ``ray start --address`` makes after that check
(``ray.cluster_utils.Cluster.add_node`` does the same). Each node's processes are started in a
session of their own; teardown kills exactly those sessions, never ``ray stop`` (which would kill
every Ray process on the machine).
"""

from __future__ import annotations

import concurrent.futures
import copy
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest
import ray
import yaml
from helpers import BENCHMARKS, archbench, load_script
from packaging.requirements import Requirement
from packaging.version import Version

from orchestrator.results import ResultStore

kill_until_gone = load_script(BENCHMARKS / "common.py", "benchmarks_common").kill_until_gone

pytestmark = pytest.mark.slow   # starts Ray clusters

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {"aws": REPO / "cluster.yaml", "local": REPO / "examples" / "cluster-local.yaml"}
RAY = str(Path(sys.executable).with_name("ray"))
LOOPBACK = "127.0.0.1"
DATASETS = ["synthetic_mnist", "synthetic_fashion_mnist", "synthetic_cifar10", "synthetic_svhn"]
GRID = ["--archs", "lenet5", "--datasets", ",".join(DATASETS), "--cpus-per-trial", "1"]


# --------------------------------------------------------------------------------------------
# 1. The launcher configs
# --------------------------------------------------------------------------------------------

def load(kind: str) -> dict:
    return yaml.safe_load(CONFIGS[kind].read_text())


def prepared(kind: str) -> dict:
    """The config as `ray up` sees it after filling in defaults, validated against Ray's schema."""
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = prepare_config(copy.deepcopy(load(kind)))
    validate_config(config)
    return config


def commands(config: dict) -> list[str]:
    keys = ("initialization_commands", "setup_commands", "head_setup_commands", "worker_setup_commands",
            "head_start_ray_commands", "worker_start_ray_commands")
    return [cmd for key in keys for cmd in config.get(key) or []]


def strings(value) -> list[str]:
    """Every string in a parsed YAML value (comments are not part of it)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings(k) + strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_config_passes_the_launchers_validation(kind):
    config = prepared(kind)
    assert config["head_node_type"] in config["available_node_types"]
    if kind == "aws":
        assert config["provider"]["type"] == "aws"
        worker = config["available_node_types"]["ray.worker.gpu"]
        assert worker["min_workers"] == 0 and worker["max_workers"] >= 1
        assert worker["node_config"]["InstanceType"].startswith(("g5.", "g6."))
        assert config["available_node_types"]["ray.head.cpu"]["resources"] == {"CPU": 0}
    else:
        assert config["provider"]["type"] == "local"
        assert config["provider"]["head_ip"] and config["provider"]["worker_ips"]


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_every_ray_start_has_token_auth_and_the_token_is_mounted(kind):
    config = prepared(kind)
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        starts = [cmd for cmd in config[key] if "ray start" in cmd]
        assert starts, f"{key} starts no Ray"
        for cmd in starts:
            assert re.search(r"(^|[;&\s])RAY_AUTH_MODE=token ray start ", cmd), cmd
    # The token comes from the user's machine to Ray's default token path on every node (the head
    # forwards file_mounts to the workers); nothing in the config is the secret itself.
    mounts = {remote: local for remote, local in config["file_mounts"].items() if remote.endswith("/.ray/auth_token")}
    assert list(mounts.values()) == ["~/.ray/auth_token"], config["file_mounts"]
    assert any("chmod 600 ~/.ray/auth_token" in cmd for cmd in commands(config))
    # Drivers started on the cluster (`ray exec`, `ray attach`, jobs) get token mode too.
    assert any("export RAY_AUTH_MODE=token" in cmd for cmd in config["setup_commands"])
    assert not any("RAY_AUTH_TOKEN=" in s or "RAY_AUTH_MODE=disabled" in s for s in strings(config))


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_no_port_is_open_to_the_world_and_the_dashboard_stays_local(kind):
    raw = load(kind)
    assert not [s for s in strings(raw) if "0.0.0.0/0" in s or "::/0" in s]
    for cmd in commands(prepared(kind)):
        for host in re.findall(r"--dashboard-host[= ]+(\S+)", cmd):
            assert host in ("127.0.0.1", "localhost"), cmd
        assert "--ray-debugger-external" not in cmd
    if kind == "aws":
        # A node type without SecurityGroupIds gets the group Ray creates, and Ray's default rules
        # (ray/autoscaler/_private/aws/config.py: _create_default_ssh_inbound_rules) open SSH to
        # 0.0.0.0/0. The user's own group opens SSH to their IP only.
        for name, node_type in raw["available_node_types"].items():
            groups = node_type["node_config"].get("SecurityGroupIds")
            assert groups and all(g.startswith("sg-") for g in groups), name
        assert "IpPermissions" not in raw["provider"].get("security_group", {})


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_pinned_versions_are_the_tested_ones_and_in_the_projects_ranges(kind):
    try:
        import tomllib
    except ImportError:   # Python 3.10
        tomllib = pytest.importorskip("tomli")

    project = {Requirement(r).name: Requirement(r)
               for r in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    pins = {}
    for cmd in prepared(kind)["setup_commands"]:
        for name, pinned in re.findall(r'"?([a-z]+)(?:\[[a-z,]+\])?==([0-9][^"\s]*)"?', cmd):
            pins[name] = pinned
    assert set(pins) == {"ray", "torch", "torchvision"}, pins
    for name, pinned in pins.items():
        assert Version(pinned) in project[name].specifier, (name, pinned, str(project[name]))
        assert pinned == Version(installed_version(name)).public, (name, pinned, installed_version(name))
    assert pins["ray"] == ray.__version__


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_the_mounted_files_are_enough_to_install_the_project(kind, tmp_path):
    """file_mounts copies only part of the repository: that part must build."""
    copied = tmp_path / "archbench"
    for remote, local in load(kind)["file_mounts"].items():
        if remote.endswith("/.ray/auth_token"):
            continue
        assert remote.startswith("/home/ubuntu/archbench/"), remote
        source, target = REPO / local, copied / remote.removeprefix("/home/ubuntu/archbench/")
        assert source.exists(), local
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)
    assert any("pip install -q -e ~/archbench" in cmd for cmd in load(kind)["setup_commands"])
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                           "-w", str(tmp_path / "dist"), str(copied)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("archbench-*.whl"))
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"orchestrator/cli.py", "orchestrator/sweep.py", "orchestrator/trainable.py",
            "archs/__init__.py"} <= names


# --------------------------------------------------------------------------------------------
# A two-node Ray cluster on 127.0.0.1, with token authentication
# --------------------------------------------------------------------------------------------

# What `ray start --address` does once its platform check has passed (ray/scripts/scripts.py):
# build RayParams, start the node's processes, leave them running. Prints the node's id and its
# raylet's PID.
_START_WORKER = r"""
import json, sys
import ray._private.node
import ray._private.parameter
from ray._private.authentication.authentication_token_setup import ensure_token_if_auth_enabled

ensure_token_if_auth_enabled(None, create_token_if_missing=False)
params = ray._private.parameter.RayParams(**json.loads(sys.argv[1]))
node = ray._private.node.Node(params, head=False, shutdown_at_exit=False, spawn_reaper=False)
print(json.dumps({"node_id": node.node_id,
                  "raylet_pid": node.all_processes["raylet"][0].process.pid}))
"""

_NODES = r"""
import json, sys
import ray
ray.init(address=sys.argv[1], log_to_driver=False, configure_logging=False)
print(json.dumps([{k: n[k] for k in ("NodeID", "NodeManagerAddress", "Alive", "Resources")}
                  for n in ray.nodes()]))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def session_processes(sid: int) -> dict[int, str]:
    """PID -> command line of the live processes in session ``sid``."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()   # state, ppid, pgrp, session, ...
            if int(fields[3]) != sid or fields[0] == "Z":
                continue
            found[int(entry)] = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace").strip()
        except (OSError, IndexError, ValueError):
            continue
    return found


def kill_session(sid: int) -> None:
    kill_until_gone(lambda: session_processes(sid), seconds=4)


class LoopbackCluster:
    """A head and one worker node, both on 127.0.0.1, each in its own process session."""

    def __init__(self) -> None:
        # Short path: Ray's Unix sockets live under it (108-byte limit).
        self.root = Path(tempfile.mkdtemp(prefix="abcl-", dir="/tmp"))
        self.token_file = self.root / "auth_token"
        self.token_file.write_text(os.urandom(32).hex())
        self.token_file.chmod(0o600)
        self.port = free_port()
        self.address = f"{LOOPBACK}:{self.port}"
        self.sessions: dict[str, int] = {}
        self.head_id = self.worker_id = ""
        self.worker_raylet = 0

    @property
    def env(self) -> dict[str, str]:
        """The environment of every process that talks to this cluster: what the configs set up."""
        return {
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",   # keep 127.0.0.1 as 127.0.0.1
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN_PATH": str(self.token_file),
            "RAY_AUTH_TOKEN": "",                      # an inherited one would take precedence
            "RAY_ADDRESS": "",
            "RAY_USAGE_STATS_ENABLED": "0",
        }

    def _run(self, name: str, cmd: list[str]) -> str:
        proc = subprocess.Popen(cmd, env={**os.environ, **self.env}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.sessions[name] = proc.pid          # the node's processes stay in this session
        try:
            out, err = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        assert proc.returncode == 0, f"starting the {name} failed:\n{out[-2000:]}\n{err[-3000:]}"
        return out

    def start(self) -> None:
        self._run("head", [
            RAY, "start", "--head", "--node-ip-address", LOOPBACK, "--port", str(self.port),
            "--num-cpus", "1", "--num-gpus", "0", "--object-store-memory", str(200 * 2**20),
            "--temp-dir", str(self.root / "ray"), "--include-dashboard", "false",
            "--dashboard-port", str(free_port()), "--dashboard-agent-listen-port", str(free_port()),
            "--dashboard-agent-grpc-port", str(free_port()), "--runtime-env-agent-port", str(free_port()),
            "--metrics-export-port", str(free_port()), "--disable-usage-stats"])
        params = {
            "gcs_address": self.address, "node_ip_address": LOOPBACK, "num_cpus": 1, "num_gpus": 0,
            "resources": {"archbench_worker": 1}, "object_store_memory": 200 * 2**20,
            "node_manager_port": 0, "dashboard_agent_listen_port": free_port(),
            "metrics_agent_port": free_port(), "runtime_env_agent_port": free_port(),
            "metrics_export_port": free_port(),
        }
        started = json.loads(self._run("worker", [sys.executable, "-c", _START_WORKER,
                                                  json.dumps(params)]).strip().splitlines()[-1])
        self.worker_id, self.worker_raylet = started["node_id"], started["raylet_pid"]
        nodes = self.wait_for_nodes(2)
        assert {n["NodeManagerAddress"] for n in nodes} == {LOOPBACK}, nodes
        (head,) = [n for n in nodes if "node:__internal_head__" in n["Resources"]]
        self.head_id = head["NodeID"]
        assert {n["NodeID"] for n in nodes} == {self.head_id, self.worker_id}

    def nodes(self) -> list[dict]:
        proc = subprocess.run([sys.executable, "-c", _NODES, self.address], env={**os.environ, **self.env},
                              capture_output=True, text=True, timeout=90)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def wait_for_nodes(self, count: int, timeout: float = 60) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            alive = [n for n in self.nodes() if n["Alive"]]
            if len(alive) == count or time.monotonic() > deadline:
                assert len(alive) == count, alive
                return alive
            time.sleep(1)

    def stop(self) -> None:
        for sid in self.sessions.values():
            kill_session(sid)
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def loopback_cluster():
    if not Path("/proc/self/stat").exists():
        pytest.skip("the cluster tests find their processes through /proc (Linux)")
    cluster = LoopbackCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster():
    with loopback_cluster() as c:
        yield c


def sweep_on(cluster: LoopbackCluster, results: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return archbench("sweep", "--address", cluster.address, *GRID, "--results", str(results), *args,
                     env={**cluster.env, "ARCHBENCH_DATA": str(results.parent / "data")}, **kwargs)


# --------------------------------------------------------------------------------------------
# 2. A node dies under a running trial
# --------------------------------------------------------------------------------------------

@pytest.mark.ray
@pytest.mark.timeout(360)
def test_a_dead_worker_node_costs_one_retry_and_no_cell(cluster, tmp_path):
    results = tmp_path / "results"
    worker_session = cluster.sessions["worker"]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        # Longer trials (a few seconds each) so that the one on the worker is still running when
        # its raylet dies.
        future = pool.submit(sweep_on, cluster, results, "--name", "fault", "--max-failures", "2",
                             "--epochs", "2", "--train-limit", "8192", "--test-limit", "256",
                             "--batch-size", "32", timeout=300)
        killed_under = None
        deadline = time.monotonic() + 180
        while killed_under is None and not future.done() and time.monotonic() < deadline:
            running = [cmd for cmd in session_processes(worker_session).values()
                       if cmd.startswith("ray::ImplicitFunc.train")]
            if running:
                # A trial's train() is executing on the worker node: kill that node's raylet.
                assert cluster.worker_raylet in session_processes(worker_session)
                os.kill(cluster.worker_raylet, signal.SIGKILL)
                killed_under = running[0]
            time.sleep(0.1)
        proc = future.result()
    assert killed_under, "no trial ever ran on the worker node"
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    trials = ResultStore(results).trials()
    cells = list(zip(trials["arch"], trials["dataset"], trials["seed"]))
    assert sorted(cells) == sorted(("lenet5", d, 0) for d in DATASETS)   # exactly one row per cell
    assert (trials["status"] == "ok").all(), trials[["dataset", "status", "error"]]
    retried = trials[trials["attempts"] > 1]
    assert len(retried) == 1 and retried["attempts"].iloc[0] == 2, trials[["dataset", "attempts", "node_id"]]
    # Its second attempt ran on the node that was left.
    assert retried["node_id"].iloc[0] == cluster.head_id
    assert (trials["node_ip"] == LOOPBACK).all()
    assert "retrying" in proc.stdout


# --------------------------------------------------------------------------------------------
# 3. The head dies under a running sweep
# --------------------------------------------------------------------------------------------

@pytest.mark.ray
@pytest.mark.timeout(300)
def test_a_head_lost_mid_sweep_ends_in_one_line_and_exit_code_3(cluster, tmp_path):
    results = tmp_path / "results"
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(sweep_on, cluster, results, "--name", "headless", "--epochs", "3", "--train-limit",
                             "8192", "--test-limit", "256", "--batch-size", "32", timeout=240)
        killed = False
        deadline = time.monotonic() + 180
        while not killed and not future.done() and time.monotonic() < deadline:
            running = [cmd for session in cluster.sessions.values() for cmd in session_processes(session).values()
                       if cmd.startswith("ray::ImplicitFunc.train")]
            if running:
                kill_session(cluster.sessions["head"])   # the head node: its GCS, raylet and workers
                killed = True
            time.sleep(0.1)
        proc = future.result()
    assert killed, "no trial ever ran"
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert lines[0].startswith("error: Ray's head stopped answering mid-sweep: ") and "run the same command" in lines[0]
    ResultStore(results).trials()   # whatever was stored reads back whole


# --------------------------------------------------------------------------------------------
# 4. A sweep across both nodes, and a driver without the token
# --------------------------------------------------------------------------------------------

# These two leave the cluster as they found it, so they share one (a cluster's start is a good part of
# each test). Last in the file: the module's fixture is torn down right after them.
@pytest.fixture(scope="module")
def cluster_left_as_found():
    with loopback_cluster() as c:
        yield c


@pytest.mark.ray
@pytest.mark.timeout(300)
def test_sweep_runs_on_both_nodes_and_every_row_reaches_the_driver(cluster_left_as_found, tmp_path):
    cluster = cluster_left_as_found
    results = tmp_path / "results"
    proc = sweep_on(cluster, results, "--name", "cluster", "--epochs", "2", "--train-limit", "1024",
                    "--test-limit", "256", "--batch-size", "32", timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    trials = ResultStore(results).trials()
    assert sorted(trials["dataset"]) == sorted(DATASETS) and (trials["arch"] == "lenet5").all()
    assert (trials["status"] == "ok").all() and (trials["attempts"] == 1).all()
    # Both nodes ran trials; they share a machine, so hostname cannot tell them apart: node_id can.
    assert set(trials["node_id"]) == {cluster.head_id, cluster.worker_id}
    assert trials["hostname"].nunique() == 1
    assert (trials["node_ip"] == LOOPBACK).all()
    assert len(ResultStore(results).history()) == 2 * len(DATASETS)
    # Without --storage the nodes share no checkpoint folder: said once, and the sweep runs as before.
    assert proc.stdout.count("mid-trial checkpoints are off") == 1


@pytest.mark.ray
@pytest.mark.timeout(300)
def test_a_driver_without_the_token_is_refused(cluster_left_as_found, tmp_path):
    cluster = cluster_left_as_found
    results = tmp_path / "results"
    gcs_log = cluster.root / "ray" / "session_latest" / "logs" / "gcs_server.out"
    wrong = tmp_path / "wrong_token"
    wrong.write_text(os.urandom(32).hex())
    clients = {
        "no token": {"RAY_AUTH_MODE": "disabled", "RAY_AUTH_TOKEN_PATH": ""},
        "a wrong token": {"RAY_AUTH_TOKEN_PATH": str(wrong)},
    }
    for what, auth in clients.items():
        missing_before = gcs_log.read_text().count("Missing authorization header")
        # A refused client retries for ~20 s by default; three tries are enough to be refused.
        proc = archbench("sweep", "--address", cluster.address, *GRID, "--results", str(results),
                         env={**cluster.env, **auth, "RAY_NUM_REDIS_GET_RETRIES": "3"}, timeout=180)
        assert proc.returncode == 2, (what, proc.stdout[-2000:] + proc.stderr[-3000:])
        assert proc.stderr.strip().splitlines()[-1].startswith(
            f"error: cannot connect to Ray at '{cluster.address}'"), (what, proc.stderr[-2000:])
        assert not ResultStore(results).has_results()
        if what == "no token":
            # The GCS itself turned the client away (a wrong token is refused without a log line).
            assert gcs_log.read_text().count("Missing authorization header") > missing_before
