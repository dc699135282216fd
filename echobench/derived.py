"""Figures derived from a run's summary that charts and findings both show.

Computed once here so a chart and the sentence beside it can never disagree. Configs
are picked by their model and worker count (columns of the summary), never by id.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from echobench import model
from echobench.configs import FAMILIES
from echobench.scenarios import rows_where

# The family whose memory is shown per worker: one process per slot.
SYNC_FAMILY = next(f.name for f in FAMILIES.values() if f.model == "sync")


def loaded(summary: pd.DataFrame, sampled: bool = True) -> pd.DataFrame:
    """Points whose PSS is memory under a held closed-loop load (`memory_under_load`),
    and, `sampled`, whose server memory was sampled."""
    data = rows_where(summary, lambda s: s.memory_under_load)
    return data.dropna(subset=["server_pss_peak_mb"]) if sampled else data


def sync_workers(summary: pd.DataFrame) -> pd.DataFrame:
    """Per gunicorn sync worker count N: median idle PSS, highest peak, all valid."""
    sync = loaded(summary)
    sync = sync[sync["model"] == FAMILIES[SYNC_FAMILY].model]
    return (
        sync.groupby("workers")
        .agg(
            idle=("server_pss_idle_mb", "median"),
            peak=("server_pss_peak_mb", "max"),
            valid=("valid", "all"),
        )
        .reset_index()
    )


def single_process_event_loops(summary: pd.DataFrame) -> list[str]:
    """Configs that hold every request in one process's event loop (async, gevent x 1)."""
    data = loaded(summary)
    picked = data[data["model"].isin(["async", "gevent"]) & (data["workers"] == 1)]
    return list(dict.fromkeys(picked["config"]))


def with_in_flight(data: pd.DataFrame) -> pd.DataFrame:
    """The rows with `in_flight`, min(C, K): the requests the server held at once."""
    return data.assign(
        in_flight=[
            model.in_flight(u, k) for u, k in zip(data["users"], data["capacity"], strict=True)
        ]
    )


def sleeping(summary: pd.DataFrame) -> pd.DataFrame:
    """The points whose wait is a sleep: what every chart but the database's compares (a
    config measured both ways would otherwise be drawn twice as one). A run with no sleep
    point at all is given whole."""
    slept = summary[summary["io"] != "db"]
    return slept if len(slept) else summary


def way_label(row) -> str:
    """How a point waited, for a chart or a table: "sleep", or "db, pool 10"."""
    return "sleep" if row["io"] != "db" else f"db, pool {int(row['pool'])}"


def with_cpu_per_request(data: pd.DataFrame) -> pd.DataFrame:
    """Windowed points with the CPU ms each answer cost the server and PostgreSQL: CPU
    seconds over the window / the answers counted in it (rps x window)."""
    answers = data["rps"] * data["duration_s"]
    db_cpu = data["db_cpu_s"] if "db_cpu_s" in data else pd.Series(np.nan, data.index)
    return data.assign(
        server_cpu_ms_per_request=1000.0 * data["server_cpu_s"] / answers,
        db_cpu_ms_per_request=1000.0 * db_cpu / answers,
    )
