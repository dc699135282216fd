"""Steady closed-loop load: throughput and latency against concurrent users."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from echobench import style
from echobench.plots.common import (
    IDEAL,
    INVALID,
    empty_panel,
    invalid_handle,
    legend_outside,
    median_by_point,
    new_figure,
    plain_log,
    steady_points,
)
from echobench.plots.registry import chart
from echobench.style import MODEL, REFERENCE, config_colors, ordered_configs


def has_sweep(summary: pd.DataFrame) -> bool:
    """Steady points at two loads or more for some config: a line to draw."""
    return not steady_points(summary).empty


@chart(
    "throughput_vs_users",
    20,
    applies=has_sweep,
    note=(
        "Solid: measured answers per second; dashed: min(C, K) / D. Where a config's solid "
        "line goes flat it has run out of slots (C > K)."
    ),
)
def throughput_vs_users(summary: pd.DataFrame, colors=None, run=None, ax=None) -> Figure:
    """Steady closed-loop throughput per config against min(C, K) / D."""
    fig, ax = new_figure(ax)
    ax.set_title("Steady load: throughput vs concurrent users (closed loop)")
    data = steady_points(summary)
    if data.empty:
        empty_panel(ax, "no steady sweep in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    points = median_by_point(data, ["rps", "ideal_rps"])
    styles = style.line_styles(points["config"])
    for config in ordered_configs(points["config"]):
        d = points[points["config"] == config].sort_values("users")
        ax.plot(d["users"], d["rps"], color=colors[config], label=config, **styles[config])
        ax.plot(d["users"], d["ideal_rps"], color=MODEL, **IDEAL)
        bad = d[~d["valid"]]
        if len(bad):
            ax.scatter(bad["users"], bad["rps"], **INVALID)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    plain_log(ax.yaxis)
    ax.set_xticks(
        sorted(points["users"].unique()), [str(u) for u in sorted(points["users"].unique())]
    )
    delay = points["delay_s"].iloc[0]
    work = points["work_ms"].max() if "work_ms" in points else 0.0
    burns = f", then computes c = {work:g} ms" if work and work == work else ""
    ax.set_xlabel(f"concurrent users C (log scale; each request waits D = {delay:g} s{burns})")
    ax.set_ylabel("answered requests per second (log scale)")
    ax.grid(True, which="major", alpha=0.3)
    legend_outside(
        ax,
        [
            (
                Line2D([], [], color="grey", **IDEAL),
                "grey dashed, beside each config:\nthe ideal "
                + ("min(min(C,K)/(D+c), min(P,M)/c)" if burns else "min(C, K) / D"),
            ),
            invalid_handle(),
        ],
    )
    return fig


@chart(
    "latency_vs_users",
    30,
    applies=has_sweep,
    note=(
        "Solid: measured p50 / p99; dashed: D x max(1, C/K). Closed-loop users wait for their"
        " answer before sending again, so queueing shows as latency, not as errors."
    ),
)
def latency_vs_users(summary: pd.DataFrame, colors=None, run=None) -> Figure:
    """p50 and p99 latency per config against D * max(1, C / K); D marked."""
    fig = Figure(figsize=(12, 5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    fig.suptitle("Steady load: latency vs concurrent users (closed loop)")
    data = steady_points(summary)
    if data.empty:
        for ax in axes:
            empty_panel(ax, "no steady sweep in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    points = median_by_point(data, ["p50_ms", "p99_ms", "ideal_latency_ms"])
    delay_ms = points["delay_s"].iloc[0] * 1000
    styles = style.line_styles(points["config"])
    for ax, col, name in zip(axes, ["p50_ms", "p99_ms"], ["median (p50)", "p99"], strict=True):
        for config in ordered_configs(points["config"]):
            d = points[points["config"] == config].sort_values("users")
            ax.plot(d["users"], d[col] / 1000, color=colors[config], label=config, **styles[config])
            ax.plot(d["users"], d["ideal_latency_ms"] / 1000, color=MODEL, **IDEAL)
            bad = d[~d["valid"]]
            if len(bad):
                ax.scatter(bad["users"], bad[col] / 1000, **INVALID)
        ax.axhline(delay_ms / 1000, color=REFERENCE, linewidth=0.8)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        plain_log(ax.yaxis)
        users = sorted(points["users"].unique())
        ax.set_xticks(users, [str(u) for u in users])
        ax.set_title(f"{name} latency (grey line: D = {delay_ms / 1000:g} s)")
        ax.set_xlabel("concurrent users C (log scale)")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("latency (s, log scale)")
    legend_outside(
        axes[1],
        [
            (
                Line2D([], [], color="grey", **IDEAL),
                "grey dashed, beside each config:\nthe ideal latency C / X, at least D + c",
            ),
            invalid_handle(),
        ],
    )
    return fig
