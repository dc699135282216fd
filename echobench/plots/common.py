"""What every chart shares: log axes written plainly, legends outside, empty panels,
the ideal and invalid-point styles, and the selections several charts make."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from echobench import style
from echobench.scenarios.burst import BURST
from echobench.scenarios.steady import STEADY

INVALID, IDEAL = style.INVALID, style.IDEAL


def plain_log(axis) -> None:
    """Log scale with ticks at 1, 2, 5 x 10^k written as plain numbers."""
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def new_figure(ax, size=(9, 5)):
    if ax is None:
        fig = Figure(figsize=size, layout="constrained")
        ax = fig.subplots()
        return fig, ax
    return ax.figure, ax


def legend_outside(ax, extra: list | None = None) -> None:
    """The legend right of the axes: only for what is drawn (no "invalid point" entry
    where no point was invalid)."""
    handles, labels = ax.get_legend_handles_labels()
    drawn_invalid = any(c.get_gid() == "invalid" for c in ax.collections)
    for handle, label in extra or []:
        if label == INVALID_LABEL and not drawn_invalid:
            continue
        handles.append(handle)
        labels.append(label)
    ax.legend(
        handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
    )


INVALID_LABEL = "invalid point"


def invalid_handle():
    return (
        Line2D([], [], marker="x", color="red", linestyle="none", markersize=8),
        INVALID_LABEL,
    )


def empty_panel(ax, message: str):
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_axis_off()


def steady_points(summary: pd.DataFrame, exclude_single: bool = True) -> pd.DataFrame:
    """Steady rows to draw against C: the waiting-only ones when a run also computes at
    some (those belong to the CPU charts and the answer table), else all of them."""
    data = STEADY.rows(summary)
    work = data["work_ms"].fillna(0.0) if "work_ms" in data else pd.Series(0.0, data.index)
    if (work > 0).any() and (work == 0).any():
        data = data[work == 0]
    if exclude_single:  # configs measured at one load level only belong to the memory chart
        levels = data.groupby("config")["users"].nunique()
        data = data[data["config"].isin(levels[levels > 1].index)]
    return data


def median_by_point(data: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Repeats collapse to their median; a group is valid only if all its repeats are."""
    agg = {c: "median" for c in columns}
    agg.update(valid="all", capacity="first", delay_s="first")
    if "work_ms" in data:
        agg["work_ms"] = "max"
    return data.groupby(["config", "users"], as_index=False).agg(agg)


def scale_points(summary: pd.DataFrame) -> pd.DataFrame:
    bursts = BURST.rows(summary)
    sizes = bursts.groupby("config")["users"].nunique()
    return bursts[bursts["config"].isin(sizes[sizes > 1].index)]
