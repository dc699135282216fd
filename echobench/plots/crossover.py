"""CPU per request: where async stops winning, and the decision map."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from echobench import decision, style
from echobench.plots.common import IDEAL, INVALID, empty_panel, invalid_handle, plain_log
from echobench.plots.registry import chart
from echobench.style import config_colors, ordered_configs

# Characters per line of a decision-map cell.
CELL_CHARS = 46


def _cpu_share(data: pd.DataFrame) -> pd.Series:
    return data["work_ms"] / (1000.0 * data["delay_s"] + data["work_ms"])


def _computes(summary: pd.DataFrame) -> bool:
    """Points with CPU work per request: what the crossover and the map are drawn from."""
    return not decision.cpu_points(summary).empty


@chart(
    "crossover",
    80,
    applies=_computes,
    note=(
        "Each request waits D, then computes c ms of CPU holding the GIL. Top: answers per "
        "second; bottom: p99; dashed: the model min(min(C, K)/(D + c), min(P, M)/c) and its "
        "latency C / X. Where one async process's line falls under the sync workers', async "
        "has stopped winning."
    ),
)
def crossover(summary: pd.DataFrame, colors=None, run=None) -> Figure:
    """Throughput and p99 against c / (D + c), one column per wait D, model dashed."""
    data = decision.cpu_points(summary)
    delays = sorted(data["delay_s"].unique())
    fig = Figure(figsize=(4.2 * max(1, len(delays)) + 2.2, 8), layout="constrained")
    axes = fig.subplots(2, max(1, len(delays)), squeeze=False)
    fig.suptitle(
        "CPU per request: throughput and p99 as each request's CPU share c / (D + c) grows "
        f"({_users(data)} closed-loop users)"
    )
    if data.empty:
        for ax in axes.flat:
            empty_panel(ax, "no CPU sweep in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    data = data.assign(share=_cpu_share(data))
    points = data.groupby(["config", "delay_s", "work_ms"], as_index=False).agg(
        share=("share", "first"),
        rps=("rps", "median"),
        ideal_rps=("ideal_rps", "median"),
        p99_ms=("p99_ms", "median"),
        ideal_latency_ms=("ideal_latency_ms", "median"),
        valid=("valid", "all"),
    )
    styles = style.line_styles(points["config"])
    for col, delay in enumerate(delays):
        top, bottom = axes[0, col], axes[1, col]
        at_d = points[points["delay_s"] == delay]
        for config in ordered_configs(at_d["config"]):
            d = at_d[at_d["config"] == config].sort_values("share")
            for ax, measured, ideal in ((top, "rps", "ideal_rps"),
                                        (bottom, "p99_ms", "ideal_latency_ms")):  # fmt: skip
                ax.plot(d["share"], d[measured], color=colors[config], label=config,
                        **styles[config])  # fmt: skip
                ax.plot(d["share"], d[ideal], color=colors[config], **IDEAL)
                bad = d[~d["valid"]]
                if len(bad):
                    ax.scatter(bad["share"], bad[measured], **INVALID)
        costs = sorted(at_d["work_ms"].unique())
        for ax in (top, bottom):
            ax.set_yscale("log")
            plain_log(ax.yaxis)
            ax.grid(True, which="major", alpha=0.3)
            shares = [c / (1000.0 * delay + c) for c in costs]
            ax.set_xticks(shares, [f"{s:.2f}\nc={c:g}" for s, c in zip(shares, costs, strict=True)])
        top.set_title(f"each request waits D = {1000 * delay:g} ms")
        bottom.set_xlabel("CPU share c / (D + c)  (c in ms)")
    axes[0, 0].set_ylabel("answered requests per second (log)")
    axes[1, 0].set_ylabel("p99 latency, ms (log)")
    seen: dict = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    extra = [
        (Line2D([], [], color="grey", **IDEAL), "model: min(min(C,K)/(D+c), min(P,M)/c)"),
        (Line2D([], [], color="grey", **IDEAL), "model latency C / X (a mean, under p99)"),
    ]
    if not points["valid"].all():
        extra.append(invalid_handle())
    fig.legend(
        [*seen.values(), *(h for h, _ in extra)],
        [*seen.keys(), *(label for _, label in extra)],
        loc="outside right upper",
        fontsize=8,
        frameon=False,
    )
    return fig


def _users(data: pd.DataFrame) -> str:
    users = sorted(data["users"].unique())
    return ", ".join(str(u) for u in users) if users else "no"


@chart(
    "decision_map",
    90,
    applies=_computes,
    note=(
        "Per measured (D, c): the config with the most answers per second among the valid "
        "points whose p99 stays within 10 x (D + c), its margin over the next config, its "
        "memory per request in flight, and the model's pick. Blank cells were not measured."
    ),
)
def decision_map(summary: pd.DataFrame, colors=None, run=None) -> Figure:
    """Per measured (D, c) cell: the config with the most throughput whose p99 stays
    within the bound, its margin and memory, and the model's pick beside it."""
    cells = decision.decide(summary)
    delays = sorted({c.delay_s for c in cells})
    n_cols = max((sum(c.delay_s == d for c in cells) for d in delays), default=1)
    fig = Figure(figsize=(3.3 * n_cols + 1.5, 1.9 * max(1, len(delays)) + 1.6),
                 layout="constrained")  # fmt: skip
    ax = fig.subplots()
    fig.suptitle(
        "Decision map: which config answers the most requests per second, with p99 within "
        f"{decision.P99_BOUND_FACTOR:g} x (D + c)"
    )
    if not cells:
        empty_panel(ax, "no CPU sweep in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    # Columns by CPU share c / (D + c) when every D was measured at the same shares (as
    # the crossover profile is); otherwise by rank of c within its D.
    shares = sorted({round(c.cpu_share, 3) for c in cells})
    by_share = len(shares) == n_cols
    for row, delay in enumerate(delays):
        at_d = sorted((c for c in cells if c.delay_s == delay), key=lambda c: c.work_ms)
        for rank, cell in enumerate(at_d):
            col = shares.index(round(cell.cpu_share, 3)) if by_share else rank
            _draw_cell(ax, col, row, cell, colors)
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(len(delays) - 0.5, -0.5)
    ax.set_yticks(range(len(delays)), [f"wait D = {1000 * d:g} ms" for d in delays])
    heads = (
        [f"c / (D + c) = {s:.2f}" for s in shares]
        if by_share
        else [f"CPU cost {i + 1} of {n_cols}" for i in range(n_cols)]
    )
    ax.set_xticks(range(n_cols), heads)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel(
        "each cell: c (the request's CPU ms), the measured winner (within "
        f"{decision.TIE:.0%}: a tie), its margin over the next config, its p99 and memory per "
        "request in flight; below, the model's pick. Blank: not measured.",
        fontsize=8,
    )
    return fig


def _draw_cell(ax, col: int, row: int, cell: decision.Cell, colors: dict) -> None:
    # one winner: its colour; a tie or no winner: no colour, so none is implied
    fill = colors.get(cell.winners[0], "white") if len(cell.winners) == 1 else "white"
    ax.add_patch(Rectangle((col - 0.48, row - 0.46), 0.96, 0.92, facecolor=fill, alpha=0.3,
                           edgecolor="grey", linewidth=0.8))  # fmt: skip
    lines = [f"c = {cell.work_ms:g} ms of CPU"]
    if cell.winners:
        tie = f"a tie of {len(cell.winners)}: " if len(cell.winners) > 1 else ""
        lines.append(
            textwrap.fill(tie + ", ".join(cell.winners), CELL_CHARS, break_on_hyphens=False)
        )
        margin = (
            f"+{cell.margin:.0%} over {cell.runner_up}" if cell.margin is not None else "no rival"
        )
        lines.append(f"{cell.rps:.0f} req/s, {margin}")
        mem = f", {cell.mb_per_request:.1f} MB/request" if cell.mb_per_request else ""
        lines.append(f"p99 {cell.p99_ms:.0f} ms{mem}")
    else:
        lines.append("no config valid within the p99 bound")
    agree = "agrees" if cell.model_agrees else "differs"
    picks = ", ".join(cell.model_winners)
    tied = f"a tie of {len(cell.model_winners)}: " if len(cell.model_winners) > 1 else ""
    lines.append(
        textwrap.fill(f"model ({agree}): {tied}{picks}", CELL_CHARS, break_on_hyphens=False)
    )
    ax.text(col, row, "\n".join(lines), ha="center", va="center", fontsize=7.5)


def _has_worker_spread(summary: pd.DataFrame) -> bool:
    spread = summary.get("busiest_share")
    return spread is not None and bool((spread.notna() & (summary["workers"] > 1)).any())


@chart(
    "worker_spread",
    100,
    applies=_has_worker_spread,
    note=(
        "Multi-process points: the share of answers from the busiest and the idlest worker "
        "(each answer names its process in X-Echobench-Worker); dashed: an even split. A busy"
        " worker caps a CPU-bound point at 1 / (share x c)."
    ),
)
def worker_spread(summary: pd.DataFrame, colors=None, run=None) -> Figure:
    """Per multi-process config: every point's busiest and idlest worker's share of the
    answers, against the even share 1 / N (a keep-alive connection stays with the
    process that accepted it, so the spread is the kernel's and the server's doing)."""
    has = "busiest_share" in summary and summary["busiest_share"].notna().any()
    data = summary[(summary["workers"] > 1) & summary["busiest_share"].notna()] if has else None
    fig = Figure(figsize=(11, 4.8), layout="constrained")
    ax = fig.subplots()
    ax.set_title("Who answered: the busiest and idlest worker's share of each point's answers")
    if data is None or data.empty:
        empty_panel(ax, "no multi-process point with worker records in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    configs = ordered_configs(data["config"])
    rng = np.random.default_rng(0)  # the same jitter every time the chart is drawn
    for x, config in enumerate(configs):
        rows = data[data["config"] == config]
        jitter = rng.uniform(-0.12, 0.12, len(rows))
        ax.scatter(x - 0.15 + jitter, rows["busiest_share"], color=colors[config], s=22,
                   label="busiest worker" if x == 0 else None)  # fmt: skip
        ax.scatter(x + 0.15 + jitter, rows["idlest_share"], facecolors="none",
                   edgecolors=colors[config], s=22,
                   label="idlest worker" if x == 0 else None)  # fmt: skip
        even = 1.0 / rows["workers"].iloc[0]
        ax.plot([x - 0.4, x + 0.4], [even, even], color="black", **IDEAL,
                label="even share 1 / N" if x == 0 else None)  # fmt: skip
        ax.annotate(f"{len(rows)} points", (x, 1.02), ha="center", fontsize=8)
    ticks = [f"{c} (N = {int(data[data['config'] == c]['workers'].iloc[0])})" for c in configs]
    ax.set_xticks(range(len(configs)), ticks, fontsize=8, rotation=20, ha="right")
    ax.set_xlim(-0.6, len(configs) - 0.4)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("share of the point's ok answers")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig
