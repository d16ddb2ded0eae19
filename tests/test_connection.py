"""Where a sweep's Ray runs: the address policy and the checks made before Ray is asked (no Ray started)."""

import socket

import pytest

from orchestrator.connection import check_reachable, choose_site
from orchestrator.errors import SweepError


@pytest.mark.parametrize("local,address,environ,expected", [
    (False, None, {}, (True, None, "(no --address, and RAY_ADDRESS is not set)")),
    (False, None, {"RAY_ADDRESS": "10.0.0.1:6379"}, (False, "10.0.0.1:6379", "(RAY_ADDRESS)")),
    (True, None, {"RAY_ADDRESS": "10.0.0.1:6379"}, (True, None, "(--local)")),
    (False, "auto", {"RAY_ADDRESS": "10.0.0.1:6379"}, (False, "auto", "(--address)")),
])
def test_rays_own_convention_decides_where_the_sweep_runs(local, address, environ, expected):
    site = choose_site(local, address, environ)
    assert (site.local, site.address) == expected[:2] and site.why.endswith(expected[2])


def test_both_local_and_an_address_is_refused():
    with pytest.raises(SweepError, match="at most one of --local"):
        choose_site(True, "auto", {})


@pytest.mark.parametrize("address", ["127.0.0.1:abc", "127.0.0.1:99999", "[::1", "justahost"])
def test_a_malformed_address_is_refused_with_the_valid_forms(address):
    with pytest.raises(SweepError, match=r"bad --address .*; valid: auto, HOST:PORT or ray://HOST:PORT"):
        check_reachable(address)


def test_an_address_that_does_not_answer_is_refused_at_once():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]   # bound, not listening: connections are refused
        with pytest.raises(SweepError, match=f"cannot reach Ray at '127.0.0.1:{port}'"):
            check_reachable(f"127.0.0.1:{port}")


def test_an_address_that_answers_passes():
    with socket.create_server(("127.0.0.1", 0)) as server:
        check_reachable(f"ray://127.0.0.1:{server.getsockname()[1]}")
    check_reachable("auto")


def test_the_head_watch_calls_once_when_the_head_stops_answering_and_not_before():
    import threading

    from orchestrator.connection import HeadWatch

    lost = threading.Event()
    server = socket.create_server(("127.0.0.1", 0))
    address = f"127.0.0.1:{server.getsockname()[1]}"
    with HeadWatch(address, lost.set, every=0.05, patience=0.3):
        assert not lost.wait(0.5), "called while the head answered"
        server.close()
        assert lost.wait(10), "not called after the head went away"


def test_a_stopped_head_watch_never_calls():
    import threading

    from orchestrator.connection import HeadWatch

    lost = threading.Event()
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with HeadWatch(f"127.0.0.1:{port}", lost.set, every=0.05, patience=60):
        pass
    assert not lost.is_set()
