"""Charts of one run: pure functions from the tidy summary to a matplotlib Figure.

They never save or show; the caller does. Figures are built with matplotlib's object
API (no pyplot state), so nothing needs closing and any backend or notebook works.
Every chart draws the queueing model's ideal dashed, marks invalid points with a red
cross, labels units, and gives each config the same colour everywhere.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from echobench import derived, model, style
from echobench.style import config_colors, k_label, ordered_configs

INVALID, IDEAL = style.INVALID, style.IDEAL


def _plain_log(axis) -> None:
    """Log scale with ticks at 1, 2, 5 x 10^k written as plain numbers."""
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _figure(ax, size=(9, 5)):
    if ax is None:
        fig = Figure(figsize=size, layout="constrained")
        ax = fig.subplots()
        return fig, ax
    return ax.figure, ax


def _legend_outside(ax, extra: list | None = None) -> None:
    handles, labels = ax.get_legend_handles_labels()
    for handle, label in extra or []:
        handles.append(handle)
        labels.append(label)
    ax.legend(
        handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
    )


def _invalid_handle():
    return (
        Line2D([], [], marker="x", color="red", linestyle="none", markersize=8),
        "invalid point",
    )


def _empty(ax, message: str):
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_axis_off()


def burst_makespan(summary: pd.DataFrame, colors=None, ax=None) -> Figure:
    """Measured makespan per burst point beside the model's ceil(n/K) * D."""
    fig, ax = _figure(ax)
    data = summary[summary["scenario"] == "burst"].copy()
    ax.set_title("Burst: time to answer n simultaneous requests (lower is better)")
    if data.empty:
        _empty(ax, "no burst points in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    order = ordered_configs(data["config"])
    data["_order"] = data["config"].map(order.index)
    data = data.sort_values(["users", "_order"], ascending=[False, True]).reset_index(drop=True)
    y = np.arange(len(data))[::-1]
    labels = [f"{r.config}\nn={r.users}, D={r.delay_s:g} s" for r in data.itertuples()]
    measured = data["makespan_s"].fillna(data["ideal_makespan_s"] * 0)
    ax.barh(
        y,
        measured,
        color=[colors[c] for c in data["config"]],
        height=0.6,
        label="measured makespan",
    )
    for yi, row in zip(y, data.itertuples(), strict=True):
        ax.plot([row.ideal_makespan_s] * 2, [yi - 0.4, yi + 0.4], color="black", **IDEAL)
        if pd.notna(row.makespan_s):
            eff = (
                f"  {row.makespan_s:.3f} s "
                f"(ideal {row.ideal_makespan_s:g} s, eff {row.efficiency:.2f})"
            )
        else:
            eff = f"  no makespan: {row.unfinished} unfinished"
        ax.text(
            max(row.makespan_s if pd.notna(row.makespan_s) else 0, row.ideal_makespan_s),
            yi,
            eff,
            va="center",
            fontsize=8,
        )
        if not row.valid:
            ax.scatter(
                [row.makespan_s if pd.notna(row.makespan_s) else row.ideal_makespan_s],
                [yi],
                **INVALID,
            )
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xscale("log")
    _plain_log(ax.xaxis)
    top = np.nanmax([data["makespan_s"].max(), data["ideal_makespan_s"].max()])
    ax.set_xlim(data["delay_s"].min() * 0.5, top * 6)
    ax.set_xlabel("makespan: first request sent to last answer (s, log scale)")
    _legend_outside(
        ax, [(Line2D([], [], color="black", **IDEAL), "ideal ceil(n/K) x D"), _invalid_handle()]
    )
    return fig


def _steady(summary: pd.DataFrame, exclude_single: bool = True) -> pd.DataFrame:
    data = summary[summary["scenario"] == "steady"]
    if exclude_single:  # configs measured at one load level only belong to the memory chart
        levels = data.groupby("config")["users"].nunique()
        data = data[data["config"].isin(levels[levels > 1].index)]
    return data


def _median_by_point(data: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Repeats collapse to their median; a group is valid only if all its repeats are."""
    agg = {c: "median" for c in columns}
    agg.update(valid="all", capacity="first", delay_s="first")
    return data.groupby(["config", "users"], as_index=False).agg(agg)


def throughput_vs_users(summary: pd.DataFrame, colors=None, ax=None) -> Figure:
    """Steady closed-loop throughput per config against min(C, K) / D."""
    fig, ax = _figure(ax)
    ax.set_title("Steady load: throughput vs concurrent users (closed loop)")
    data = _steady(summary)
    if data.empty:
        _empty(ax, "no steady sweep in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    points = _median_by_point(data, ["rps", "ideal_rps"])
    styles = style.line_styles(points["config"])
    for config in ordered_configs(points["config"]):
        d = points[points["config"] == config].sort_values("users")
        ax.plot(d["users"], d["rps"], color=colors[config], label=config, **styles[config])
        ax.plot(d["users"], d["ideal_rps"], color=colors[config], **IDEAL)
        bad = d[~d["valid"]]
        if len(bad):
            ax.scatter(bad["users"], bad["rps"], **INVALID)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    _plain_log(ax.yaxis)
    ax.set_xticks(
        sorted(points["users"].unique()), [str(u) for u in sorted(points["users"].unique())]
    )
    delay = points["delay_s"].iloc[0]
    ax.set_xlabel(f"concurrent users C (log scale; each request waits D = {delay:g} s)")
    ax.set_ylabel("answered requests per second (log scale)")
    ax.grid(True, which="major", alpha=0.3)
    _legend_outside(
        ax, [(Line2D([], [], color="grey", **IDEAL), "ideal min(C, K) / D"), _invalid_handle()]
    )
    return fig


def latency_vs_users(summary: pd.DataFrame, colors=None) -> Figure:
    """p50 and p99 latency per config against D * max(1, C / K); D marked."""
    fig = Figure(figsize=(12, 5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    fig.suptitle("Steady load: latency vs concurrent users (closed loop)")
    data = _steady(summary)
    if data.empty:
        for ax in axes:
            _empty(ax, "no steady sweep in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    points = _median_by_point(data, ["p50_ms", "p99_ms", "ideal_latency_ms"])
    delay_ms = points["delay_s"].iloc[0] * 1000
    styles = style.line_styles(points["config"])
    for ax, col, name in zip(axes, ["p50_ms", "p99_ms"], ["median (p50)", "p99"], strict=True):
        for config in ordered_configs(points["config"]):
            d = points[points["config"] == config].sort_values("users")
            ax.plot(d["users"], d[col] / 1000, color=colors[config], label=config, **styles[config])
            ax.plot(d["users"], d["ideal_latency_ms"] / 1000, color=colors[config], **IDEAL)
            bad = d[~d["valid"]]
            if len(bad):
                ax.scatter(bad["users"], bad[col] / 1000, **INVALID)
        ax.axhline(delay_ms / 1000, color="black", linewidth=0.8)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        _plain_log(ax.yaxis)
        users = sorted(points["users"].unique())
        ax.set_xticks(users, [str(u) for u in users])
        ax.set_title(f"{name} latency (black line: D = {delay_ms / 1000:g} s)")
        ax.set_xlabel("concurrent users C (log scale)")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("latency (s, log scale)")
    _legend_outside(
        axes[1],
        [(Line2D([], [], color="grey", **IDEAL), "ideal D x max(1, C/K)"), _invalid_handle()],
    )
    return fig


def open_loop_latency(summary: pd.DataFrame, colors=None) -> Figure:
    """Latency from the intended send time against the offered arrival rate (open loop)."""
    fig = Figure(figsize=(12, 5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    fig.suptitle("Open loop: latency vs offered arrival rate (measured from intended send time)")
    data = summary[summary["scenario"] == "open"]
    if data.empty:
        for ax in axes:
            _empty(ax, "no open-loop points in this run")
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
        _plain_log(ax.yaxis)
        ax.set_title(f"{name} latency (black line: D = {delay:g} s)")
        ax.set_xlabel("offered arrival rate (requests per second)")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("latency from intended send time (s, log scale)")
    _legend_outside(
        axes[1],
        [
            (
                Line2D([], [], color="grey", **IDEAL),
                "capacity K / D\n(latency grows without\nbound past it)",
            ),
            _invalid_handle(),
        ],
    )
    return fig


def _scale_points(summary: pd.DataFrame) -> pd.DataFrame:
    bursts = summary[summary["scenario"] == "burst"]
    sizes = bursts.groupby("config")["users"].nunique()
    return bursts[bursts["config"].isin(sizes[sizes > 1].index)]


def scale_makespan(summary: pd.DataFrame, calibration: dict | None = None, colors=None) -> Figure:
    """Burst makespan against burst size: the model's ceil(n/K) x D and the floor D + n/R0."""
    fig = Figure(figsize=(13, 5), layout="constrained")
    left, right = fig.subplots(1, 2)
    fig.suptitle("Scale: bursts of n simultaneous requests")
    data = _scale_points(summary)
    if data.empty:
        for ax in (left, right):
            _empty(ax, "no burst-size sweep in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    r0 = (calibration or {}).get("r0_rps", {})
    styles = style.line_styles(data["config"])
    for config in ordered_configs(data["config"]):
        d = (
            data[data["config"] == config]
            .groupby("users", as_index=False)
            .agg(
                makespan_s=("makespan_s", "median"),
                ideal_makespan_s=("ideal_makespan_s", "first"),
                pss=("server_pss_peak_mb", "median"),
                capacity=("capacity", "first"),
                delay_s=("delay_s", "first"),
                failed=("failed", "sum"),
                timeouts=("timeouts", "sum"),
                unfinished=("unfinished", "sum"),
                valid=("valid", "all"),
            )
        )
        left.plot(d["users"], d["makespan_s"], color=colors[config], label=config, **styles[config])
        left.plot(d["users"], d["ideal_makespan_s"], color=colors[config], **IDEAL)
        if config in r0:
            left.plot(
                d["users"],
                model.burst_floor_s(d["users"], d["delay_s"], r0[config]),
                color=colors[config],
                linestyle=":",
                linewidth=1.5,
            )
        for row in d.itertuples():
            lost = row.failed + row.timeouts + row.unfinished
            if lost:
                left.annotate(
                    f"{lost:.0f} lost",
                    (row.users, row.makespan_s or row.ideal_makespan_s),
                    fontsize=7,
                    color="red",
                    xytext=(3, 3),
                    textcoords="offset points",
                )
        bad = d[~d["valid"]]
        if len(bad):
            left.scatter(bad["users"], bad["makespan_s"], **INVALID)
        in_flight_n = derived.with_in_flight(d)["in_flight"]
        right.plot(
            d["users"], d["pss"] / in_flight_n, color=colors[config], label=config, **styles[config]
        )
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log(ax.xaxis)
        _plain_log(ax.yaxis)
        ax.set_xlabel("simultaneous requests n (log scale)")
        ax.grid(True, which="major", alpha=0.3)
    left.set_ylabel("makespan (s, log scale)")
    left.set_title("Makespan")
    right.set_ylabel("peak server PSS / requests in flight (MB, log scale)")
    right.set_title("Memory per in-flight request")
    extra = [
        (Line2D([], [], color="grey", **IDEAL), "ideal ceil(n/K) x D"),
        (Line2D([], [], color="grey", linestyle=":"), "floor D + n / R0\n(R0 calibrated)"),
        _invalid_handle(),
    ]
    _legend_outside(left, extra)
    return fig


def memory(summary: pd.DataFrame, colors=None) -> Figure:
    """Server PSS vs sync worker count beside one async process; MB per in-flight request."""
    fig = Figure(figsize=(13, 5), layout="constrained")
    left, right = fig.subplots(1, 2)
    fig.suptitle("Memory: what each way of waiting costs (server PSS, all processes)")
    colors = colors or config_colors(summary["config"])
    loaded = derived.loaded(summary)
    per_n = derived.sync_workers(summary)
    if per_n.empty:
        _empty(left, "no flask-sync-N steady points in this run")
    else:
        left.plot(
            per_n["workers"],
            per_n["idle"],
            marker="o",
            color="tab:brown",
            label="flask-sync-N idle",
        )
        left.plot(
            per_n["workers"],
            per_n["peak"],
            marker="s",
            color="tab:red",
            label="flask-sync-N peak under load",
        )
        slope = derived.idle_pss_per_worker_mb(per_n)
        if slope is not None:
            left.annotate(
                f"about {slope:.1f} MB more per worker",
                (0.35, 0.9),
                xycoords="axes fraction",
                fontsize=9,
            )
        bad = per_n[~per_n["valid"]]
        if len(bad):
            left.scatter(bad["workers"], bad["peak"], **INVALID)
        for config in ordered_configs(derived.single_process_event_loops(summary)):
            d = loaded[loaded["config"] == config]
            if len(d):
                busiest = d.loc[d["users"].idxmax()]
                left.axhline(
                    d["server_pss_idle_mb"].median(),
                    color=colors.get(config, "grey"),
                    linestyle=":",
                    label=f"{config} idle (1 process)",
                )
                left.axhline(
                    busiest["server_pss_peak_mb"],
                    color=colors.get(config, "grey"),
                    label=f"{config} peak, {int(busiest['users'])} in flight",
                )
        left.set_xscale("log", base=2)
        left.set_xticks(per_n["workers"], [str(w) for w in per_n["workers"]])
        left.set_xlabel("gunicorn sync workers N (log scale)")
        left.set_ylabel("server PSS (MB)")
        left.set_ylim(bottom=0)
        left.grid(True, alpha=0.3)
        left.set_title("Total server memory")
        _legend_outside(left, [_invalid_handle()])
    if loaded.empty:
        _empty(right, "no loaded points in this run")
        return fig
    busiest = derived.with_in_flight(loaded)
    busiest = busiest.sort_values("in_flight").groupby("config").tail(1)
    busiest = busiest.assign(per_request=busiest["server_pss_peak_mb"] / busiest["in_flight"])
    busiest = busiest.set_index("config").loc[ordered_configs(busiest["config"])].reset_index()
    y = np.arange(len(busiest))[::-1]
    right.barh(y, busiest["per_request"], color=[colors[c] for c in busiest["config"]], height=0.6)
    for yi, row in zip(y, busiest.itertuples(), strict=True):
        right.text(
            row.per_request,
            yi,
            f"  {row.per_request:.2f} MB ({row.server_pss_peak_mb:.0f} MB / "
            f"{row.in_flight:.0f} in flight)",
            va="center",
            fontsize=8,
        )
        if not row.valid:
            right.scatter([row.per_request], [yi], **INVALID)
    right.set_yticks(y, busiest["config"], fontsize=8)
    right.set_xscale("log")
    _plain_log(right.xaxis)
    right.set_xlim(busiest["per_request"].min() / 2, busiest["per_request"].max() * 20)
    right.set_xlabel("peak server PSS / requests in flight (MB per request, log scale)")
    right.set_title("Memory per in-flight request, at each config's busiest point")
    return fig


def head_of_line(summary: pd.DataFrame, colors=None, ax=None) -> Figure:
    """Latency of the fast page while slow echoes keep the server busy (mixed)."""
    fig, ax = _figure(ax, size=(10, 5))
    ax.set_title("Head-of-line blocking: a fast page while slow requests are in flight")
    data = summary[summary["scenario"] == "mixed"].dropna(subset=["fast_p50_ms"])
    if data.empty:
        _empty(ax, "no mixed points in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    data = data.groupby(["config", "users"], as_index=False).agg(
        fast_p50_ms=("fast_p50_ms", "median"),
        fast_p99_ms=("fast_p99_ms", "median"),
        fast_ok=("fast_ok", "sum"),
        capacity=("capacity", "first"),
        delay_s=("delay_s", "first"),
        valid=("valid", "all"),
    )
    data = data.set_index("config").loc[ordered_configs(data["config"])].reset_index()
    x = np.arange(len(data))
    width = 0.38
    ax.bar(
        x - width / 2,
        data["fast_p50_ms"],
        width,
        color=[colors[c] for c in data["config"]],
        label="fast page p50",
    )
    ax.bar(
        x + width / 2,
        data["fast_p99_ms"],
        width,
        color=[colors[c] for c in data["config"]],
        alpha=0.45,
        hatch="//",
        label="fast page p99",
    )
    top = max(data["fast_p99_ms"].max(), data["delay_s"].max() * 1000)
    for xi, row in zip(x, data.itertuples(), strict=True):
        wait_s = model.head_of_line_wait_s(row.users, row.capacity, row.delay_s)
        if wait_s is not None:  # every slot busy: the page waits for C - K + 1 slot releases
            wait = 1000 * wait_s
            ax.plot([xi - 0.45, xi + 0.45], [wait, wait], color="black", **IDEAL)
            top = max(top, wait)
        ax.text(
            xi,
            max(row.fast_p99_ms, 1000 * wait_s if wait_s is not None else 0) * 1.2,
            f"{row.fast_p50_ms:.0f} / {row.fast_p99_ms:.0f} ms\n({row.fast_ok:.0f} pages)",
            ha="center",
            fontsize=8,
        )
        if not row.valid:
            ax.scatter([xi], [row.fast_p99_ms], **INVALID)
    ax.set_ylim(0.5, top * 4)
    delay_ms = data["delay_s"].iloc[0] * 1000
    ax.axhline(delay_ms, color="grey", linewidth=0.8)
    ax.annotate(
        f"slow request's D = {delay_ms / 1000:g} s",
        (0.01, delay_ms),
        xycoords=("axes fraction", "data"),
        va="bottom",
        fontsize=8,
    )
    users = ", ".join(str(u) for u in sorted(data["users"].unique()))
    ticks = [
        f"{r.config}\nK={k_label(r.capacity)}"
        + ("" if model.head_of_line_wait_s(r.users, r.capacity, r.delay_s) else "\nmodel: no wait")
        for r in data.itertuples()
    ]
    ax.set_xticks(x, ticks, fontsize=8)
    ax.set_yscale("log")
    _plain_log(ax.yaxis)
    ax.set_ylabel("fast GET / latency (ms, log scale)")
    ax.set_xlabel(f"config, with {users} users keeping slow echoes in flight")
    _legend_outside(
        ax,
        [
            (
                Line2D([], [], color="black", **IDEAL),
                "model when C >= K: the page waits\nfor C-K+1 slots, (C-K+1) x D / K",
            ),
            _invalid_handle(),
        ],
    )
    return fig


def efficiency_overview(summary: pd.DataFrame) -> Figure:
    """Measured / ideal for every (config, scenario, users) point in one grid."""
    data = summary.dropna(subset=["efficiency"]).copy()
    n_cols = max(1, data[["scenario", "users"]].drop_duplicates().shape[0])
    fig = Figure(
        figsize=(max(7, 1.0 * n_cols + 3), 0.45 * max(4, data["config"].nunique()) + 2),
        layout="constrained",
    )
    ax = fig.subplots()
    ax.set_title("Efficiency: measured / ideal rate for every point (1.00 = the model's ideal)")
    if data.empty:
        _empty(ax, "no point has an efficiency")
        return fig
    load = (
        data["users"]
        .astype(str)
        .radd("C=")
        .where(data["scenario"] != "open", data["offered_rps"].map(lambda r: f"{r:g}/s"))
    )
    data["column"] = data["scenario"] + "\n" + load
    grid = data.groupby(["config", "column"]).agg(
        eff=("efficiency", "median"), valid=("valid", "all")
    )
    rows = ordered_configs(data["config"])
    cols = (
        data[["scenario", "users", "offered_rps", "column"]]
        .drop_duplicates("column")
        .assign(s=lambda d: d["scenario"].map({"burst": 0, "steady": 1, "mixed": 2, "open": 3}))
        .sort_values(["s", "users", "offered_rps"])["column"]
        .tolist()
    )
    values = np.full((len(rows), len(cols)), np.nan)
    for (config, column), cell in grid.iterrows():
        values[rows.index(config), cols.index(column)] = cell["eff"]
    image = ax.imshow(values, cmap="RdYlGn", vmin=0.5, vmax=1.05, aspect="auto")
    for (config, column), cell in grid.iterrows():
        i, j = rows.index(config), cols.index(column)
        mark = "" if cell["valid"] else "\ninvalid"
        ax.text(
            j,
            i,
            f"{cell['eff']:.2f}{mark}",
            ha="center",
            va="center",
            fontsize=8,
            color="black" if cell["valid"] else "darkred",
            fontweight="normal" if cell["valid"] else "bold",
        )
    ax.set_xticks(range(len(cols)), cols, fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_xlabel("scenario and concurrent users (blank: not measured)")
    fig.colorbar(image, ax=ax, label="efficiency (measured / ideal)", shrink=0.8)
    return fig


def _has(scenario: str):
    return lambda summary: (summary["scenario"] == scenario).any()


# name: (draw, whether a run has the data for it)
CHARTS = {
    "burst_makespan": (burst_makespan, _has("burst")),
    "throughput_vs_users": (throughput_vs_users, lambda s: not _steady(s).empty),
    "latency_vs_users": (latency_vs_users, lambda s: not _steady(s).empty),
    "memory": (memory, lambda s: s["scenario"].isin(["steady", "mixed"]).any()),
    "head_of_line": (head_of_line, _has("mixed")),
    "open_loop_latency": (open_loop_latency, _has("open")),
    "scale_makespan": (scale_makespan, lambda s: not _scale_points(s).empty),
    "efficiency": (efficiency_overview, lambda s: s["efficiency"].notna().any()),
}


def all_charts(summary: pd.DataFrame, run: dict | None = None) -> dict[str, Figure]:
    """Every chart this run has data for, sharing one colour map."""
    colors = config_colors(summary["config"])
    charts = {}
    for name, (draw, has_data) in CHARTS.items():
        if not has_data(summary):
            continue
        if name == "efficiency":
            charts[name] = draw(summary)
        elif name == "scale_makespan":
            charts[name] = draw(summary, (run or {}).get("calibration"), colors=colors)
        else:
            charts[name] = draw(summary, colors=colors)
    return charts
