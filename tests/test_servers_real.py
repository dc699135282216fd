"""Real servers started with `echobench serve`: concurrency semantics and cleanup.

Delays are short and bounds generous: these check the model's shape (K+1 requests
need a second round, an event loop needs one), not speed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from echobench.configs import get_config
from echobench.server import Server, ServerError
from servers import contract
from tests.helpers import Served, alive, simultaneous_gets, tree

pytestmark = pytest.mark.slow
D = 1.0


@pytest.mark.parametrize(
    "config", ["flask-sync-2", "flask-gthread-1x2", "fastapi-threadpool", "fastapi-blocking"]
)
def test_k_plus_one_requests_need_two_rounds(config):
    k = int(get_config(config).capacity)
    with Served(config) as served:
        results, makespan = simultaneous_gets(served.port, f"/?field=k&delay={D}", k + 1)
    assert [r[0] for r in results] == [200] * (k + 1)
    assert all(r[1] == contract.render_page("k") for r in results)
    latencies = sorted(r[2] for r in results)
    assert latencies[k - 1] < 1.6 * D, "the first K requests are served in one round"
    assert 1.95 * D <= makespan < 3.0 * D, "request K+1 waits for a free slot"


@pytest.mark.parametrize("config", ["fastapi-async", "flask-gevent-1"])
def test_event_loops_answer_200_requests_in_one_round(config):
    """Two rounds would take 2 D: at D = 2 s the threads' own start-up has ample room."""
    d = 2 * D
    with Served(config) as served:
        results, makespan = simultaneous_gets(served.port, f"/?field=many&delay={d}", 200)
    assert [r[0] for r in results] == [200] * 200
    assert d * 0.95 <= makespan < 1.9 * d


# Beside `serve` itself: gunicorn's master and 3 workers; uvicorn alone; uvicorn's
# supervisor, multiprocessing's resource tracker and 2 workers.
TREES = {"flask-sync-3": 4, "fastapi-async": 1, "fastapi-async-2": 4}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("config", sorted(TREES))
def test_serve_stops_its_whole_tree(config, sig):
    served = Served(config, "--work", "5")
    assert served.ready_line == f"ready http://127.0.0.1:{served.port}"
    expected = 1 + TREES[config]
    deadline = time.monotonic() + 10
    while len(alive(served.pids)) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
        served.pids |= {p.pid for p in tree(served.proc.pid)}
    assert len(alive(served.pids)) == expected
    assert served.stop(sig) == 0
    deadline = time.monotonic() + 10
    while alive(served.pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alive(served.pids) == set()


def test_cpu_work_occupies_a_process():
    """Two requests of 200 ms CPU each: one event loop runs them one after the other,
    two sync workers side by side (the machine has 2 cores; bounds leave room)."""
    spans = {}
    for config in ("fastapi-async", "flask-sync-2"):
        with Served(config) as served:
            results, spans[config] = simultaneous_gets(served.port, "/?field=w&delay=0&work=200", 2)
        assert [r[0] for r in results] == [200, 200]
        assert all(r[1] == contract.render_page("w") for r in results)
    assert spans["fastapi-async"] >= 0.38, "the loop burns both requests' CPU in turn"
    assert spans["fastapi-async"] > 1.4 * spans["flask-sync-2"], spans


def test_readiness_waits_for_every_worker_and_each_answer_names_its_process():
    """Ready only once both uvicorn workers have loaded the app; every answer's
    X-Echobench-Worker is one of them, never the supervisor."""
    with Server(get_config("fastapi-async-2"), delay_s=0.0) as server:
        assert server.serving_workers() == 2
        workers = {p.pid for p in tree(server.pid)} - {server.pid}
        results, _ = simultaneous_gets(server.port, "/?field=who&delay=0.2", 40)
    named = {int(r[3][contract.WORKER_HEADER.lower()]) for r in results}
    assert named <= workers and named
    assert [r[1] for r in results] == [contract.render_page("who")] * 40


def test_serve_uses_its_delay_option():
    with Served("fastapi-async", "--delay", "0.3") as served:
        results, makespan = simultaneous_gets(served.port, "/?field=d", 1)
    assert results[0][0] == 200
    assert 0.3 <= makespan < 1.5


def test_a_taken_port_is_refused_before_anything_starts():
    with Served("fastapi-async") as served:
        second = Server(get_config("flask-sync-1"), port=served.port)
        with pytest.raises(ServerError, match="already in use"):
            second.start()
        assert second.proc is None, "nothing was started"
        argv = ["serve", "flask-sync-1", "--port", str(served.port)]
        done = subprocess.run(
            [sys.executable, "-m", "echobench", *argv], capture_output=True, text=True, timeout=30
        )
    assert done.returncode == 1
    assert "already in use" in done.stderr and "Traceback" not in done.stderr


def test_no_answer_comes_before_its_delay():
    """An event loop's timer may fire up to a millisecond early; the contract waits it out,
    so on a kept-alive connection every request of D = 20 ms takes at least 20 ms."""
    import http.client

    with Served("fastapi-async") as served:
        conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
        took = []
        for i in range(60):
            start = time.perf_counter()
            conn.request("GET", f"/?field=t{i}&delay=0.02")
            conn.getresponse().read()
            took.append(time.perf_counter() - start)
        conn.close()
    assert min(took) >= 0.02, min(took)
