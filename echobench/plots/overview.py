"""Every point's efficiency in one grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from echobench.plots.common import empty_panel
from echobench.style import ordered_configs


def efficiency_overview(summary: pd.DataFrame, colors=None, run=None) -> Figure:
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
        empty_panel(ax, "no point has an efficiency")
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
