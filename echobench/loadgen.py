"""Runs locust as a subprocess for one point, bounded in time, killed by PID.

Distributed, locust runs as a master whose workers are forked here
(`--loadgen-processes`) or run on other hosts (`--loadgen-workers`, each host running
`echobench loadgen-worker`); the workers ship their records to the master.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from echobench import processes, verdict
from echobench.configs import LISTEN_BACKLOG
from echobench.point import Point
from echobench.server import LOOPBACK_V4

CPU_WARNING = "CPU usage above 90%"
# locust's master says this when a worker on another process or host crosses 90%
WORKER_CPU_WARNING = "exceeded cpu threshold"
NO_WORKERS = "Gave up waiting for workers to connect"
# Beyond the point's own longest load phase: locust start-up, spawning and shutdown.
STARTUP_SLACK_S = 30.0
# How long a point's master waits for its external workers to connect.
WORKERS_WAIT_S = 120.0
MASTER_PORT = 5557


@dataclass(frozen=True)
class LoadSetup:
    """How a run sends its load, the same for every point: locust processes forked here,
    or workers on other hosts connecting to a master that listens on host:port and waits
    wait_s for them."""

    processes: int = 1
    workers: int = 0  # locust workers on other hosts (`echobench loadgen-worker`)
    host: str = LOOPBACK_V4
    port: int = MASTER_PORT
    wait_s: float = WORKERS_WAIT_S

    @property
    def local_processes(self) -> int:
        """Locust processes on this machine that send load (an external master sends none)."""
        return 1 if self.workers else self.processes

    def describe(self) -> dict:
        """As run.json and point.json keep it."""
        return {
            "processes": self.processes,
            "external_workers": self.workers,
            "master": f"{self.host}:{self.port}" if self.workers else None,
        }

    @classmethod
    def from_description(cls, data: dict | None) -> LoadSetup:
        """The setup a run.json or point.json `loadgen` entry describes (host not kept)."""
        data = data or {}
        return cls(data.get("processes", 1), data.get("external_workers", 0))


@dataclass
class LocustOutcome:
    returncode: int | None
    timed_out: bool
    cpu_warning: bool
    records: Path
    log: Path
    no_workers: bool = False


def locustfile() -> Path:
    return Path(str(resources.files("loadtests") / "locustfile.py"))


def locustfiles(kinds) -> str:
    """locust's --locustfile: loadtests/locustfile.py (events, the conductor) and the
    files of the scenarios' user modules, found without importing them (importing
    locust would patch this process with gevent)."""
    paths = [locustfile()]
    for module in dict.fromkeys(m for scenario_def in kinds for m in scenario_def.user_modules):
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise ValueError(f"no locust user module {module!r}")
        paths.append(Path(spec.origin))
    return ",".join(map(str, paths))


def distribution_argv(loadgen: LoadSetup) -> list[str]:
    if loadgen.workers:
        return [
            "--master",
            "--master-bind-host", loadgen.host,
            "--master-bind-port", str(loadgen.port),
            "--expect-workers", str(loadgen.workers),
            "--expect-workers-max-wait", str(math.ceil(loadgen.wait_s)),
        ]  # fmt: skip
    if loadgen.processes > 1:
        return ["--processes", str(loadgen.processes)]
    return []


# Where locust leaves its release time (wall clock), for what runs beside the load (a
# fault's companion: echobench/faults.py) to time itself by.
RELEASE_FILE = "released"


def spawn_timeout_s(point: Point) -> float:
    """How long a locust process may take to spawn its users."""
    return 30.0 + point.users / 200


def locust_point(point: Point, raw: Path) -> dict:
    """What the locust side needs of a point (loadtests/settings.py), in one argument."""
    scenario_def = point.scenario_def
    return {
        "records": str(raw / "requests.csv"),
        "release_file": str(raw / RELEASE_FILE),
        "release": scenario_def.release,
        "fresh_connections": scenario_def.fresh_connections,
        "delay_s": point.delay_s,
        "work_ms": point.work_ms,
        "warmup_s": point.timings.effective_warmup_s,
        "window_s": point.window_s,
        "drain_s": point.timings.drain_s,
        "deadline_s": point.timings.deadline_s,
        "timeout_s": point.timings.client_timeout_s,
        "fast_interval_s": point.fast_interval_s,
        "spawn_timeout_s": spawn_timeout_s(point),
        "rate": point.rate,
        "poisson": point.poisson,
        "seed": point.index,
        "primed_share": primed_share(point),
        "app": None if point.app is None else {
            "path": point.app.path, "method": point.app.method,
            "headers": [list(h) for h in point.app.headers], "body_b64": point.app.body_b64,
            "body_sha256": point.app.body_sha256,
        },
    }  # fmt: skip


def primed_share(point: Point) -> float:
    """The share of a burst's users that connect and write before the release: all of
    them, unless the server's slots and half its listen backlog hold fewer (the others
    could not be taken in at once anyway: they are later rounds, and a connection the
    backlog cannot hold is cut). The rest connect and send right after the release."""
    if not point.scenario_def.fixed_requests or math.isinf(point.slots):
        return 1.0
    return min(1.0, (point.slots + LISTEN_BACKLOG // 2) / point.users)


def locust_argv(point: Point, url: str, raw: Path, loadgen: LoadSetup | None = None) -> list[str]:
    """Locust's command for one point; every file it writes lands in raw/."""
    users = point.users + point.scenario_def.extra_users
    run_time = int(point.timings.max_load_s + STARTUP_SLACK_S)
    return [
        sys.executable, "-m", "locust",
        "--locustfile", locustfiles([point.scenario_def]),
        "--config", os.devnull,
        "--headless",
        "--host", url,
        "--users", str(users),
        "--spawn-rate", str(max(users, 1)),
        "--run-time", f"{run_time}s",
        "--stop-timeout", "0",
        "--exit-code-on-error", "0",
        "--loglevel", "INFO",
        "--logfile", str(raw / "locust.log"),
        "--html", str(raw / "locust_report.html"),
        "--csv", str(raw / "locust"),
        "--eb-point", json.dumps(locust_point(point, raw)),
        *distribution_argv(loadgen or LoadSetup()),
        *point.scenario_def.user_classes,
    ]  # fmt: skip


def clean_env() -> dict[str, str]:
    """The environment without LOCUST_* settings, so no stray option changes a point."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}


class LocustProcess:
    """One locust process; `wait` bounds it, `stop` kills its process group."""

    def __init__(self, point: Point, url: str, raw: Path, loadgen: LoadSetup | None = None) -> None:
        self.point = point
        self.raw = raw
        self.loadgen = loadgen or LoadSetup()
        self.argv = locust_argv(point, url, raw, self.loadgen)
        self.proc: subprocess.Popen | None = None

    def start(self) -> int:
        self.proc = processes.spawn(
            self.argv, self.raw / "locust.stdout", cwd=self.raw, base_env=clean_env()
        )
        return self.proc.pid

    @property
    def timeout_s(self) -> float:
        """How long locust may run before it is stopped and the point marked as hung."""
        waiting = self.loadgen.wait_s if self.loadgen.workers else 0.0
        return self.point.timings.max_load_s + 2 * STARTUP_SLACK_S + waiting

    def wait(self) -> LocustOutcome:
        timed_out = False
        try:
            self.proc.wait(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            self.stop()
        log = self.raw / "locust.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        warned = CPU_WARNING in text or WORKER_CPU_WARNING in text
        return LocustOutcome(self.proc.returncode, timed_out, warned,
                       self.raw / "requests.csv", log, NO_WORKERS in text)  # fmt: skip

    def stop(self) -> None:
        if self.proc is not None:
            processes.stop(self.proc)


def worker_problems(raw: Path) -> list[verdict.Problem]:
    """What workers.json (a distributed point's roll call) says went wrong."""
    path = raw / "workers.json"
    if not path.exists():
        return []
    return verdict.roll_call_problems(json.loads(path.read_text()))
