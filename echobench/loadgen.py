"""Runs locust as a subprocess for one point, bounded in time, killed by PID.

Distributed, locust runs as a master whose workers are forked here
(`--loadgen-processes`) or run on other hosts (`--loadgen-workers`, each host running
`echobench loadgen-worker`); the workers ship their records to the master.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from echobench import processes, verdict
from echobench.profiles import Point
from echobench.server import LOOPBACK_V4

USER_CLASSES = {
    "burst": ["BurstUser"],
    "steady": ["EchoUser"],
    "mixed": ["EchoUser", "PageUser"],
    "open": ["OpenUser"],
    "calibrate": ["EchoUser"],
}
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
class LoadgenMaster:
    """Where a point's locust master listens for external workers, and how long it waits."""

    host: str = LOOPBACK_V4
    port: int = MASTER_PORT
    wait_s: float = WORKERS_WAIT_S


@dataclass
class LoadRun:
    returncode: int | None
    timed_out: bool
    cpu_warning: bool
    records: Path
    log: Path
    no_workers: bool = False


def locustfile() -> Path:
    return Path(str(resources.files("loadtests") / "locustfile.py"))


def distribution_argv(point: Point, master: LoadgenMaster) -> list[str]:
    if point.loadgen_workers:
        return [
            "--master",
            "--master-bind-host", master.host,
            "--master-bind-port", str(master.port),
            "--expect-workers", str(point.loadgen_workers),
            "--expect-workers-max-wait", str(math.ceil(master.wait_s)),
        ]  # fmt: skip
    if point.loadgen_processes > 1:
        return ["--processes", str(point.loadgen_processes)]
    return []


def locust_argv(
    point: Point, url: str, raw: Path, master: LoadgenMaster | None = None
) -> list[str]:
    """Locust's command for one point; every file it writes lands in raw/."""
    users = point.users + (1 if point.scenario == "mixed" else 0)
    run_time = int(point.max_load_s + STARTUP_SLACK_S)
    return [
        sys.executable, "-m", "locust",
        "--locustfile", str(locustfile()),
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
        "--eb-scenario", point.scenario,
        "--eb-records", str(raw / "requests.csv"),
        "--eb-delay", repr(point.delay_s),
        "--eb-warmup", repr(point.effective_warmup_s),
        "--eb-window", repr(point.window_s),
        "--eb-drain", repr(point.drain_s),
        "--eb-deadline", repr(point.deadline_s),
        "--eb-timeout", repr(point.client_timeout_s),
        "--eb-fast-interval", repr(point.fast_interval_s),
        "--eb-spawn-timeout", repr(30.0 + point.users / 200),
        *(["--eb-rate", repr(point.rate), "--eb-seed", str(point.index)]
          if point.scenario == "open" else []),
        *(["--eb-poisson"] if point.poisson else []),
        *distribution_argv(point, master or LoadgenMaster()),
        *USER_CLASSES[point.scenario],
    ]  # fmt: skip


def clean_env() -> dict[str, str]:
    """The environment without LOCUST_* settings, so no stray option changes a point."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}


class LoadGenerator:
    """One locust process; `wait` bounds it, `stop` kills its process group."""

    def __init__(
        self, point: Point, url: str, raw: Path, master: LoadgenMaster | None = None
    ) -> None:
        self.point = point
        self.raw = raw
        self.master = master or LoadgenMaster()
        self.argv = locust_argv(point, url, raw, self.master)
        self.proc: subprocess.Popen | None = None

    def start(self) -> int:
        self.proc = processes.spawn(
            self.argv, self.raw / "locust.stdout", cwd=self.raw, base_env=clean_env()
        )
        return self.proc.pid

    @property
    def timeout_s(self) -> float:
        """How long locust may run before it is stopped and the point marked as hung."""
        waiting = self.master.wait_s if self.point.loadgen_workers else 0.0
        return self.point.max_load_s + 2 * STARTUP_SLACK_S + waiting

    def wait(self) -> LoadRun:
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
        return LoadRun(self.proc.returncode, timed_out, warned,
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
