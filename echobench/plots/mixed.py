"""Head-of-line blocking: a fast page behind slow requests."""

from __future__ import annotations

import numpy as np
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
    new_figure,
    plain_log,
)
from echobench.plots.registry import chart, has
from echobench.scenarios.mixed import MIXED
from echobench.style import REFERENCE, config_colors, k_label, ordered_configs


def _model_wait_s(row) -> float | None:
    """The waiting-only model's head-of-line wait; with CPU work it does not apply."""
    if row.work_ms:
        return None
    return model.head_of_line_wait_s(row.users, row.capacity, row.delay_s)


@chart(
    "head_of_line",
    50,
    applies=has(MIXED),
    note=(
        "A light stream of GET / while slow echoes keep the server busy: where all slots hold"
        " slow requests, the fast page queues behind them."
    ),
)
def head_of_line(summary: pd.DataFrame, colors=None, run=None, ax=None) -> Figure:
    """Latency of the fast page while slow echoes keep the server busy (mixed)."""
    fig, ax = new_figure(ax, size=(10, 5))
    ax.set_title("Head-of-line blocking: a fast page while slow requests are in flight")
    data = MIXED.rows(summary).dropna(subset=["fast_p50_ms"])
    if data.empty:
        empty_panel(ax, "no mixed points in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    work = data["work_ms"].fillna(0.0) if "work_ms" in data else 0.0
    data = (
        data.assign(work_ms=work)
        .groupby(["config", "users"], as_index=False)
        .agg(
            fast_p50_ms=("fast_p50_ms", "median"),
            fast_p99_ms=("fast_p99_ms", "median"),
            fast_ok=("fast_ok", "sum"),
            capacity=("capacity", "first"),
            delay_s=("delay_s", "first"),
            work_ms=("work_ms", "first"),
            valid=("valid", "all"),
        )
    )
    data = data.set_index("config").loc[ordered_configs(data["config"])].reset_index()
    x = np.arange(len(data))
    markers = style.line_styles(data["config"])
    for xi, row in zip(x, data.itertuples(), strict=True):  # dots on a log axis, not bars
        colour, marker = colors[row.config], markers[row.config]["marker"]
        ax.plot([xi, xi], [row.fast_p50_ms, row.fast_p99_ms], color=colour, linewidth=1.5)
        ax.plot(xi, row.fast_p50_ms, linestyle="none", marker=marker, markersize=9,
                color=colour)  # fmt: skip
        ax.plot(xi, row.fast_p99_ms, linestyle="none", marker=marker, markersize=9,
                markerfacecolor="white", markeredgecolor=colour, markeredgewidth=1.5)  # fmt: skip
    top = max(data["fast_p99_ms"].max(), data["delay_s"].max() * 1000)
    for xi, row in zip(x, data.itertuples(), strict=True):
        wait_s = _model_wait_s(row)
        if wait_s is not None:  # every slot busy: the page waits for C - K + 1 slot releases
            wait = 1000 * wait_s
            ax.plot([xi - 0.45, xi + 0.45], [wait, wait], color=REFERENCE, **IDEAL)
            top = max(top, wait)
        ax.text(
            xi,
            max(row.fast_p99_ms, 1000 * wait_s if wait_s is not None else 0) * 1.6,
            f"{_ms(row.fast_p50_ms)} / {_ms(row.fast_p99_ms)} ms\n({row.fast_ok:.0f} pages)",
            ha="center",
            fontsize=8,
        )
        if not row.valid:
            ax.scatter([xi], [row.fast_p99_ms], **INVALID)
    ax.set_ylim(max(0.1, data["fast_p50_ms"].min() / 3), top * 4)
    ax.set_xlim(-0.6, len(data) - 0.4)  # room for the outer configs' labels
    delay_ms = data["delay_s"].iloc[0] * 1000
    ax.axhline(delay_ms, color=REFERENCE, linewidth=0.8)
    ax.annotate(
        f"slow request's D = {delay_ms / 1000:g} s",
        (0.995, delay_ms),
        xycoords=("axes fraction", "data"),
        ha="right",
        va="top",
        fontsize=8,
    )
    users = ", ".join(str(u) for u in sorted(data["users"].unique()))
    ticks = [
        f"{r.config}\nK={k_label(r.capacity)}"
        + ("\nCPU: not modelled" if r.work_ms else "")
        + ("" if r.work_ms or _model_wait_s(r) else "\nmodel: no wait")
        for r in data.itertuples()
    ]
    ax.set_xticks(x, ticks, fontsize=8)
    ax.set_yscale("log")
    plain_log(ax.yaxis)
    ax.set_ylabel("fast GET / latency (ms, log scale)")
    work = data["work_ms"].max()
    burning = f" (each waits D, then computes c = {work:g} ms)" if work else ""
    ax.set_xlabel(f"config, with {users} users keeping slow echoes in flight{burning}")
    model = (
        Line2D([], [], color=REFERENCE, **IDEAL),
        "model when C >= K: the page waits\nfor C-K+1 slots, (C-K+1) x D / K",
    )
    drawn = any(_model_wait_s(r) is not None for r in data.itertuples())
    shapes = [
        (Line2D([], [], linestyle="none", marker="o", color="grey", markersize=8),
         "fast page p50 (filled)"),
        (Line2D([], [], linestyle="none", marker="o", markerfacecolor="white",
                markeredgecolor="grey", markersize=8), "fast page p99 (hollow)"),
    ]  # fmt: skip
    legend_outside(ax, [*shapes, *([model] if drawn else []), invalid_handle()])
    return fig


def _ms(value: float) -> str:
    """Two significant digits below 100 ms (0.36, 4.2), whole milliseconds above."""
    return f"{value:.2g}" if value < 100 else f"{value:.0f}"
