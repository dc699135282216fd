"""What runs beside a point's load to make something go wrong: its companions.

A scenario that needs one (slow clients, a killed worker) returns it from
`Scenario.companion`; the runner starts it after the server is verified and before the
load, and stops it, also on error and Ctrl-C, before the server. Each one writes what
it did to COMPANION_FILE in the point's raw folder, which the scenario's figures read.
Both are bounded: the slow clients in count and time (echobench.slowclients), the kill
to one SIGKILL of one worker the server itself named.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import psutil

from echobench import processes, results
from echobench.loadgen import RELEASE_FILE
from echobench.server import ServerError, get
from servers import contract

COMPANION_FILE = "companion.json"
READY_FILE = "slow.ready"
CONNECT_TIMEOUT_S = 20.0
# After a kill, how long to watch the server's process tree for a worker to come back.
RESPAWN_WATCH_S = 5.0
PROBES = 6


def _connections(pid: int) -> int:
    """ESTABLISHED TCP connections a process holds (0 if it cannot be read)."""
    try:
        found = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return 0
    return sum(1 for c in found if c.status == psutil.CONN_ESTABLISHED)


def read(raw: Path) -> dict:
    """What a point's companion wrote, or {} (a point without one)."""
    path = raw / COMPANION_FILE
    return json.loads(path.read_text()) if path.exists() else {}


class SlowClients:
    """`count` slow connections of one kind to the server's public port (nginx's, when one
    is in front), connected before the load starts and held until it ends."""

    def __init__(self, kind: str, count: int, host: str, port: int, hold_s: float,
                 raw: Path) -> None:  # fmt: skip
        self.kind, self.count, self.host, self.port = kind, count, host, port
        self.hold_s, self.raw = hold_s, raw
        self.proc = None

    def start(self) -> SlowClients:
        ready = self.raw / READY_FILE
        argv = [sys.executable, "-m", "echobench.slowclients", "--host", self.host,
                "--port", str(self.port), "--kind", self.kind, "--count", str(self.count),
                "--hold-s", f"{self.hold_s:.1f}", "--out", str(self.raw / COMPANION_FILE),
                "--ready", str(ready)]  # fmt: skip
        self.proc = processes.spawn(argv, self.raw / "slowclients.log")
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while not ready.exists() and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"the slow clients exited with code {self.proc.returncode}")
            time.sleep(0.05)
        if not ready.exists():
            raise ServerError(f"{self.count} slow clients did not connect within "
                              f"{CONNECT_TIMEOUT_S:g} s")  # fmt: skip
        return self

    def stop(self) -> None:
        """SIGTERM: the driver writes what it saw, then exits (SIGKILL after 5 s)."""
        if self.proc is not None:
            processes.stop(self.proc)


class WorkerKill:
    """One SIGKILL, a third into the window, to a worker that answered a probe request
    (its PID from the worker header), checked to be in the server's process tree; the
    tree's root only when it is the whole server (one uvicorn process), which then does
    not come back. Then the tree is watched for a worker to replace it."""

    def __init__(self, server, at_s: float, raw: Path) -> None:
        self.server, self.at_s, self.raw = server, at_s, raw
        self.proc = None  # no process of its own
        self.said: dict = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-kill", daemon=True)

    def start(self) -> WorkerKill:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.said = self._kill()
        except (OSError, ServerError, psutil.Error, ValueError) as exc:
            self.said = {"error": str(exc)}
        results.write_json(self.said, self.raw / COMPANION_FILE)

    def _kill(self) -> dict:
        released = self.raw / RELEASE_FILE
        deadline = time.monotonic() + 120.0
        while not released.exists():
            if self._stop.wait(0.05) or time.monotonic() > deadline:
                return {"error": "the load never started: no worker killed"}
        release = float(released.read_text() or "nan")
        if self._stop.wait(max(0.0, release + self.at_s - time.time())):
            return {"error": "the point ended before the kill"}
        pid = self._worker_pid()
        root = self.server.proc.pid
        tree = {p.pid for p in processes.tree(root)}
        if pid not in tree:
            raise ServerError(f"the worker header named PID {pid}, not in the server's tree")
        if pid == root and len(tree) > 1:
            raise ServerError(f"the worker header named the master, PID {pid}: not killed")
        workers_before = len(tree) - (1 if len(tree) > 1 else 0)
        killed_at = time.time()
        os.kill(pid, signal.SIGKILL)
        back_at = self._respawn(root, pid, workers_before)
        return {"pid": pid, "was_whole_server": pid == root, "killed_at": killed_at,
                "workers_before": workers_before, "respawned_at": back_at}  # fmt: skip

    def _worker_pid(self) -> int:
        """Of the workers that answered PROBES requests (each PID from its answer's worker
        header), the one holding the most connections: the kill then hits the load."""
        host, port = self.server.host, self.server.port
        named: list[int] = []
        for _ in range(PROBES):
            status, headers, _ = get(host, port, "/?field=probe&delay=0", timeout_s=10.0)
            said = headers.get(contract.WORKER_HEADER.lower(), "")
            if status != 200 or not said.isdigit():
                raise ServerError(f"the probe got {status} without a worker header")
            named.append(int(said))
        return max(dict.fromkeys(named), key=_connections)

    def _respawn(self, root: int, killed: int, workers: int) -> float | None:
        """When the tree had its worker count again (a new PID), or None."""
        deadline = time.monotonic() + RESPAWN_WATCH_S
        while time.monotonic() < deadline and not self._stop.is_set():
            tree = {p.pid for p in processes.tree(root)} - {root, killed}
            if killed != root and len(tree) >= workers:
                return time.time()
            time.sleep(0.02)
        return None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=RESPAWN_WATCH_S + 15.0)


def for_point(point, server, raw: Path) -> SlowClients | WorkerKill | None:
    """The companion the point's scenario asks for (its `companion`), not yet started."""
    kind = point.scenario_def.companion
    if kind == "slow_clients" and point.slow_clients:
        hold = point.timings.max_load_s + 60.0  # past locust's own end: stopped before it
        return SlowClients(point.slow_kind, point.slow_clients, server.host, server.port, hold,
                           raw)  # fmt: skip
    if kind == "worker_kill":
        return WorkerKill(server, point.scenario_def.kill_at_s(point), raw)
    return None
