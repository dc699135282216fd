"""Charts of one run: pure functions from the tidy summary to a matplotlib Figure.

They never save or show; the caller does. Figures are built with matplotlib's object
API (no pyplot state), so nothing needs closing and any backend or notebook works.
Every chart draws the queueing model's ideal dashed, marks invalid points with a red
cross, labels units, and gives each config the same colour everywhere (style.py).
Every chart is called alike: `chart(summary, colors=None, run=None)`.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from echobench import derived
from echobench.decision import cpu_points
from echobench.derived import sleeping
from echobench.plots.bursts import burst_makespan, scale_makespan
from echobench.plots.common import scale_points, steady_points
from echobench.plots.crossover import crossover, decision_map, worker_spread
from echobench.plots.database import db_cpu, sleep_vs_db
from echobench.plots.memory import memory
from echobench.plots.mixed import head_of_line
from echobench.plots.open_loop import open_loop_latency
from echobench.plots.overview import efficiency_overview
from echobench.plots.steady import latency_vs_users, throughput_vs_users
from echobench.scenarios import rows_where
from echobench.scenarios.burst import BURST
from echobench.scenarios.mixed import MIXED
from echobench.scenarios.open import OPEN
from echobench.scenarios.steady import STEADY
from echobench.style import config_colors

__all__ = [
    "CHARTS",
    "all_charts",
    "burst_makespan",
    "crossover",
    "db_cpu",
    "decision_map",
    "efficiency_overview",
    "head_of_line",
    "latency_vs_users",
    "memory",
    "open_loop_latency",
    "scale_makespan",
    "sleep_vs_db",
    "throughput_vs_users",
    "worker_spread",
]


def _has_worker_spread(summary: pd.DataFrame) -> bool:
    spread = summary.get("busiest_share")
    return spread is not None and bool((spread.notna() & (summary["workers"] > 1)).any())


def _has(scenario):
    return lambda summary: not scenario.rows(summary).empty


# name: (draw, whether a run has the data for it)
CHARTS = {
    "burst_makespan": (burst_makespan, _has(BURST)),
    "throughput_vs_users": (throughput_vs_users, lambda s: not steady_points(s).empty),
    "latency_vs_users": (latency_vs_users, lambda s: not steady_points(s).empty),
    "memory": (memory, lambda s: not derived.loaded(s, sampled=False).empty),
    "head_of_line": (head_of_line, _has(MIXED)),
    "open_loop_latency": (open_loop_latency, _has(OPEN)),
    "scale_makespan": (scale_makespan, lambda s: not scale_points(s).empty),
    "crossover": (crossover, lambda s: not cpu_points(s).empty),
    "decision_map": (decision_map, lambda s: not cpu_points(s).empty),
    "worker_spread": (worker_spread, _has_worker_spread),
    "efficiency": (
        efficiency_overview,
        lambda s: rows_where(s, lambda k: k.judged_by_model)["efficiency"].notna().any(),
    ),
}
# Charts that compare ways of waiting: drawn from every point. The others are drawn from
# the sleep points of a run that has both (`derived.sleeping`).
DATABASE_CHARTS = {
    "sleep_vs_db": (sleep_vs_db, lambda s: (s["io"] == "db").any()),
    "db_cpu": (db_cpu, lambda s: (STEADY.rows(s)["io"] == "db").any()),
}


def all_charts(summary: pd.DataFrame, run: dict | None = None) -> dict[str, Figure]:
    """Every chart this run has data for, sharing one colour map."""
    colors = config_colors(summary["config"])
    slept = sleeping(summary)
    charts = {
        name: draw(slept, colors=colors, run=run)
        for name, (draw, has_data) in CHARTS.items()
        if has_data(slept)
    }
    charts.update(
        (name, draw(summary, colors=colors, run=run))
        for name, (draw, has_data) in DATABASE_CHARTS.items()
        if has_data(summary)
    )
    return charts
