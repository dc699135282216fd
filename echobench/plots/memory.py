"""Memory: what each way of waiting costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from echobench import costs, derived
from echobench.plots.common import INVALID, empty_panel, invalid_handle, legend_outside
from echobench.plots.registry import chart
from echobench.style import FAMILY_COLORS, config_colors, ordered_configs


@chart(
    "memory",
    40,
    applies=lambda s: not derived.loaded(s, sampled=False).empty,
    note=(
        "Left: total server PSS (all processes, shared pages split fairly) against the number"
        " of sync workers, beside single-process servers, with the fitted MB per worker. "
        "Right: the MB each added request in flight costs, the slope of peak PSS over 3 or "
        "more loads of one config with its 95% interval (a least-squares fit); a config "
        "measured at fewer loads has no slope and is not drawn."
    ),
)
def memory(summary: pd.DataFrame, colors=None, run=None) -> Figure:
    """Server PSS vs sync worker count beside one async process; MB per in-flight request."""
    loaded = derived.loaded(summary)
    per_n = derived.sync_workers(summary)
    # The workers panel only where the run measured two or more sync worker counts: a
    # cost per worker needs a slope; never an empty or one-point half.
    by_workers = len(per_n) >= 2
    fig = Figure(figsize=(13, 5) if by_workers else (8, 5), layout="constrained")
    left, right = fig.subplots(1, 2) if by_workers else (None, fig.subplots())
    fig.suptitle("Memory: what each way of waiting costs (server PSS, all processes)")
    colors = colors or config_colors(summary["config"])
    if by_workers:
        left.plot(
            per_n["workers"],
            per_n["idle"],
            marker="o",
            linestyle=":",
            color=FAMILY_COLORS[derived.SYNC_FAMILY],
            label=f"{derived.SYNC_FAMILY} idle",
        )
        left.plot(
            per_n["workers"],
            per_n["peak"],
            marker="s",
            color=FAMILY_COLORS[derived.SYNC_FAMILY],
            label=f"{derived.SYNC_FAMILY} peak under load",
        )
        slope = costs.per_worker(summary).get(derived.SYNC_FAMILY)
        if slope is not None:
            left.annotate(
                f"each worker adds\n{slope.text()}\n(a fit over {slope.loads} counts)",
                (0.03, 0.80),
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
        left.set_xticks(per_n["workers"], [str(w) for w in per_n["workers"]])
        left.set_xlim(left=0)
        left.set_xlabel("gunicorn sync workers N")
        left.set_ylabel("server PSS (MB)")
        left.set_ylim(bottom=0)
        left.grid(True, alpha=0.3)
        left.set_title("Total server memory")
        legend_outside(left, [invalid_handle()] if len(bad) else [])
    fits = costs.per_request(summary)
    if not fits:
        _peaks(right, summary, colors)
        return fig
    names = ordered_configs(fits)
    y = np.arange(len(names))[::-1]
    for yi, config in zip(y, names, strict=True):
        f = fits[config]
        right.errorbar(f.slope, yi, xerr=[[f.slope - f.low], [f.high - f.slope]], fmt="o",
                       color=colors.get(config, "grey"), capsize=4)  # fmt: skip
        right.annotate(f"{f.text()}, {f.loads} loads", (f.high, yi), xytext=(6, 0),
                       textcoords="offset points", va="center", fontsize=8)  # fmt: skip
    right.axvline(0.0, color="grey", linewidth=0.8)
    right.set_yticks(y, names, fontsize=8)
    right.set_ylim(-0.7, len(names) - 0.3)
    hi = max(f.high for f in fits.values())
    right.set_xlim(min(0.0, min(f.low for f in fits.values())) * 1.2, hi * 3.2 if hi > 0 else 1)
    right.set_xlabel("MB of peak PSS per added request in flight\n(linear; bars: 95% interval)")
    right.set_title("What one more request in flight costs (fitted)")
    right.grid(True, axis="x", alpha=0.3)
    return fig


def _peaks(ax, summary: pd.DataFrame, colors: dict) -> None:
    """Without 3 loads of one config no cost per request can be fitted: each config's
    whole-server peak PSS at its fullest point instead, on a linear axis."""
    loaded = derived.with_in_flight(derived.loaded(summary))
    if loaded.empty:
        empty_panel(ax, "no loaded point with a memory sample in this run")
        return
    names = ordered_configs(loaded["config"])
    y = np.arange(len(names))[::-1]
    for yi, config in zip(y, names, strict=True):
        rows = loaded[loaded["config"] == config]
        held = rows["in_flight"].max()
        peak = rows.loc[rows["in_flight"] == held, "server_pss_peak_mb"].median()  # repeats
        ax.plot(peak, yi, "o", color=colors.get(config, "grey"))
        ax.annotate(f"{peak:.0f} MB, {held:.0f} in flight",
                    (peak, yi), xytext=(6, 0),
                    textcoords="offset points", va="center", fontsize=8)  # fmt: skip
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlim(0, loaded["server_pss_peak_mb"].max() * 1.5)
    ax.set_xlabel("peak server PSS, MB (linear)")
    ax.set_title("Whole-server memory at each config's fullest steady point (median of its "
                 "repeats)\n(no config was held at "
                 f"{costs.MIN_LOADS} loads: no cost per request fitted)", fontsize=10)  # fmt: skip
    ax.grid(True, axis="x", alpha=0.3)
