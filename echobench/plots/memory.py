"""Memory: what each way of waiting costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from echobench import derived
from echobench.plots.common import INVALID, empty_panel, invalid_handle, legend_outside, plain_log
from echobench.plots.registry import chart
from echobench.style import FAMILY_COLORS, config_colors, ordered_configs


@chart(
    "memory",
    40,
    applies=lambda s: not derived.loaded(s, sampled=False).empty,
    note=(
        "Left: total server PSS (all processes, shared pages split fairly) against the number"
        " of sync workers, beside single-process servers. Right: peak PSS divided by the "
        "requests in flight at each config's busiest point."
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
        left.set_xticks(per_n["workers"], [str(w) for w in per_n["workers"]])
        left.set_xlim(left=0)
        left.set_xlabel("gunicorn sync workers N (linear: each worker adds its own memory)")
        left.set_ylabel("server PSS (MB)")
        left.set_ylim(bottom=0)
        left.grid(True, alpha=0.3)
        left.set_title("Total server memory")
        legend_outside(left, [invalid_handle()] if len(bad) else [])
    if loaded.empty:
        empty_panel(right, "no loaded points in this run")
        return fig
    busiest = derived.fullest_points(summary)
    busiest = busiest.set_index("config").loc[ordered_configs(busiest["config"])].reset_index()
    y = np.arange(len(busiest))[::-1]
    right.barh(y, busiest["per_request"], color=[colors[c] for c in busiest["config"]], height=0.6)
    for yi, row in zip(y, busiest.itertuples(), strict=True):
        right.text(
            row.per_request,
            yi,
            f"  {row.per_request:.2f} MB ({row.server_pss_peak_mb:.0f} MB / "
            f"{row.in_flight:.0f} in flight, {row.scenario} C={row.users})",
            va="center",
            fontsize=8,
        )
        if not row.valid:
            right.scatter([row.per_request], [yi], **INVALID)
    right.set_yticks(y, busiest["config"], fontsize=8)
    right.set_xscale("log")
    plain_log(right.xaxis)
    right.set_xlim(busiest["per_request"].min() / 2, busiest["per_request"].max() * 20)
    right.set_xlabel("peak server PSS / requests in flight (MB per request, log scale)")
    right.set_title("Memory per request in flight (each config's fullest point)")
    return fig
