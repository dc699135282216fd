"""Open loop: latency against the offered arrival rate."""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from echobench import model, style
from echobench.plots.common import (
    IDEAL,
    INVALID,
    empty_panel,
    invalid_handle,
    legend_outside,
    plain_log,
)
from echobench.style import config_colors, ordered_configs


def open_loop_latency(summary: pd.DataFrame, colors=None, run=None) -> Figure:
    """Latency from the intended send time against the offered arrival rate (open loop)."""
    fig = Figure(figsize=(12, 5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    fig.suptitle("Open loop: latency vs offered arrival rate (measured from intended send time)")
    data = summary[summary["scenario"] == "open"]
    if data.empty:
        for ax in axes:
            empty_panel(ax, "no open-loop points in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    points = data.groupby(["config", "offered_rps"], as_index=False).agg(
        p50_ms=("p50_ms", "median"),
        p99_ms=("p99_ms", "median"),
        valid=("valid", "all"),
        capacity=("capacity", "first"),
        delay_s=("delay_s", "first"),
        unfinished=("unfinished", "sum"),
    )
    styles = style.line_styles(points["config"])
    for ax, col, name in zip(axes, ["p50_ms", "p99_ms"], ["median (p50)", "p99"], strict=True):
        for config in ordered_configs(points["config"]):
            d = points[points["config"] == config].sort_values("offered_rps")
            ax.plot(
                d["offered_rps"],
                d[col] / 1000,
                color=colors[config],
                label=config,
                **styles[config],
            )
            capacity_rps = model.capacity_rps(float(d["capacity"].iloc[0]), d["delay_s"].iloc[0])
            if math.isfinite(capacity_rps) and capacity_rps <= d["offered_rps"].max() * 1.5:
                ax.axvline(capacity_rps, color=colors[config], **IDEAL)
            bad = d[~d["valid"]]
            if len(bad):
                ax.scatter(bad["offered_rps"], bad[col] / 1000, **INVALID)
        delay = points["delay_s"].iloc[0]
        ax.axhline(delay, color="black", linewidth=0.8)
        ax.set_yscale("log")
        plain_log(ax.yaxis)
        ax.set_title(f"{name} latency (black line: D = {delay:g} s)")
        ax.set_xlabel("offered arrival rate (requests per second)")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("latency from intended send time (s, log scale)")
    legend_outside(
        axes[1],
        [
            (
                Line2D([], [], color="grey", **IDEAL),
                "capacity K / D\n(latency grows without\nbound past it)",
            ),
            invalid_handle(),
        ],
    )
    return fig
