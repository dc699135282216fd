"""Test helpers: `echobench serve` and `run` as children, simultaneous requests, PIDs."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psutil

from echobench.processes import tree
from echobench.server import free_port

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTED = """
[[groups]]
scenario = "burst"
configs = ["fastapi-async"]
users = [40]
delay_s = 0.3

[[groups]]
scenario = "steady"
configs = ["fastapi-async"]
users = [10]
delay_s = 0.3
warmup_s = 0.5
window_s = 2.0
"""


class Served:
    """`python -m echobench serve CONFIG` on a free port, stopped by SIGTERM on exit."""

    def __init__(self, config: str, *extra: str, ready_timeout_s: float = 30.0):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "echobench", "serve", config, "--port", str(self.port), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.ready_line = _read_line(self.proc, ready_timeout_s)
        self.pids = {p.pid for p in tree(self.proc.pid)}

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout_s)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.communicate()

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _read_line(proc: subprocess.Popen, timeout_s: float) -> str:
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not lines or not lines[0]:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError(f"no ready line within {timeout_s} s: {proc.stderr.read()[:500]}")
    return lines[0].strip()


def alive(pids: set[int]) -> set[int]:
    """The pids that still exist as running (not zombie) processes."""
    left = set()
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                left.add(pid)
    return left


def simultaneous_gets(port: int, path: str, n: int, timeout_s: float = 60.0):
    """n GETs released together; [(status, body, seconds from release, lower-cased
    headers)] and the makespan."""
    barrier = threading.Barrier(n + 1)
    results: list = [None] * n
    start = [0.0]

    def one(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
        try:
            conn.connect()
            barrier.wait()
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            headers = {k.lower(): v for k, v in resp.getheaders()}
            results[i] = (resp.status, body, time.monotonic() - start[0], headers)
        finally:
            conn.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    start[0] = time.monotonic()
    barrier.wait()
    for t in threads:
        t.join(timeout_s)
    return results, max(r[2] for r in results)


def run_profile(
    tmp_path: Path, name: str, profile_text: str, *extra: str, env=None, expect=(0, 3)
) -> Path:
    """`echobench run` on a profile written here; its exit status must be one of `expect`."""
    profile = tmp_path / f"{name}.toml"
    # the client's own cost is measured and checked in the smoke run; not here
    profile.write_text(f'description = "{name}"\nclient_cost = false\n{profile_text}')
    out = tmp_path / name
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "echobench",
            "run",
            "--profile",
            str(profile),
            "--out",
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode in expect, done.stderr[-3000:]
    return out


def pids_of(run_dir: Path) -> set[int]:
    """Every process a run started: its points' (pids.json) and its database's (run.json)."""
    found: set[int] = set()
    for path in run_dir.glob("raw/*/pids.json"):
        found |= set(json.loads(path.read_text())["pids"])
    meta = run_dir / "run.json"
    if meta.exists():
        found |= set((json.loads(meta.read_text()).get("database") or {}).get("pids", []))
    return found


def assert_accounted(summary: pd.DataFrame) -> None:
    total = summary["ok"] + summary["failed"] + summary["timeouts"] + summary["unfinished"]
    assert (summary["requests"] == total).all()


def wait_until(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)
