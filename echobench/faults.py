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
import math
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from echobench import processes, results, slowclients
from echobench.loadgen import RELEASE_FILE
from echobench.server import ServerError, get
from servers import contract

COMPANION_FILE = "companion.json"
READY_FILE = "slow.ready"
CONNECT_TIMEOUT_S = 20.0
# After a kill, how long to watch the server's process tree for a worker to come back.
RESPAWN_WATCH_S = 5.0
PROBES = 6
PROBE_TIMEOUT_S = 3.0


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
    """One SIGKILL, a third into the window, to a worker the server named: probes sent in
    the warm-up read the worker header of their answers, and of the processes named, in
    the server's tree and announced as serving (its ready folder), the one holding the
    most connections is killed; never the tree's root while it has workers, and the root
    only when it is the whole server (one uvicorn process), which then does not come
    back. Then the serving workers are counted until the server has its number again."""

    def __init__(self, server, probe_at_s: float, at_s: float, raw: Path) -> None:
        self.server, self.probe_at_s, self.at_s, self.raw = server, probe_at_s, at_s, raw
        self.proc = None  # no process of its own
        self.said: dict = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-kill", daemon=True)

    def start(self) -> WorkerKill:
        if self.server.proc is None:  # a --target: not ours to kill (refused before a run)
            raise ServerError("a worker can only be killed on a server echobench started")
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.said = self._kill()
        except (OSError, ServerError, psutil.Error, ValueError) as exc:
            self.said = {"error": str(exc)}
        results.write_json(self.said, self.raw / COMPANION_FILE)

    def _release(self) -> float | None:
        """The load's release time, once locust has written it (None: it never did)."""
        released = self.raw / RELEASE_FILE
        deadline = time.monotonic() + 120.0
        while time.monotonic() < deadline and not self._stop.is_set():
            try:
                at = float(released.read_text())
            except (OSError, ValueError):
                self._stop.wait(0.05)
                continue
            return at if math.isfinite(at) else None
        return None

    def _kill(self) -> dict:
        release = self._release()
        if release is None:
            return {"error": "the load never started: no worker killed"}
        if self._stop.wait(max(0.0, release + self.probe_at_s - time.time())):
            return {"error": "the point ended before the kill"}
        root = self.server.proc.pid
        pid = self._worker_pid(root)
        if self._stop.wait(max(0.0, release + self.at_s - time.time())):
            return {"error": "the point ended before the kill"}
        workers = self.server.config.workers
        killed_at = time.time()
        os.kill(pid, signal.SIGKILL)
        back_at = None if pid == root else self._respawn(root, pid, workers)
        return {"pid": pid, "was_whole_server": pid == root, "killed_at": killed_at,
                "workers_before": workers, "respawned_at": back_at}  # fmt: skip

    def _announced(self, root: int) -> set[int]:
        """The server's processes that announced they serve (their ready files)."""
        tree = {p.pid for p in processes.tree(root)}
        folder = self.server.ready_dir
        said = {int(f.name) for f in folder.iterdir() if f.name.isdigit()} if folder else set()
        return said & tree

    def _worker_pid(self, root: int) -> int:
        """Of the serving processes PROBES answers named (sent at once, each bounded), the
        one holding the most connections: the kill then hits the load."""

        def probe(_) -> int | None:
            try:
                status, headers, _ = get(
                    self.server.host,
                    self.server.port,
                    "/?field=probe&delay=0",
                    timeout_s=PROBE_TIMEOUT_S,
                )
            except OSError:
                return None
            said = headers.get(contract.WORKER_HEADER.lower(), "")
            return int(said) if status == 200 and said.isdigit() else None

        with ThreadPoolExecutor(PROBES) as pool:
            named = [pid for pid in pool.map(probe, range(PROBES)) if pid is not None]
        serving = self._announced(root)
        candidates = [pid for pid in dict.fromkeys(named) if pid in serving]
        if not candidates:
            raise ServerError(
                f"no probe answer named a serving process of the server "
                f"(named {sorted(set(named))}, serving {sorted(serving)})"
            )
        pid = max(candidates, key=_connections)
        if pid == root and len(processes.tree(root)) > 1:
            raise ServerError(f"the worker header named the master, PID {pid}: not killed")
        return pid

    def _respawn(self, root: int, killed: int, workers: int) -> float | None:
        """When the server had `workers` serving processes again (a new one announced),
        or None within RESPAWN_WATCH_S."""
        deadline = time.monotonic() + RESPAWN_WATCH_S
        while time.monotonic() < deadline and not self._stop.is_set():
            if len(self._announced(root) - {root, killed}) >= workers:
                return time.time()
            time.sleep(0.02)
        return None

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=RESPAWN_WATCH_S + PROBE_TIMEOUT_S + 5.0)


def for_point(point, server, raw: Path) -> SlowClients | WorkerKill | None:
    """The companion the point's scenario asks for (its `companion`), not yet started."""
    kind = point.scenario_def.companion
    if kind == "slow_clients" and point.slow_clients:
        hold = (
            point.timings.max_load_s + slowclients.HOLD_SLACK_S
        )  # past locust's end: stopped before
        return SlowClients(point.slow_kind, point.slow_clients, server.host, server.port, hold,
                           raw)  # fmt: skip
    if kind == "worker_kill":
        scenario = point.scenario_def
        return WorkerKill(server, scenario.probe_at_s(point), scenario.kill_at_s(point), raw)
    return None
