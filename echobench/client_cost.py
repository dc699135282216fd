"""What echobench's client costs per request, alone: one locust process, pinned to one
core, runs a short steady point against the trivial answerer (`answerer.py`) pinned to
another, and its own CPU clock gives the microseconds per request. Each run records it
in run.json (`client_cost`), so a reader sees what every request sent took from the
cores the servers are measured on, on that machine, apart from any server's cost.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from echobench import metrics, processes
from echobench.configs import get_config
from echobench.loadgen import LocustProcess
from echobench.point import Point
from echobench.scenarios.steady import STEADY

USERS = 16
WINDOW_S = 2.0
START_TIMEOUT_S = 10.0


def _cpus() -> tuple[set[int], set[int]] | None:
    """Two disjoint CPU sets, the answerer's and the client's, or None on one core."""
    allowed = sorted(os.sched_getaffinity(0))
    return ({allowed[-1]}, {allowed[0]}) if len(allowed) >= 2 else None


def _pin(pid: int, cpus: set[int] | None) -> None:
    if cpus:
        os.sched_setaffinity(pid, cpus)


def measure(raw: Path) -> dict:
    """The client's CPU per request and the rate it kept, against the trivial answerer."""
    raw.mkdir(parents=True, exist_ok=True)
    port_file = raw / "answerer.port"
    cpus = _cpus()
    load: LocustProcess | None = None
    answerer = processes.spawn([sys.executable, "-m", "echobench.answerer", str(port_file)],
                               raw / "answerer.log")  # fmt: skip
    try:
        _pin(answerer.pid, cpus and cpus[0])
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_file.exists():
            if answerer.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the trivial answerer did not start (see answerer.log)")
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port_file.read_text()}"
        point = Point(0, STEADY.name, get_config("fastapi-async"), USERS, 0.0, 1, warmup_s=0.5,
                      window_s=WINDOW_S)  # fmt: skip
        load = LocustProcess(point, url, raw)
        locust = load.start()
        _pin(locust, cpus and cpus[1])
        outcome = load.wait()
    finally:
        if load is not None:
            load.stop()  # stopped twice is fine; never left running on an error
        processes.stop(answerer)
    requests, marks = metrics.read_point(raw)
    cost = metrics.loadgen_cpu_us_per_request(marks)
    if cost is None or outcome.timed_out:
        raise RuntimeError("the client sent nothing it could measure (see locust.log)")
    span = marks["end"] - marks["release"]
    return {
        "us_per_request": round(cost, 1),
        "rps": round(marks["loadgen_sent"] / span, 1),
        "ok_share": round(float((requests["outcome"] == "ok").mean()), 4),
        "users": USERS,
        "window_s": WINDOW_S,
        "pinned": cpus is not None,
        "pids": [answerer.pid, locust],
        "method": "one locust process on its own core, a steady point against a trivial "
        "answerer on another; its CPU clock from release to end over the requests it sent",
    }


def measure_or_say(raw: Path, console) -> dict:
    """`measure`, before a run's first point; a failure is said and kept, and the run
    goes on without it."""
    try:
        cost = measure(raw)
    except (RuntimeError, OSError, ValueError, Warning) as exc:  # Warning: a torn record
        console.print(f"[yellow]the client's own cost was not measured: {exc}")
        return {"error": str(exc)}
    console.print(f"the client alone: {cost['us_per_request']:.0f} us of CPU per request "
                  f"at {cost['rps']:.0f} req/s")  # fmt: skip
    return cost
