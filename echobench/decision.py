"""The decision map: for each measured (wait D, CPU c) cell, which config wins.

A config wins a cell on throughput among the valid points whose p99 stays within
P99_BOUND_FACTOR x the request's own time D + c (a server that is fast only by letting
some requests wait far longer does not win). Within TIE of the best is a tie, said as
such. The model's predicted winners are worked out from the same cell's ideal rates.
Unmeasured cells do not exist here: nothing is extrapolated.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from echobench import derived
from echobench.scenarios.steady import STEADY
from echobench.style import ordered_configs

# A winner's p99 is at most this many times the request's own D + c.
P99_BOUND_FACTOR = 10.0
# Rates within 5% of the best are a tie: closer than repeat-to-repeat noise here.
TIE = 0.05


@dataclass(frozen=True)
class Cell:
    """One measured (D, c) cell of the map."""

    delay_s: float
    work_ms: float
    winners: tuple[str, ...]  # the best, and any config within TIE of it, best first
    rps: float | None  # the best rate
    margin: float | None  # best / the best config outside the tie - 1 (None: no such rival)
    runner_up: str | None  # that config
    p99_ms: float | None  # the best config's p99
    mb_per_request: float | None  # its peak PSS / the requests it held at once
    model_winners: tuple[str, ...]  # the configs with the highest ideal rate
    excluded: tuple[str, ...]  # measured, but invalid or over the p99 bound

    @property
    def p99_bound_ms(self) -> float:
        return P99_BOUND_FACTOR * (1000.0 * self.delay_s + self.work_ms)

    @property
    def cpu_share(self) -> float:
        """c / (D + c): how much of a request's own time is CPU."""
        return self.work_ms / (1000.0 * self.delay_s + self.work_ms)

    @property
    def model_agrees(self) -> bool:
        return bool(set(self.winners) & set(self.model_winners))


def cpu_points(summary: pd.DataFrame) -> pd.DataFrame:
    """Closed-loop points of a CPU sweep: a (scenario, D, users) group measured at more
    than one CPU cost c. Empty for runs without CPU work (or made before it existed)."""
    if "work_ms" not in summary:
        return summary.iloc[0:0]
    data = STEADY.rows(summary)
    costs = data.groupby(["delay_s", "users"])["work_ms"].transform("nunique")
    return data[costs > 1]


def _median(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per config: repeats collapse to their median; valid only if all were."""
    rows = derived.with_in_flight(rows)
    return rows.groupby("config", as_index=False).agg(
        rps=("rps", "median"),
        ideal_rps=("ideal_rps", "median"),
        p99_ms=("p99_ms", "median"),
        pss=("server_pss_peak_mb", "median"),
        in_flight=("in_flight", "first"),
        valid=("valid", "all"),
    )


def decide(summary: pd.DataFrame) -> list[Cell]:
    """Every measured cell of the CPU sweep, ordered by D then c."""
    cells: list[Cell] = []
    sweep = cpu_points(summary)
    if sweep.empty:
        return cells
    for (delay_s, work_ms), rows in sweep.groupby(["delay_s", "work_ms"]):
        per = _median(rows)
        bound = P99_BOUND_FACTOR * (1000.0 * delay_s + work_ms)
        ok = per[per["valid"] & (per["p99_ms"] <= bound)].sort_values("rps", ascending=False)
        best_ideal = per["ideal_rps"].max()
        model_best = per[per["ideal_rps"] >= best_ideal * (1 - 1e-9)]["config"]
        excluded = tuple(ordered_configs(set(per["config"]) - set(ok["config"])))
        winners, rps, margin, runner_up, p99, mb = (), None, None, None, None, None
        if not ok.empty:
            top = ok.iloc[0]
            tied = ok["rps"] >= top["rps"] * (1 - TIE)
            winners = tuple(ok[tied]["config"])
            rest = ok[~tied]
            if len(rest):  # the margin is over the best config that is not in the tie
                runner_up = str(rest.iloc[0]["config"])
                margin = float(top["rps"] / rest.iloc[0]["rps"] - 1)
            rps, p99 = float(top["rps"]), float(top["p99_ms"])
            mb = float(top["pss"] / top["in_flight"]) if pd.notna(top["pss"]) else None
        cells.append(Cell(float(delay_s), float(work_ms), winners, rps, margin, runner_up,
                          p99, mb, tuple(ordered_configs(model_best)), excluded))  # fmt: skip
    return cells
