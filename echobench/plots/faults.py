"""When things go wrong: slow clients, overload and a crashed worker (the faults profile)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from echobench import model, stats, style
from echobench.configs import get_config
from echobench.plots.common import empty_panel, legend_outside
from echobench.plots.registry import chart, has
from echobench.scenarios.crash import CRASH
from echobench.scenarios.overload import OVERLOAD
from echobench.scenarios.slow import SLOW
from echobench.style import REFERENCE, config_colors, ordered_configs


def _spans(rows: pd.DataFrame, by: list[str], figure: str) -> pd.DataFrame:
    """Per group: the median of `figure` over its repeats and its interval (the range
    below 6 repeats, stats.median_interval), n, and whether every repeat was valid."""
    out = []
    for key, group in rows.groupby(by, sort=True):
        span = stats.median_interval(group[figure])
        out.append({**dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)),
                    "median": span.median, "low": span.low, "high": span.high, "n": span.n,
                    "valid": bool(group["valid"].all())})  # fmt: skip
    return pd.DataFrame(out)


def _error(d: pd.DataFrame, scale: float = 1.0) -> np.ndarray:
    """Error bar lengths below and above each median (0 where there is no interval)."""
    low = (d["median"] - d["low"]).fillna(0.0).clip(lower=0.0) * scale
    high = (d["high"] - d["median"]).fillna(0.0).clip(lower=0.0) * scale
    return np.vstack([low.to_numpy(), high.to_numpy()])


def _bars(
    ax,
    d: pd.DataFrame,
    configs: list[str],
    groups: list,
    colors: dict,
    scale=1.0,
    fmt: str = "{:.0f}",
    missing: str = "not run",
    zero: str | None = None,
) -> list[str]:
    """Grouped bars on a linear axis from zero: one group per `groups` value, one bar per
    config, each with its interval and its value written above it (a zero bar is still
    read). The x labels, with the repeats behind them when below 3 ("n = 1")."""
    width = 0.8 / max(1, len(configs))
    for i, config in enumerate(configs):
        of = d[d["config"] == config].set_index("group").reindex(groups)
        x = np.arange(len(groups)) + (i - (len(configs) - 1) / 2) * width
        values = of["median"] * scale
        ax.bar(x, values.fillna(0.0), width * 0.9, color=colors[config], label=config,
               hatch="//" if get_config(config).proxy else None, edgecolor="white",
               yerr=_error(of.reset_index(), scale), capsize=3, ecolor=REFERENCE)  # fmt: skip
        for xi, value in zip(x, values, strict=True):
            said = fmt.format(value) if pd.notna(value) else missing
            said = zero if zero is not None and value == 0 else said
            ax.annotate(said, (xi, value if pd.notna(value) else 0), xytext=(0, 3),
                        textcoords="offset points", ha="center", fontsize=7,
                        rotation=0 if pd.notna(value) else 90,
                        color="black" if pd.notna(value) else REFERENCE)  # fmt: skip
    ax.set_xticks(np.arange(len(groups)))
    ax.set_ylim(bottom=0)
    labels = []
    for group in groups:
        counts = d.loc[d["group"] == group, "n"]
        n = counts[counts > 0].min()  # a config with nothing to show says so on its own
        few = pd.notna(n) and n < stats.MIN_REPEATS
        labels.append(f"{group}\n(n = {n:.0f})" if few else str(group))
    return labels


@chart(
    "slow_clients",
    80,
    applies=has(SLOW),
    note=(
        "Beside S slow clients, ordinary echoes arrive at a fixed rate on fresh connections; "
        "the share answered within 2 x (D + c) is the service everyone else gets. The grey "
        "vertical is K of the sync config: the model's S past which a kind that holds a slot "
        "denies service. Dashed lines and hatched bars: nginx in front. Bars span the repeats' "
        "interval; n = 1 marks a single sample."
    ),
)
def slow_clients(summary: pd.DataFrame, colors=None, run=None) -> Figure:
    """The fast stream's service against S slowloris clients, and per kind at the most S."""
    data = SLOW.rows(summary)
    fig = Figure(figsize=(15, 5), layout="constrained")
    sweep_ax, kinds_ax = fig.subplots(1, 2, width_ratios=[1.1, 1])
    fig.suptitle("Slow clients: the fast stream's share answered in time (higher is better)")
    if data.empty:
        for ax in (sweep_ax, kinds_ax):
            empty_panel(ax, "no slow-client points in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    data = data.assign(slow_kind=data["slow_kind"].fillna(""))
    counts = sorted(data["slow_clients"].unique())
    position = {s: i for i, s in enumerate(counts)}
    sweep = data[data["slow_kind"].isin(["", "headers"])]
    spans = _spans(sweep, ["config", "slow_clients"], "answered_in_bound_share")
    styles = style.line_styles(spans["config"])
    for config in ordered_configs(spans["config"]):
        d = spans[spans["config"] == config].sort_values("slow_clients")
        x = d["slow_clients"].map(position)
        sweep_ax.errorbar(x, 100 * d["median"], yerr=_error(d, 100), color=colors[config],
                          label=config, capsize=3, **styles[config])  # fmt: skip
    bounded = [float(k) for k in data["capacity"].unique() if math.isfinite(float(k))]
    for k in sorted(set(bounded)):
        if k in position:
            sweep_ax.axvline(position[k], color=REFERENCE, linestyle=":", linewidth=1.2)
            sweep_ax.annotate(f"S = K = {k:g}", (position[k], 50), xytext=(4, 0),
                              textcoords="offset points", fontsize=8, color=REFERENCE)  # fmt: skip
    sweep_ax.set_xticks(range(len(counts)), [f"{s:g}" for s in counts])
    sweep_ax.set_xlabel("S, slowloris clients (headers sent a byte a second)")
    sweep_ax.set_ylabel("fast stream answered in time (%)")
    sweep_ax.set_ylim(-3, 103)
    sweep_ax.grid(True, alpha=0.3)
    sweep_ax.set_title("against S (categorical axis: the S the profile measured)")
    legend_outside(sweep_ax)
    most = data[(data["slow_clients"] == data["slow_clients"].max()) & (data["slow_kind"] != "")]
    kinds = [k for k in ("headers", "body", "read", "idle") if k in set(most["slow_kind"])]
    spans = _spans(most, ["config", "slow_kind"], "answered_in_bound_share")
    spans = spans.rename(columns={"slow_kind": "group"})
    configs = ordered_configs(spans["config"])
    kinds_ax.set_xticklabels(_bars(kinds_ax, spans, configs, kinds, colors, scale=100))
    kinds_ax.set_ylim(0, 112)
    kinds_ax.set_xlabel(f"kind of slow client, S = {data['slow_clients'].max():g}")
    kinds_ax.set_ylabel("fast stream answered in time (%)")
    kinds_ax.set_title("which kinds hold a slot where")
    kinds_ax.grid(True, axis="y", alpha=0.3)
    legend_outside(kinds_ax)
    return fig


@chart(
    "overload",
    81,
    applies=has(OVERLOAD),
    note=(
        "Arrivals past capacity on fresh connections. Goodput counts answers within 2 x (D + c)"
        "; the grey dashes are each bare config's capacity, which goodput cannot pass. Without "
        "a limit every arrival is admitted and the queue grows: the admitted latency climbs "
        "through the window. With a limit (hollow markers) the excess is refused at once."
    ),
)
def overload(summary: pd.DataFrame, colors=None, run=None) -> Figure:
    """Goodput, the admitted p99 and the share refused against the offered rate."""
    data = OVERLOAD.rows(summary)
    fig = Figure(figsize=(17, 5), layout="constrained")
    axes = fig.subplots(1, 3)
    fig.suptitle("Overload: what each config does past its capacity")
    if data.empty:
        for ax in axes:
            empty_panel(ax, "no overload points in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    panels = [("goodput_rps", 1.0, "goodput (answers in time per s)", "goodput"),
              ("p99_ms", 1 / 1000, "p99 latency of the admitted, from the schedule (s)",
               "admitted p99"),
              ("refused_share", 100.0, "refused at once (%)", "refused")]  # fmt: skip
    for ax, (figure, scale, label, title) in zip(axes, panels, strict=True):
        spans = _spans(data, ["config", "offered_rps"], figure)
        styles = style.line_styles(spans["config"])
        for config in ordered_configs(spans["config"]):
            d = spans[spans["config"] == config].sort_values("offered_rps")
            ax.errorbar(d["offered_rps"], d["median"] * scale, yerr=_error(d, scale),
                        color=colors[config], label=config, capsize=3,
                        **styles[config])  # fmt: skip
        ax.set_xlabel("offered arrival rate (requests per second)")
        ax.set_ylabel(label)
        ax.set_title(title)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    top = 1.1 * float(data["goodput_rps"].max() or 1.0)
    for config, rows in data.groupby("config"):
        first = rows.iloc[0]
        capacity = model.capacity_rps(float(first["capacity"]), first["delay_s"],
                                      first["work_ms"] / 1000.0, int(first["parallel"]),
                                      int(first["cores"]))  # fmt: skip
        if not get_config(config).variant and math.isfinite(capacity):
            axes[0].axhline(capacity, color=REFERENCE, linestyle=(0, (2, 3)), linewidth=1)
            axes[0].annotate(f"{config}'s capacity {capacity:.0f}/s", (1.0, capacity),
                             xycoords=("axes fraction", "data"), xytext=(-4, 3),
                             textcoords="offset points", ha="right", fontsize=8,
                             color=REFERENCE)  # fmt: skip
            top = max(top, 1.1 * capacity)
    axes[0].set_ylim(0, top)
    legend_outside(axes[2])
    return fig


@chart(
    "crash",
    82,
    applies=has(CRASH),
    note=(
        "One worker killed with SIGKILL a third into a steady window. Left: the requests it "
        "took with it (in flight at the kill); what failed after it is said above a bar. "
        "Right: seconds "
        "until the answer rate was back to 0.9 of what it was; 'not back' where it never was "
        "in the window (one process killed: the whole server). Bars span the repeats' "
        "interval."
    ),
)
def crash(summary: pd.DataFrame, colors=None, run=None) -> Figure:
    """Requests lost and the time to recover, per config."""
    data = CRASH.rows(summary)
    fig = Figure(figsize=(14, 5), layout="constrained")
    lost_ax, back_ax = fig.subplots(1, 2)
    fig.suptitle("A crashed worker: the blast radius and the recovery")
    if data.empty:
        for ax in (lost_ax, back_ax):
            empty_panel(ax, "no crash points in this run")
        return fig
    colors = colors or config_colors(summary["config"])
    configs = ordered_configs(data["config"])
    lost = _spans(data, ["config"], "lost_requests").assign(group="lost")
    labels = _bars(lost_ax, lost, configs, ["lost"], colors)
    lost_ax.set_xticklabels([label.replace("lost", "in flight at the kill") for label in labels])
    after = data.groupby("config")["failed_after_kill"].median()
    width = 0.8 / max(1, len(configs))
    for i, config in enumerate(configs):  # what failed after is said, not drawn to scale
        if after.get(config, 0) > 0:
            lost_ax.annotate(f"then {after[config]:.0f} failed after it", (
                (i - (len(configs) - 1) / 2) * width, lost.set_index("config")["median"][config]),
                xytext=(0, 14), textcoords="offset points", ha="center", fontsize=8,
                color=REFERENCE)  # fmt: skip
    lost_ax.set_ylim(0, 1.3 * max(1.0, float(lost["high"].fillna(lost["median"]).max())))
    lost_ax.set_ylabel("requests")
    lost_ax.set_title("requests lost")
    lost_ax.grid(True, axis="y", alpha=0.3)
    back = _spans(data, ["config"], "recovery_s").assign(group="recovery")
    labels = _bars(
        back_ax,
        back,
        configs,
        ["recovery"],
        colors,
        fmt="{:.1f} s",
        missing="not back",
        zero="held",
    )  # 0: the rate never fell below 0.9 of its level
    back_ax.set_xticklabels(
        [label.replace("recovery", "after one worker's SIGKILL") for label in labels]
    )
    back_ax.set_ylabel("seconds until 0.9 of the earlier rate")
    back_ax.set_title("recovery")
    back_ax.grid(True, axis="y", alpha=0.3)
    legend_outside(back_ax)
    return fig
