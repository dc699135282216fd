"""CPU per request: where async stops winning, and the decision map."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from echobench import decision, model, stats, style
from echobench.plots.common import IDEAL, INVALID, empty_panel, invalid_handle, plain_log
from echobench.plots.registry import chart
from echobench.scenarios import faulting
from echobench.style import MODEL, REFERENCE, config_colors, ordered_configs


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
    # at least 12 in wide: one wait D alone must still hold the title and the legend
    fig = Figure(figsize=(max(12.0, 4.2 * len(delays) + 2.2), 8), layout="constrained")
    axes = fig.subplots(2, max(1, len(delays)), squeeze=False)
    fig.suptitle(
        "CPU per request: throughput and p99 as each request's CPU share c / (D + c) grows\n"
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
        **{f: (f, "first") for f in ("users", "capacity", "parallel", "cores")},
    )
    styles = style.line_styles(points["config"])
    for col, delay in enumerate(delays):
        top, bottom = axes[0, col], axes[1, col]
        at_d = points[points["delay_s"] == delay]
        for config in ordered_configs(at_d["config"]):
            d = at_d[at_d["config"] == config].sort_values("share")
            share, rate, latency = _model_curve(d.iloc[0], float(d["work_ms"].max()))
            for ax, measured, ideal in ((top, "rps", rate), (bottom, "p99_ms", latency)):
                ax.plot(d["share"], d[measured], color=colors[config], label=config,
                        **styles[config])  # fmt: skip
                ax.plot(share, ideal, color=MODEL, **IDEAL)
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
        (Line2D([], [], color="grey", **IDEAL),
         "grey dashed, beside each config, the model: top X = min(min(C,K)/(D+c), min(P,M)/c);\n"
         "bottom its latency C / X (a mean, under p99)"),
    ]  # fmt: skip
    if not points["valid"].all():
        extra.append(invalid_handle())
    fig.legend(
        [*seen.values(), *(h for h, _ in extra)],
        [*seen.keys(), *(label for _, label in extra)],
        loc="outside lower center",
        ncols=4,
        fontsize=8,
        frameon=False,
    )
    return fig


def _model_curve(point, top_work_ms: float, steps: int = 120):
    """The model's rate and latency (ms) over c from 0 to the largest measured, as a
    curve in c / (D + c): its bend where the CPU bound takes over is drawn, not a chord
    between the measured c."""
    works = np.linspace(0.0, top_work_ms, steps) / 1000.0
    k, p, m = (float(point[f]) for f in ("capacity", "parallel", "cores"))
    users, delay = int(point["users"]), float(point["delay_s"])
    rates = np.array([model.ideal_rps(users, k, delay, w, p, m) for w in works])
    latency = np.array([1000.0 * model.ideal_latency_s(users, k, delay, w, p, m) for w in works])
    return works / (delay + works), rates, latency


def _users(data: pd.DataFrame) -> str:
    users = sorted(data["users"].unique())
    return ", ".join(str(u) for u in users) if users else "no"


@chart(
    "decision_map",
    90,
    applies=_computes,
    note=(
        "Each request waits D (up) and computes c; across, its CPU share c / (D + c). Areas: "
        "the config with the fewest processes among the model's best at each point (every "
        "config tied with it is named in the report's table). Markers: the measured cells; "
        "filled in the winner's colour when one config won alone by its repeats' intervals "
        "and the model agrees, hollow when it won but the model's area says otherwise, a grey "
        "ring when the cell is a tie (always, below 3 repeats). A winner's p99 stays within "
        "10 x (D + c)."
    ),
)
def decision_map(summary: pd.DataFrame, colors=None, run=None) -> Figure:
    """The model's winner regions over (CPU share, D), the measured cells on top."""
    cells = decision.decide(summary)
    fig = Figure(figsize=(9, 6.4), layout="constrained")
    ax = fig.subplots()
    fig.suptitle("Decision map: who answers the most per second, by wait D and CPU share",
                 fontsize=12)  # fmt: skip
    if not cells:
        empty_panel(ax, "no CPU sweep in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    sweep = decision.cpu_points(summary)
    configs = sweep.groupby("config", sort=False).first()
    users = int(sweep["users"].median())
    delays = [max(c.delay_s, 1e-3) for c in cells]  # a log axis: D = 0 drawn at 1 ms
    d_grid = np.geomspace(min(delays) / 1.6, max(delays) * 1.6, 160)
    s_max = min(0.95, max(c.cpu_share for c in cells) * 1.25 + 0.05)
    s_grid = np.linspace(0.0, s_max, 200)
    names = ordered_configs(configs.index)
    simplest = sorted(names, key=lambda n: (configs.at[n, "workers"], names.index(n)))
    picks = np.zeros((len(d_grid), len(s_grid)), dtype=int)
    for i, d in enumerate(d_grid):
        for j, share in enumerate(s_grid):
            work = d * share / (1.0 - share)
            rates = {n: _ideal(configs.loc[n], users, d, work) for n in names}
            best = max(rates.values())
            picks[i, j] = next(k for k, n in enumerate(simplest) if rates[n] >= best * (1 - 1e-9))
    shown = sorted(set(picks.flat))
    cmap = ListedColormap([colors[simplest[k]] for k in range(len(simplest))])
    top = len(simplest) - 0.5
    ax.pcolormesh(s_grid, d_grid * 1000, picks, cmap=cmap, vmin=-0.5, vmax=top, alpha=0.35,
                  shading="auto", rasterized=True)  # fmt: skip
    ax.contour(s_grid, d_grid * 1000, picks, levels=np.arange(len(simplest)) + 0.5,
               colors="grey", linewidths=1.0)  # fmt: skip
    handles = [
        (Patch(facecolor=colors[simplest[k]], alpha=0.35, edgecolor="grey"),
         f"model: {simplest[k]} is among the best")
        for k in shown
    ]  # fmt: skip
    markers = style.line_styles(names)
    for cell in cells:
        x, y = cell.cpu_share, max(cell.delay_s, 1e-3) * 1000
        if cell.decided:
            win = cell.winners[0]
            agrees = cell.model_agrees
            ax.plot(x, y, linestyle="none", marker=markers[win]["marker"], markersize=13,
                    markeredgewidth=2, markeredgecolor=colors[win],
                    markerfacecolor=colors[win] if agrees else "white")  # fmt: skip
            digits = "{:.0f}" if cell.rps.median >= 100 else "{:.1f}"  # 20.5 is not 20
            ax.annotate(f"{cell.rps.text(digits)} req/s", (x, y), xytext=(0, -15),
                        textcoords="offset points", ha="center", va="top", fontsize=9)  # fmt: skip
        else:
            ax.plot(x, y, linestyle="none", marker="o", markersize=13, markeredgewidth=2,
                    markeredgecolor="#555555", markerfacecolor="none")  # fmt: skip
            ax.annotate(f"tie of {len(cell.winners)}" if cell.winners else "none valid",
                        (x, y), xytext=(0, -15), textcoords="offset points", ha="center",
                        va="top", fontsize=9, color="#333333")  # fmt: skip
    winners = ordered_configs(c.winners[0] for c in cells if c.decided)
    handles += [
        (Line2D([], [], linestyle="none", marker=markers[w]["marker"], markersize=10,
                markeredgewidth=2, markeredgecolor=colors[w], markerfacecolor=colors[w]),
         f"measured: {w} won alone")
        for w in winners
    ]  # fmt: skip
    if any(c.decided and not c.model_agrees for c in cells):
        handles.append((Line2D([], [], linestyle="none", marker="o", markersize=10,
                               markeredgewidth=2, markeredgecolor="#555555",
                               markerfacecolor="white"),
                        "hollow: a sole winner the model does not pick"))  # fmt: skip
    if any(not c.decided for c in cells):
        few = sum(1 for c in cells if c.rps is not None and not c.rps.known)
        handles.append((Line2D([], [], linestyle="none", marker="o", markersize=10,
                               markeredgewidth=2, markeredgecolor="#555555",
                               markerfacecolor="none"),
                        _tie_label(few, sum(1 for c in cells if not c.decided))))  # fmt: skip
    ax.set_yscale("log")
    plain_log(ax.yaxis)
    ax.set_ylim(d_grid[0] * 1000, d_grid[-1] * 1000)
    ax.set_xlim(-0.03 * s_max, s_max)
    ax.set_xlabel("CPU share of each request's own time, c / (D + c)", fontsize=11)
    ax.set_ylabel("wait D per request, ms (log)", fontsize=11)
    ax.tick_params(labelsize=10)
    ax.set_title(f"{users} closed-loop users, {int(configs['cores'].median())} cores; "
                 f"p99 within {decision.P99_BOUND_FACTOR:g} x (D + c)", fontsize=10)  # fmt: skip
    fig.legend([h for h, _ in handles], [t for _, t in handles], loc="outside lower center",
               ncols=2, fontsize=10, frameon=False)  # fmt: skip
    return fig


def _tie_label(few: int, ties: int) -> str:
    """What a grey ring means in this run: overlapping intervals, or no interval at all."""
    if few == ties:
        return f"measured tie: under {stats.MIN_REPEATS} repeats, no interval, no winner"
    if few:
        return f"measured tie: intervals overlap ({few} cells under {stats.MIN_REPEATS} repeats)"
    return "measured tie: the intervals overlap"


def _ideal(config_row, users: int, delay_s: float, work_s: float) -> float:
    return model.ideal_rps(users, float(config_row["capacity"]), delay_s, work_s,
                           float(config_row["parallel"]), float(config_row["cores"]))  # fmt: skip


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
    # a fault's own doing (a killed worker, slow clients holding some) is not the spread
    faults = {s.name for s in faulting()}
    data = (summary[(summary["workers"] > 1) & summary["busiest_share"].notna()
                    & ~summary["scenario"].isin(faults)] if has else None)  # fmt: skip
    fig = Figure(figsize=(11, 4.8), layout="constrained")
    ax = fig.subplots()
    title = "Who answered: the busiest and idlest worker's share of each point's answers"
    if has and summary["scenario"].isin(faults).any():
        title += "\n(fault scenarios left out: a kill or slow clients skew it by design)"
    ax.set_title(title)
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
        ax.plot([x - 0.4, x + 0.4], [even, even], color=REFERENCE, **IDEAL,
                label="even share 1 / N" if x == 0 else None)  # fmt: skip
        ax.annotate(f"{len(rows)} points", (x, 1.02), ha="center", fontsize=8)
    ticks = [f"{c} (N = {int(data[data['config'] == c]['workers'].iloc[0])})" for c in configs]
    ax.set_xticks(range(len(configs)), ticks, fontsize=8, rotation=20, ha="right")
    ax.set_xlim(-0.6, len(configs) - 0.4)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("share of the point's ok answers")
    ax.grid(True, axis="y", alpha=0.3)
    shapes = [  # the legend in grey: each config's points wear its own colour
        (Line2D([], [], linestyle="none", marker="o", color="grey"), "busiest worker"),
        (Line2D([], [], linestyle="none", marker="o", markerfacecolor="none",
                markeredgecolor="grey"), "idlest worker"),
        (Line2D([], [], color=REFERENCE, **IDEAL), "even share 1 / N"),
    ]  # fmt: skip
    ax.legend([h for h, _ in shapes], [t for _, t in shapes], loc="upper left",
              bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)  # fmt: skip
    return fig
