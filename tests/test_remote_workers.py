"""Load from locust workers on other hosts: `run --loadgen-workers` and `loadgen-worker`.

On loopback always; across two network namespaces (a real second network host) when
the tests may create them (root with iproute2), else that test is skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from echobench import results
from echobench.server import free_port
from tests.helpers import DISTRIBUTED, ROOT, alive, assert_accounted, pids_of
from tests.helpers import run_profile as run

pytestmark = pytest.mark.slow

# a burst of one: one worker gets the user, the other has nothing to do and must not stall
REMOTE = (
    DISTRIBUTED
    + """
[[groups]]
scenario = "burst"
configs = ["fastapi-async"]
users = [1]
delay_s = 0.3
"""
)
LONG_STEADY = """
[[groups]]
scenario = "steady"
configs = ["fastapi-async"]
users = [10]
delay_s = 0.3
warmup_s = 0.5
window_s = 8.0
"""


class Agent:
    """`echobench loadgen-worker` as a child in its own session (optionally via a prefix)."""

    def __init__(self, tmp: Path, host: str, port: int, *extra: str, prefix=()):
        tmp.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "echobench", "loadgen-worker", "--master", host]
        argv += ["--port", str(port), "--log-dir", str(tmp / "logs"), *extra]
        self.proc = subprocess.Popen(
            [*prefix, *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            cwd=ROOT,
        )
        self.seen: set[int] = set()

    def workers(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.NoSuchProcess):
            found = psutil.Process(self.proc.pid).children(recursive=True)
            self.seen |= {p.pid for p in found}
            return found
        return []

    def finish(self, timeout_s: float = 60.0) -> tuple[int, str]:
        try:
            out, _ = self.proc.communicate(timeout=timeout_s)
        finally:
            self.kill()
        return self.proc.returncode, out

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)


def test_workers_on_other_hosts_keep_the_accounting_exact(tmp_path):
    port = free_port()
    agents = [Agent(tmp_path / f"agent{i}", "127.0.0.1", str(port), "--points", "3")
              for i in range(2)]  # fmt: skip
    try:
        started = time.monotonic()
        out = run(tmp_path, "remote", REMOTE, "--loadgen-workers", "2",
                  "--loadgen-port", str(port))  # fmt: skip
        elapsed = time.monotonic() - started
        ends = [agent.finish() for agent in agents]
    finally:
        for agent in agents:
            agent.kill()
    summary = results.load_summary(out)
    assert_accounted(summary)
    assert summary["valid"].all(), summary["note"].tolist()
    burst = summary[summary["scenario"] == "burst"].set_index("users")
    assert burst.loc[40, "requests"] == 40 and burst.loc[40, "ok"] == 40
    burst_raw = next(out.glob("raw/*-burst-*-u40-*"))
    sent = pd.concat(pd.read_csv(f) for f in burst_raw.glob("requests.w*.csv"))
    sent = sent[sent["event"] == "send"]["sent_at"]
    assert sent.max() - sent.min() < 0.3 / 2, "both workers' users were released together"
    assert burst.loc[40, "efficiency"] > 0.6, "one round of D, not two"
    assert burst.loc[1, "requests"] == 1 and burst.loc[1, "ok"] == 1
    assert elapsed < 90, "a worker without users ends its share at once"
    for raw in out.glob("raw/*"):
        roll = json.loads((raw / "workers.json").read_text())
        assert roll["expected"] == 2 and len(roll["workers"]) == 2
        for worker in roll["workers"].values():
            assert worker["done"] and worker["rows_sent"] == worker["rows_received"] > 0
            assert worker["fingerprint"] == roll["fingerprint"]
            assert abs(worker["clock_offset_s"]) < 0.01, "one machine, one clock"
            assert (raw / worker["file"]).exists()
    meta = results.load_run(out)
    assert meta["loadgen"]["external_workers"] == 2
    for code, text in ends:  # each agent served every point, then stopped by itself
        assert code == 0 and "3 points done" in text, text
    assert alive(pids_of(out) | set().union(*(a.seen for a in agents))) == set()


def test_a_lost_worker_ends_the_point_and_invalidates_it(tmp_path):
    port = free_port()
    agents = [Agent(tmp_path / f"agent{i}", "127.0.0.1", str(port), "--max-time", "120")
              for i in range(2)]  # fmt: skip
    try:
        victim = agents[0]
        killer = subprocess.Popen(
            [sys.executable, "-c", _KILL_WORKER_SOON, str(victim.proc.pid), tmp_path / "lost"],
            start_new_session=True,
        )
        started = time.monotonic()
        out = run(tmp_path, "lost", LONG_STEADY, "--loadgen-workers", "2",
                  "--loadgen-port", str(port))  # fmt: skip
        elapsed = time.monotonic() - started
        killer.wait(timeout=30)
        for agent in agents:  # Ctrl-C: an agent stops its worker and exits
            agent.workers()
            agent.proc.send_signal(signal.SIGINT)
        ends = [agent.finish(timeout_s=30) for agent in agents]
    finally:
        for agent in agents:
            agent.kill()
    row = results.load_summary(out).iloc[0]
    assert not row["valid"]
    assert "lost mid-point" in row["note"] and "1 of 2 load-generator workers" in row["note"]
    # the survivor stopped sending at once, long before its window would have ended
    raw = next(out.glob("raw/*"))
    marks = pd.concat(pd.read_csv(f) for f in raw.glob("requests.w*.csv"))
    marks = marks[marks["event"] == "mark"].set_index("kind")["sent_at"]
    point = results.load_run(out)["matrix"][0]
    planned = point["effective_warmup_s"] + point["window_s"]
    assert marks["end"].max() - marks["release"].min() < 0.75 * planned, "ended early"
    assert elapsed < 90
    assert [code for code, _ in ends] == [130, 130], ends
    assert alive(pids_of(out) | set().union(*(a.seen for a in agents))) == set()


# Once the point's master has spawned its users, waits 2 s and SIGKILLs the agent's worker.
_KILL_WORKER_SOON = """
import os, signal, sys, time, pathlib, psutil
agent, run_dir = psutil.Process(int(sys.argv[1])), pathlib.Path(sys.argv[2])
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    if any("All users spawned" in log.read_text() for log in run_dir.glob("raw/*/locust.log")):
        time.sleep(2.0)
        os.killpg(agent.children()[0].pid, signal.SIGKILL)
        break
    time.sleep(0.2)
"""


@pytest.mark.parallel_safe  # a roll call that never fills, no timing
def test_a_point_without_its_workers_says_so(tmp_path):
    profile = DISTRIBUTED.split("[[groups]]")[1]
    out = run(tmp_path, "alone", f"[[groups]]{profile}", "--loadgen-workers", "1",
              "--loadgen-port", str(free_port()), "--loadgen-wait", "2")  # fmt: skip
    row = results.load_summary(out).iloc[0]
    assert not row["valid"]
    assert "fewer than 1 locust workers connected within 2 s" in row["note"], row["note"]
    assert alive(pids_of(out)) == set()


@pytest.mark.parallel_safe  # its bound is 10 x its time limit
def test_an_agent_without_a_master_stops_at_its_time_limit(tmp_path):
    agent = Agent(tmp_path, "127.0.0.1", str(free_port()), "--max-time", "2")
    started = time.monotonic()
    code, out = agent.finish(timeout_s=30)
    assert code == 0 and "0 points; time limit of 2 s reached" in out
    assert time.monotonic() - started < 20
    assert alive(agent.seen) == set()


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True, timeout=30)


@pytest.fixture
def two_hosts():
    """Two network namespaces joined by a veth pair: a bench host and a load host."""
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("unshare"):
        pytest.skip("needs root and iproute2 to create network namespaces")
    tag = os.getpid() % 10_000
    bench, load = f"eb-bench-{tag}", f"eb-load-{tag}"
    subnet = f"10.231.{tag % 250}"
    try:
        _ip("netns", "add", bench)
        _ip("netns", "add", load)
        _ip("-n", bench, "link", "add", f"ebb{tag}", "type", "veth", "peer", "name", f"ebl{tag}",
            "netns", load)  # fmt: skip
        for ns, dev, addr in ((bench, f"ebb{tag}", ".1"), (load, f"ebl{tag}", ".2")):
            _ip("-n", ns, "addr", "add", f"{subnet}{addr}/30", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
    except (subprocess.CalledProcessError, OSError) as exc:
        _delete_namespaces(bench, load)
        pytest.skip(f"cannot create network namespaces here: {exc}")
    try:
        yield bench, f"{subnet}.1", load
    finally:
        _delete_namespaces(bench, load)


def _delete_namespaces(*names: str) -> None:
    for ns in names:
        with contextlib.suppress(subprocess.CalledProcessError, OSError):
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid in pids.stdout.split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            _ip("netns", "del", ns)


def test_a_worker_on_another_network_host(tmp_path, two_hosts):
    bench, bench_addr, load = two_hosts
    port = free_port()
    agent = Agent(
        tmp_path / "agent", bench_addr, str(port), "--points", "2", "--max-time", "120",
        prefix=["ip", "netns", "exec", load, "unshare", "--uts", "sh", "-c",
                'hostname loadhost && exec "$@"', "sh"],
    )  # fmt: skip
    try:
        profile = tmp_path / "remote.toml"
        profile.write_text(f'description = "two hosts"\nclient_cost = false\n{DISTRIBUTED}')
        out = tmp_path / "remote"
        done = subprocess.run(
            ["ip", "netns", "exec", bench, sys.executable, "-m", "echobench", "run",
             "--profile", str(profile), "--out", str(out), "--loadgen-workers", "1",
             "--loadgen-bind", bench_addr, "--loadgen-port", str(port), "--bind", bench_addr],
            capture_output=True, text=True, timeout=240, cwd=ROOT,
        )  # fmt: skip
        code, text = agent.finish()
    finally:
        agent.kill()
    assert done.returncode == 0, done.stderr[-3000:]
    summary = results.load_summary(out)
    assert_accounted(summary)
    assert summary["valid"].all(), summary["note"].tolist()
    assert summary[summary["scenario"] == "burst"].iloc[0]["ok"] == 40
    for raw in out.glob("raw/*"):
        (worker,) = json.loads((raw / "workers.json").read_text())["workers"].values()
        assert worker["host"] == "loadhost" and worker["done"]
    assert results.load_run(out)["bind"] == bench_addr
    assert code == 0 and "2 points done" in text, text
