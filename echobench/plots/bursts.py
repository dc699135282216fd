"""Bursts: the classic n simultaneous requests, and bursts of growing size."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from echobench import costs, derived, model, stats, style
from echobench.plots.common import (
    IDEAL,
    INVALID,
    empty_panel,
    invalid_handle,
    legend_outside,
    new_figure,
    plain_log,
    scale_points,
)
from echobench.plots.registry import chart, has
from echobench.scenarios.burst import BURST
from echobench.style import MODEL, REFERENCE, config_colors, ordered_configs


@chart(
    "burst_makespan",
    10,
    applies=has(BURST),
    note=(
        "Dots: measured time from the first request sent to the last answer, one per repeat, "
        "with the median [range] written beside them (a log axis, so dots, never bars: a "
        "bar's length on it would not be its value); dashed tick: the model's ceil(n/K) x D. "
        "A dot on its tick is ideal."
    ),
)
def burst_makespan(summary: pd.DataFrame, colors=None, run=None, ax=None) -> Figure:
    """Measured makespan per burst point beside the model's ceil(n/K) * D."""
    own = ax is None  # a figure of its own grows with its rows; a given panel does not
    fig, ax = new_figure(ax)
    data = BURST.rows(summary).dropna(subset=["ideal_makespan_s"]).copy()
    ax.set_title("Burst: time to answer n simultaneous requests (lower is better)")
    if data.empty:  # none, or none that was measured at all (its note says why)
        empty_panel(ax, "no measured burst point in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    order = ordered_configs(data["config"])
    data["_order"] = data["config"].map(order.index)
    data = data.sort_values(["users", "_order"], ascending=[False, True])
    # one row per point, its repeats as dots on it: rows stay readable at 3 repeats
    key = ["users", "_order", "config", "delay_s"] + [c for c in ("io", "pool") if c in data]
    points = list(data.groupby(key, sort=False, dropna=False))
    if own:
        fig.set_size_inches(9, max(5.0, 0.42 * len(points) + 1.6))
    markers = style.line_styles(data["config"])
    y = np.arange(len(points))[::-1]
    labels = []
    for yi, (_, rows) in zip(y, points, strict=True):
        first = rows.iloc[0]
        config, ideal = first["config"], first["ideal_makespan_s"]
        waited = ", db" if first.get("io") == "db" else ""
        if waited and pd.notna(first.get("pool")):
            waited += f", pool {first['pool']:g}"
        labels.append(f"{config}\nn={first['users']}, D={first['delay_s']:g} s{waited}")
        measured = rows["makespan_s"].dropna()
        ax.plot(measured, [yi] * len(measured), linestyle="none", markersize=8, alpha=0.85,
                marker=markers[config]["marker"], color=colors[config])  # fmt: skip
        ax.plot([ideal] * 2, [yi - 0.4, yi + 0.4], color=REFERENCE, **IDEAL)
        if len(measured):
            span = stats.median_interval(measured)
            said = (f"  {span.text('{:.3f}')} s (ideal {ideal:g} s, eff "
                    f"{rows['efficiency'].median():.2f})")  # fmt: skip
        else:
            said = f"  no makespan: {rows['unfinished'].sum():.0f} unfinished"
        ax.text(max(measured.max() if len(measured) else 0, ideal), yi, said, va="center",
                fontsize=8)  # fmt: skip
        bad = rows[~rows["valid"].astype(bool)]
        if len(bad):
            ax.scatter(bad["makespan_s"].fillna(ideal), [yi] * len(bad), **INVALID)
    ax.grid(True, axis="x", which="major", alpha=0.3)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xscale("log")
    plain_log(ax.xaxis)
    top = np.nanmax([data["makespan_s"].max(), data["ideal_makespan_s"].max()])
    ax.set_xlim(data["delay_s"].min() * 0.5, top * 8)
    ax.set_xlabel("makespan: first request sent to last answer (s, log scale; a dot per repeat)")
    legend_outside(
        ax, [(Line2D([], [], color=REFERENCE, **IDEAL), "ideal ceil(n/K) x D"), invalid_handle()]
    )
    return fig


def _memory_fit(ax, rows: pd.DataFrame, color, line_style: dict) -> None:
    """One config's peak PSS against its requests in flight, each repeat a dot, and the
    least-squares line whose slope (with its interval) is the cost of one more."""
    held = derived.with_in_flight(rows).dropna(subset=["server_pss_peak_mb"])
    if held.empty:
        return
    config = held["config"].iloc[0]
    fitted = costs.fit(held["in_flight"], held["server_pss_peak_mb"])
    label = f"{config}: {fitted.text()} per request" if fitted else f"{config} (no fit)"
    ax.scatter(held["in_flight"], held["server_pss_peak_mb"], color=color, s=22,
               marker=line_style.get("marker", "o"), label=label, zorder=3)  # fmt: skip
    if fitted:
        xs = np.array([0.0, float(held["in_flight"].max())])
        ax.plot(xs, fitted.intercept + fitted.slope * xs, color=color, linewidth=1.2, alpha=0.7)


@chart(
    "scale_makespan",
    70,
    applies=lambda s: not scale_points(s).empty,
    note=(
        "Bursts of growing size: measured makespan, the model's ceil(n/K) x D (dashed) and "
        "the physical floor D + n / R0 (dotted), where R0 is the config's calibrated "
        "zero-delay capacity on this machine (the median of its calibration samples; the "
        "shaded band spans them all), and the send spread (dash-dot): how long the release "
        "took. Right: the server's peak PSS against the requests it held (min(n, K)), each "
        "repeat a dot, with the least-squares line and its slope: the MB each added request "
        "in flight costs, with its 95% interval (costs.py)."
    ),
)
def scale_makespan(summary: pd.DataFrame, colors=None, run=None) -> Figure:
    """Burst makespan against burst size: the model's ceil(n/K) x D and the floor D + n/R0."""
    fig = Figure(figsize=(13, 5), layout="constrained")
    left, right = fig.subplots(1, 2)
    fig.suptitle("Scale: bursts of n simultaneous requests")
    data = scale_points(summary)
    if data.empty:
        for ax in (left, right):
            empty_panel(ax, "no burst-size sweep in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    calibration = (run or {}).get("calibration") or {}
    r0 = calibration.get("r0_rps", {})
    r0_range = calibration.get("r0_rps_range", {})  # runs that keep every sample
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
        left.plot(d["users"], d["ideal_makespan_s"], color=MODEL, **IDEAL)
        spread = data[data["config"] == config].groupby("users")["send_spread_ms"].median()
        if spread.notna().any():  # how much of "simultaneous" was the client's own
            left.plot(spread.index, spread / 1000, color=colors[config], linestyle="-.",
                      linewidth=1.0)  # fmt: skip
        if config in r0:
            left.plot(
                d["users"],
                model.burst_floor_s(d["users"], d["delay_s"], r0[config]),
                color=colors[config],
                linestyle=":",
                linewidth=1.5,
            )
        low, high = r0_range.get(config, (None, None))
        if low and high and high > low:  # the floor as a band over every calibration sample
            left.fill_between(d["users"], model.burst_floor_s(d["users"], d["delay_s"], high),
                              model.burst_floor_s(d["users"], d["delay_s"], low),
                              color=colors[config], alpha=0.15, linewidth=0)  # fmt: skip
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
        _memory_fit(right, data[data["config"] == config], colors[config], styles[config])
    sampled = (data["server_pss_peak_mb"] > 0).any()
    left.set_xscale("log")
    left.set_yscale("log")
    plain_log(left.xaxis)
    plain_log(left.yaxis)
    left.set_xlabel("simultaneous requests n (log scale)")
    left.grid(True, which="major", alpha=0.3)
    left.set_ylabel("seconds (log scale): makespan, and the spread of its sends")
    left.set_title("Makespan")
    if sampled:
        right.set_xlim(left=0)
        right.set_ylim(bottom=0)
        right.set_xlabel("requests in flight, min(n, K) (linear)")
        right.set_ylabel("peak server PSS, MB (linear)")
        right.set_title("What each request in flight costs (fitted)")
        right.grid(True, alpha=0.3)
        right.legend(fontsize=8, loc="upper left")
    else:  # bursts too short for a memory sample: say so rather than draw nothing
        right.clear()
        empty_panel(right, "no memory sample fell inside these bursts")
    extra = [
        (
            Line2D([], [], color="grey", **IDEAL),
            "grey dashed, beside each config:\nthe ideal ceil(n/K) x D",
        ),
        (
            Line2D([], [], color="grey", linestyle=":"),
            "floor D + n / R0\n(median R0; band: every\ncalibration sample)"
            if r0_range
            else "floor D + n / R0\n(R0 calibrated)",
        ),
        *(
            [(Line2D([], [], color="grey", linestyle="-."), "send spread: first to\nlast send (s)")]
            if data["send_spread_ms"].notna().any()
            else []
        ),
        invalid_handle(),
    ]
    legend_outside(left, extra)
    return fig
