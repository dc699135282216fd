"""A real database behind the wait: sleep against db, and what the real I/O costs."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from echobench import derived, style
from echobench.plots.common import INVALID, empty_panel, invalid_handle, plain_log
from echobench.plots.registry import chart
from echobench.scenarios.burst import BURST
from echobench.scenarios.steady import STEADY
from echobench.style import REFERENCE, config_colors, ordered_configs

DB_HATCH = "///"
POSTGRES = {"facecolor": "white", "edgecolor": "dimgrey", "hatch": "xxx", "linewidth": 0.5}
# (scenario, measured column, model column, y label, log scale)
PANELS = [
    (BURST, "makespan_s", "ideal_makespan_s", "burst makespan, s (log)", True),
    (STEADY, "rps", "ideal_rps", "answers per second", False),
    (STEADY, "p99_ms", "ideal_latency_ms", "p99 latency, ms (log)", True),
]


def _variants(data: pd.DataFrame) -> pd.DataFrame:
    """One row per (config, load, way of waiting): repeats collapse to their median."""
    data = data.assign(way=[derived.way_label(r) for _, r in data.iterrows()],
                       pool_order=data["pool"].fillna(0))  # fmt: skip
    keys = ["config", "users", "delay_s", "way", "io", "pool_order"]
    numeric = [c for _, c, m, _, _ in PANELS for c in (c, m)]
    numeric += ["capacity", "server_cpu_ms_per_request", "db_cpu_ms_per_request"]
    agg = {c: "median" for c in dict.fromkeys(numeric) if c in data}
    agg["valid"] = "all"
    return data.groupby(keys, as_index=False).agg(agg)


def _slots(data: pd.DataFrame) -> list[tuple[str, pd.Series]]:
    """Bars in reading order: config by config, sleep first, then pools from small up."""
    order = {c: i for i, c in enumerate(ordered_configs(data["config"]))}
    ranked = data.assign(_c=data["config"].map(order), _io=(data["io"] == "db").astype(int))
    ranked = ranked.sort_values(["_c", "users", "_io", "pool_order"])
    return [(row["config"], row) for _, row in ranked.iterrows()]


def _dots(ax, rows, measured: str, ideal: str, colors: dict, load: str) -> None:
    """One dot per variant (filled: sleep, hollow: db): dots, because panels may be log."""
    markers = style.line_styles([config for config, _ in rows])
    for x, (config, row) in enumerate(rows):
        db = row["io"] == "db"
        ax.plot(x, row[measured], linestyle="none", marker=markers[config]["marker"],
                markersize=9, markeredgewidth=1.5, markeredgecolor=colors[config],
                markerfacecolor="white" if db else colors[config])  # fmt: skip
        if pd.notna(row.get(ideal)):
            ax.plot([x - 0.42, x + 0.42], [row[ideal]] * 2, color=REFERENCE, linestyle="--",
                    linewidth=1.3)  # fmt: skip
        if not row["valid"]:
            ax.scatter([x], [row[measured]], **INVALID)
    labels = [f"{config}\n{row['way']}, {load}={int(row['users'])}" for config, row in rows]
    ax.set_xticks(range(len(rows)), labels, fontsize=7, rotation=55, ha="right")
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.grid(True, axis="y", alpha=0.3)


@chart(
    "sleep_vs_db",
    120,
    applies=lambda s: (s["io"] == "db").any(),
    note=(
        "Each config waits D either by sleeping (filled dot) or by one `SELECT pg_sleep(D)` "
        "on PostgreSQL through a connection pool per process (hollow dot; the pool size is "
        "under it). Dashed tick: the model with K = min(the server's slots, N x pool, "
        "max_connections). A pool smaller than the load is a slot limit of its own."
    ),
    every_point=True,
)
def sleep_vs_db(summary: pd.DataFrame, colors=None, run=None) -> Figure:
    """Per config: the burst's makespan, the steady rate and its p99, waiting by sleep
    and by one PostgreSQL query through pools of each size, with the model's tick."""
    fig = Figure(figsize=(17, 6.2), layout="constrained")
    axes = fig.subplots(1, len(PANELS))
    fig.suptitle("A real database behind the wait: sleep (filled) against one PostgreSQL query "
                 "through a connection pool per process (hollow)\ndashed tick: the model with "
                 "K = min(the server's slots, N x pool, max_connections)")  # fmt: skip
    colors = colors or config_colors(summary["config"])
    for ax, (scenario, measured, ideal, label, log) in zip(axes, PANELS, strict=True):
        data = scenario.rows(summary)
        if not (data["io"] == "db").any():
            empty_panel(ax, f"no {scenario.name} point with io = db in this run")
            continue
        rows = _slots(_variants(data))
        _dots(ax, rows, measured, ideal, colors, scenario.load_symbol)
        delays = sorted(data["delay_s"].unique())
        ax.set_title(f"{scenario.name}, D = {', '.join(f'{1000 * d:g}' for d in delays)} ms",
                     fontsize=10)  # fmt: skip
        ax.set_ylabel(label)
        if log:
            ax.set_yscale("log")
            plain_log(ax.yaxis)
    legend = [
        (Line2D([], [], linestyle="none", marker="o", color="grey", markersize=8), "sleep"),
        (Line2D([], [], linestyle="none", marker="o", markerfacecolor="white",
                markeredgecolor="grey", markersize=8), "db: SELECT pg_sleep(D)"),
        (Line2D([], [], color=REFERENCE, linestyle="--"),
         "model: makespan, rate, and latency C / X (a mean, under p99)"),
    ]  # fmt: skip
    if not summary["valid"].all():
        legend.append(invalid_handle())
    fig.legend(*zip(*legend, strict=True), loc="outside lower center", ncols=len(legend),
               fontsize=8, frameon=False)  # fmt: skip
    return fig


@chart(
    "db_cpu",
    130,
    applies=lambda s: (STEADY.rows(s)["io"] == "db").any(),
    note=(
        "CPU milliseconds per answer over each steady window: the server's processes (colour;"
        " hatched with the database) and PostgreSQL's postmaster and backends (crossed, on "
        "top). The difference between a config's sleep bar and its db bar is what the driver,"
        " the pool and the query cost it."
    ),
    every_point=True,
)
def db_cpu(summary: pd.DataFrame, colors=None, run=None) -> Figure:
    """CPU milliseconds each answer cost, in the server's processes and in PostgreSQL's,
    sleep against db: what the driver, the pool and the query add on top of the wait."""
    fig = Figure(figsize=(12, 5.2), layout="constrained")
    ax = fig.subplots()
    ax.set_title(
        "What the real I/O costs: CPU ms per answered request, steady points\n"
        "in the server's processes (colour) and in PostgreSQL's (crossed, on top)"
    )
    data = STEADY.rows(summary).dropna(subset=["server_cpu_s", "rps"])
    if not (data["io"] == "db").any():
        empty_panel(ax, "no steady point with io = db in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    rows = _slots(_variants(derived.with_cpu_per_request(data)))
    for x, (config, row) in enumerate(rows):
        db = row["io"] == "db"
        server = row["server_cpu_ms_per_request"]
        ax.bar(x, server, width=0.8, color=colors[config], alpha=0.55 if db else 0.9,
               hatch=DB_HATCH if db else None, edgecolor="black", linewidth=0.5)  # fmt: skip
        postgres = row.get("db_cpu_ms_per_request")
        if db and pd.notna(postgres):
            ax.bar(x, postgres, bottom=server, width=0.8, **POSTGRES)
        total = server + (postgres if db and pd.notna(postgres) else 0.0)
        ax.annotate(f"{total:.2f}", (x, total), ha="center", va="bottom", fontsize=7)
        if not row["valid"]:
            ax.scatter([x], [server], **INVALID)
    labels = [f"{config}\n{row['way']}, C={int(row['users'])}" for config, row in rows]
    ax.set_xticks(range(len(rows)), labels, fontsize=7, rotation=55, ha="right")
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_ylabel("CPU ms per answered request")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(handles=[
        Patch(facecolor="lightgrey", edgecolor="black", label="server, sleep"),
        Patch(facecolor="lightgrey", edgecolor="black", hatch=DB_HATCH, label="server, db"),
        Patch(**POSTGRES, label="PostgreSQL (embedded): postmaster and backends"),
    ], loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)  # fmt: skip
    return fig
