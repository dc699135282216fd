"""Latency by percentile on a "nines" axis, the way HdrHistogram plots it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from echobench import style
from echobench.plots.common import IDEAL, empty_panel, plain_log, steady_points
from echobench.plots.registry import chart
from echobench.scenarios.open import OPEN
from echobench.style import MODEL, REFERENCE, config_colors, ordered_configs

# The summary's percentiles (each from the point's per-request times) and their nines.
PERCENTILES = (("p50_ms", 50.0), ("p90_ms", 90.0), ("p99_ms", 99.0), ("p999_ms", 99.9))


def nines(percentile: float) -> float:
    """Distance along the axis: 50% -> 0.3, 90% -> 1, 99% -> 2, 99.9% -> 3."""
    return float(-np.log10(1.0 - percentile / 100.0))


def _panels(summary: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Per scenario drawn: each config's fullest point (steady: the most users; open:
    the highest arrival rate within its capacity), repeats by their median."""
    out = []
    steady = steady_points(summary)  # configs at one load only belong to the memory chart
    if "work_ms" in steady:
        steady = steady[steady["work_ms"].fillna(0.0) == 0]
    if not steady.empty:
        top = steady.groupby("config")["users"].transform("max")
        out.append(("steady: the configs measured at several loads, each at its most users",
                    steady[steady["users"] == top]))  # fmt: skip
    opened = OPEN.rows(summary)
    if not opened.empty:
        within = opened[opened["offered_rps"] <= opened["ideal_rps"] * 1.0001]
        if not within.empty:
            top = within.groupby("config")["offered_rps"].transform("max")
            out.append(("open loop, each config's highest rate within capacity",
                        within[within["offered_rps"] == top]))  # fmt: skip
    return out


@chart(
    "latency_percentiles",
    35,
    applies=lambda s: bool(_panels(s)),
    note=(
        "Latency against percentile on a 'nines' axis (50%, 90%, 99%, 99.9%), as "
        "HdrHistogram draws it: each line is one config at its fullest point, through the "
        "percentiles computed from every request's own time; dashed: the model's latency "
        "for that point. A line that bends up at the right is a tail the median hides."
    ),
)
def latency_percentiles(summary: pd.DataFrame, colors=None, run=None) -> Figure:
    """p50, p90, p99 and p99.9 per config on a nines axis, steady and open side by side."""
    panels = _panels(summary)
    fig = Figure(figsize=(6.5 * max(1, len(panels)) + 2.5, 5.2), layout="constrained")
    axes = fig.subplots(1, max(1, len(panels)), squeeze=False)[0]
    fig.suptitle("Latency by percentile (the 'nines' axis): where the tail begins")
    if not panels:
        empty_panel(axes[0], "no steady or open point in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    styles = style.line_styles(summary["config"])
    x = [nines(p) for _, p in PERCENTILES]
    for ax, (title, rows) in zip(axes, panels, strict=True):
        for config in ordered_configs(rows["config"]):
            mine = rows[rows["config"] == config]
            y = [mine[column].median() for column, _ in PERCENTILES]
            load = (f"{mine['offered_rps'].iloc[0]:g}/s" if title.startswith("open")
                    else f"C={int(mine['users'].iloc[0])}")  # fmt: skip
            ax.plot(x, y, color=colors[config], label=f"{config} ({load})", **styles[config])
            ideal = mine["ideal_latency_ms"].median() if "ideal_latency_ms" in mine else None
            if ideal is not None and pd.notna(ideal):
                ax.plot([x[0], x[-1]], [ideal, ideal], color=MODEL, **IDEAL)
        ax.set_xticks(x, [f"{p:g}%" for _, p in PERCENTILES])
        ax.set_xlabel("percentile (each step right: ten times rarer)")
        ax.set_yscale("log")
        plain_log(ax.yaxis)
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))  # short ranges
        ax.set_ylabel("latency, ms (log)")
        ax.grid(True, which="major", alpha=0.3)
        ax.set_title(title, fontsize=10)
        handles, labels = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], color=REFERENCE, **IDEAL))
        labels.append("grey dashed, beside each config:\nthe model's latency (a mean)")
        ax.legend(
            handles, labels, fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0)
        )
    return fig
