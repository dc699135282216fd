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
from echobench.plots.registry import chart, has
from echobench.scenarios.open import OPEN, OPEN_BOUND_FACTOR
from echobench.style import REFERENCE, config_colors, ordered_configs


def _answered_in_bound(ax, data: pd.DataFrame, colors: dict, styles: dict) -> None:
    """What matters in an open loop: the share of arrivals answered in time."""
    work = data["work_ms"].fillna(0.0) if "work_ms" in data else 0.0
    shares = (
        data.assign(held_s=data["delay_s"] + work / 1000.0)
        .groupby(["config", "offered_rps"], as_index=False)
        .agg(share=("answered_in_bound_share", "median"), held_s=("held_s", "first"))
    )
    for config in ordered_configs(shares["config"]):
        d = shares[shares["config"] == config].sort_values("offered_rps")
        ax.plot(d["offered_rps"], 100 * d["share"], color=colors[config], label=config,
                **styles[config])  # fmt: skip
    bound = OPEN_BOUND_FACTOR * shares["held_s"].iloc[0]
    ax.set_ylim(-3, 103)
    ax.set_title(f"answered within {bound:g} s ({OPEN_BOUND_FACTOR:g} x (D + c))")
    ax.set_ylabel("share of arrivals (%)")
    ax.set_xlabel("offered arrival rate (requests per second)")
    ax.grid(True, which="major", alpha=0.3)


@chart(
    "open_loop_latency",
    60,
    applies=has(OPEN),
    note=(
        "Requests arrive on a fixed schedule whatever the server does; latency runs from each"
        " request's intended send time. Dashed verticals: each config's capacity K / D, past "
        "which a queue grows for as long as the load lasts."
    ),
)
def open_loop_latency(summary: pd.DataFrame, colors=None, run=None) -> Figure:
    """Latency from the intended send time against the offered arrival rate (open loop)."""
    data = OPEN.rows(summary)
    judged = "answered_in_bound_share" in data and data["answered_in_bound_share"].notna().any()
    fig = Figure(figsize=(17 if judged else 12, 5), layout="constrained")
    panels = fig.subplots(1, 3 if judged else 2)
    axes = panels[:2]
    axes[1].sharey(axes[0])
    fig.suptitle("Open loop: latency vs offered arrival rate (measured from intended send time)")
    if data.empty:
        for ax in panels:
            empty_panel(ax, "no open-loop points in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    points = data.groupby(["config", "offered_rps"], as_index=False).agg(
        p50_ms=("p50_ms", "median"),
        p99_ms=("p99_ms", "median"),
        valid=("valid", "all"),
        capacity=("capacity", "first"),
        delay_s=("delay_s", "first"),
        unfinished=("unfinished", "median"),
        requests=("requests", "median"),
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
            # latency is of the answered: say how many arrivals never were, where they
            # hold the percentiles down
            for row in d[d["unfinished"] > 0].itertuples():
                ax.annotate(f"{row.unfinished:.0f} of {row.requests:.0f}\nunanswered",
                            (row.offered_rps, getattr(row, col) / 1000),
                            fontsize=7, color="red", xytext=(-4, -18),
                            textcoords="offset points", ha="right")  # fmt: skip
        delay = points["delay_s"].iloc[0]
        ax.axhline(delay, color=REFERENCE, linewidth=0.8)
        ax.set_yscale("log")
        plain_log(ax.yaxis)
        ax.set_title(f"{name} latency (grey line: D = {delay:g} s)")
        ax.set_xlabel("offered arrival rate (requests per second)")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("latency from intended send time (s, log scale)")
    if judged:
        _answered_in_bound(panels[2], data, colors, styles)
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
