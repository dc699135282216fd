"""Charts of one run: pure functions from the tidy summary to a matplotlib Figure.

They never save or show; the caller does. Figures are built with matplotlib's object
API (no pyplot state), so nothing needs closing and any backend or notebook works.
Every chart draws the queueing model's ideal dashed, marks invalid points with a red
cross, labels units, and gives each config the same colour everywhere (style.py).
Every chart is called alike: `chart(summary, colors=None, run=None)`.

A chart is one module's function, registered with its note by `registry.chart`; every
module of this package is imported (found by discovery, so a new chart module needs no
line here), and `all_charts` draws what a run has data for. The names below are the
charts callers draw one at a time.
"""

from __future__ import annotations

import importlib
import pkgutil

import pandas as pd
from matplotlib.figure import Figure

from echobench.derived import sleeping
from echobench.plots.bursts import burst_makespan, scale_makespan
from echobench.plots.crossover import crossover, decision_map, worker_spread
from echobench.plots.database import db_cpu, sleep_vs_db
from echobench.plots.memory import memory
from echobench.plots.mixed import head_of_line
from echobench.plots.open_loop import open_loop_latency
from echobench.plots.overview import efficiency_overview
from echobench.plots.percentiles import latency_percentiles
from echobench.plots.registry import CHARTS
from echobench.plots.steady import latency_vs_users, throughput_vs_users
from echobench.style import config_colors

__all__ = [
    "CHARTS",
    "all_charts",
    "burst_makespan",
    "crossover",
    "db_cpu",
    "decision_map",
    "discover",
    "efficiency_overview",
    "head_of_line",
    "latency_percentiles",
    "latency_vs_users",
    "memory",
    "open_loop_latency",
    "scale_makespan",
    "sleep_vs_db",
    "throughput_vs_users",
    "worker_spread",
]


def discover(path=__path__, prefix: str = f"{__name__}.") -> None:
    """Import every module found on `path`: each chart registers itself on import."""
    for module in pkgutil.iter_modules(path, prefix):
        importlib.import_module(module.name)


discover()


def all_charts(summary: pd.DataFrame, run: dict | None = None) -> dict[str, Figure]:
    """Every chart this run has data for, in their order, sharing one colour map."""
    colors = config_colors(summary["config"])
    slept = sleeping(summary)
    charts = {}
    partial = len(slept) < len(summary)  # the run also waited on a database
    for name, chart in CHARTS.items():
        data = summary if chart.every_point else slept
        if chart.applies(data):
            charts[name] = chart.draw(data, colors=colors, run=run)
            if partial and not chart.every_point:
                _say_sleep_only(charts[name])
    return charts


SLEEP_ONLY = "sleep points only: the database's points are in sleep_vs_db and db_cpu"


def _say_sleep_only(fig: Figure) -> None:
    """Put in the title that a chart left the run's database points out."""
    title = fig.get_suptitle()
    if title:
        fig.suptitle(f"{title}\n({SLEEP_ONLY})")
    elif fig.axes:
        ax = fig.axes[0]
        ax.set_title(f"{ax.get_title()}\n({SLEEP_ONLY})" if ax.get_title() else f"({SLEEP_ONLY})")
