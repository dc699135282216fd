"""Test helpers: run `echobench serve` as a child and fire simultaneous requests."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import threading
import time

import psutil

from echobench.processes import tree
from echobench.server import free_port


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
    """n GETs released together; [(status, body, seconds from release)] and the makespan."""
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
            results[i] = (resp.status, resp.read(), time.monotonic() - start[0])
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
