"""`run --app`: the probe that estimates the user's app's own D and c before the sweep."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from rich.console import Console

from echobench import userapp
from echobench.point import Point
from echobench.scenarios.steady import STEADY


def probe(run, console: Console, measure: Callable) -> list[Point]:
    """`run --app`: one user against the app under its least-process config, 3 s: its
    CPU per answer is c, its median latency less c is D; every point then carries them.
    Kept in run.json (`app`) with its raw records in probe/. `run` is the runner's Run,
    `measure` its measure_point (passed in: the runner imports this module)."""
    points = run.profile.points
    first = min(points, key=lambda p: (p.config.workers, p.index))
    one = replace(first, scenario=STEADY.name, users=1, repeat=1, warmup_s=0.5,
                    window_s=3.0, rate=None, delay_s=0.0, work_ms=0.0)  # fmt: skip
    measured, problems = measure(one, run.run_dir / "probe", run.options, run.database)
    broken = [p.text for p in problems if p.invalidates]
    if broken:
        raise userapp.AppError(f"the probe under {one.config.id} failed: {broken[0]}")
    wait_s, cpu_ms = userapp.probe_figures(measured)
    app = first.app
    run.meta["app"] = {
        "target": app.target, "interface": app.interface, "path": app.path,
        "method": app.method, "same_body": app.same_body,
        "probe": {"config": one.config.id, "wait_ms": round(1000 * wait_s, 2),
                  "cpu_ms": cpu_ms, "answers": measured.get("ok"),
                  "p50_ms": measured.get("p50_ms")},
    }  # fmt: skip
    console.print(f"the app's own time per request, probed at one user under "
                  f"{one.config.id}: D = {1000 * wait_s:.1f} ms waiting, c = {cpu_ms:.2f} "
                  "ms of CPU")  # fmt: skip
    return [replace(p, delay_s=wait_s, work_ms=cpu_ms) for p in points]
