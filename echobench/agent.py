"""`echobench loadgen-worker`: a load-generator host's side of a distributed run.

The orchestrator starts a fresh locust master for every point, and a locust worker
quits with its master. So a host that lends its CPU to a run keeps one worker
connected to the master's address and starts a new one each time the last has
finished its point: bounded in points and time, stopped by process group on Ctrl-C.
Each worker ships its records to the master; nothing is left to collect here but logs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from echobench import processes
from echobench.loadgen import clean_env, locustfiles
from echobench.scenarios import SCENARIOS

# locust gives up with this code when no master answered for about five minutes
NO_MASTER_EXIT = 255
# Lets the last point's master close its port before the next worker dials it.
RESTART_PAUSE_S = 1.0
# Workers that fail this many times in a row will not start to work by retrying.
MAX_FAILURES = 3


@dataclass
class AgentResult:
    points: int
    reason: str


def worker_argv(master_host: str, master_port: int, log: Path) -> list[str]:
    return [
        sys.executable, "-m", "locust",
        "--worker",
        "--master-host", master_host,
        "--master-port", str(master_port),
        "--locustfile", locustfiles(SCENARIOS.values()),
        "--config", os.devnull,
        "--loglevel", "INFO",
        "--logfile", str(log),
    ]  # fmt: skip


def serve(
    master_host: str,
    master_port: int,
    max_points: int,
    max_time_s: float,
    log_dir: Path,
    say=print,
) -> AgentResult:
    """Run one worker after another until a limit is reached or the master is gone."""
    log_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + max_time_s
    points = failures = 0
    while points < max_points:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return AgentResult(points, f"time limit of {max_time_s:g} s reached")
        log = log_dir / f"worker-{points + 1:04d}.log"
        proc = processes.spawn(
            worker_argv(master_host, master_port, log),
            log.with_suffix(".stdout"),
            base_env=clean_env(),
        )
        try:
            code = proc.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            return AgentResult(points, f"time limit of {max_time_s:g} s reached")
        finally:
            processes.stop(proc)
        if code == NO_MASTER_EXIT:
            return AgentResult(points, f"no master answered at {master_host}:{master_port}")
        if code != 0:
            failures += 1
            say(f"worker exited with code {code}, see {log}")
            if failures >= MAX_FAILURES:
                return AgentResult(points, f"{failures} workers in a row failed")
        else:
            points, failures = points + 1, 0
            say(f"worker finished point {points}")
        time.sleep(RESTART_PAUSE_S)
    return AgentResult(points, f"{max_points} points done")
