"""Every point's efficiency in one grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from echobench.plots.common import empty_panel
from echobench.plots.registry import chart
from echobench.scenarios import SCENARIOS, faulting, rows_where
from echobench.style import ordered_configs


def _in_grid(scenario) -> bool:
    """Closed-loop and burst points judged by measured / ideal. A fault scenario's rate
    counts answers that came too late (an overloaded server's 0.94 with a goodput of 0),
    so its own chart judges it, never this grid."""
    return scenario.judged_by_model and scenario not in faulting()


@chart(
    "efficiency",
    110,
    applies=lambda s: rows_where(s, _in_grid)["efficiency"].notna().any(),
    note=("Every point's measured / ideal rate; 1.00 is the model's ideal."),
)
def efficiency_overview(summary: pd.DataFrame, colors=None, run=None) -> Figure:
    """Measured / ideal for every closed-loop and burst point in one grid. Open loop is
    left out: past capacity its rate sits at the capacity, so "1.00" would hide the
    overload; its latency chart judges it."""
    data = rows_where(summary, _in_grid).dropna(subset=["efficiency"]).copy()
    work = data["work_ms"].fillna(0.0) if "work_ms" in data else pd.Series(0.0, data.index)
    # one column per scenario, load, D and c: the figure widens with them
    n_cols = max(1, data.assign(_w=work)[["scenario", "users", "delay_s", "_w"]]
                 .drop_duplicates().shape[0])  # fmt: skip
    fig = Figure(
        figsize=(max(7, 1.0 * n_cols + 3), 0.45 * max(4, data["config"].nunique()) + 2),
        layout="constrained",
    )
    ax = fig.subplots()
    judged_elsewhere = rows_where(summary, lambda s: not _in_grid(s))
    elsewhere = sorted(set(judged_elsewhere["scenario"]))
    title = "Efficiency: measured / ideal rate per point (1.00 = the model's ideal)"
    if elsewhere:  # only a run that has such points says where they are judged
        title += f"\n{', '.join(elsewhere)} points are not judged by this ratio: see their sections"
    ax.set_title(title, wrap=True)
    if data.empty:
        empty_panel(ax, "no point has an efficiency")
        return fig
    symbol = data["scenario"].map(lambda name: SCENARIOS[name].load_symbol)
    load = symbol + "=" + data["users"].astype(str)
    cpu = work.map(lambda c: f"\nc={c:g}ms" if c else "")
    data["column"] = (data["scenario"] + "\n" + load + "\nD=" + data["delay_s"].map("{:g}s".format)
                      + cpu)  # fmt: skip
    grid = data.groupby(["config", "column"]).agg(
        eff=("efficiency", "median"), valid=("valid", "all")
    )
    rows = ordered_configs(data["config"])
    cols = (
        data.assign(_work=work)[["scenario", "users", "delay_s", "_work", "column"]]
        .drop_duplicates("column")
        .assign(s=lambda d: d["scenario"].map(lambda name: SCENARIOS[name].order))
        .sort_values(["s", "delay_s", "users", "_work"])["column"]
        .tolist()
    )
    values = np.full((len(rows), len(cols)), np.nan)
    for (config, column), cell in grid.iterrows():
        values[rows.index(config), cols.index(column)] = cell["eff"]
    image = ax.imshow(values, cmap="cividis", vmin=0.0, vmax=1.05, aspect="auto")
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
            color="white" if cell["eff"] < 0.55 else "black",  # readable on cividis
            fontweight="normal" if cell["valid"] else "bold",
        )
    ax.set_xticks(range(len(cols)), cols, fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_xlabel("scenario, load (n at once or C users), wait D and CPU c (blank: not measured)")
    fig.colorbar(image, ax=ax, label="efficiency (measured / ideal)", shrink=0.8)
    return fig
