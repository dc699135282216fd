"""The decision map: for each measured (wait D, CPU c) cell, which config wins.

A config wins a cell on throughput among the valid points whose p99 stays within
P99_BOUND_FACTOR x the request's own time D + c (a server that is fast only by letting
some requests wait far longer does not win). It wins alone only when the interval of
its repeats' median clears every other config's (`stats.Interval.clears`); every config
it does not clear ties with it, and with fewer than 3 repeats everything in the bound
ties. Among the tied, the cheapest in memory is the one that "does the job". The
model's predicted winners are worked out from the same cell's ideal rates. Unmeasured
cells do not exist here: nothing is extrapolated.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from echobench import derived, stats
from echobench.scenarios.steady import STEADY
from echobench.style import ordered_configs

# A winner's p99 is at most this many times the request's own D + c.
P99_BOUND_FACTOR = 10.0


@dataclass(frozen=True)
class Cell:
    """One measured (D, c) cell of the map."""

    delay_s: float
    work_ms: float
    winners: tuple[str, ...]  # the best median, and every config its interval does not clear
    rps: stats.Interval | None  # the best median's rate and interval
    runner_up: str | None  # the best config outside the tie (None: no such rival)
    runner_up_rps: stats.Interval | None
    p99_ms: float | None  # the best config's p99
    cheapest: str | None  # the tied winner with the least peak PSS (needs an interval)
    cheapest_pss_mb: float | None
    model_winners: tuple[str, ...]  # the configs with the highest ideal rate
    excluded: tuple[str, ...]  # measured, but invalid or over the p99 bound
    measured: int = 0  # configs measured in the cell
    # every config within the bound, best median first: (config, rate, peak PSS MB, tied)
    ranked: tuple[tuple[str, stats.Interval, float, bool], ...] = ()

    @property
    def margin(self) -> float | None:
        """The best median over the runner-up's, minus one (None when all tie)."""
        if self.rps is None or self.runner_up_rps is None or not self.runner_up_rps.median:
            return None
        return self.rps.median / self.runner_up_rps.median - 1

    @property
    def p99_bound_ms(self) -> float:
        return P99_BOUND_FACTOR * (1000.0 * self.delay_s + self.work_ms)

    @property
    def cpu_share(self) -> float:
        """c / (D + c): how much of a request's own time is CPU (0 for a zero request)."""
        own = 1000.0 * self.delay_s + self.work_ms
        return self.work_ms / own if own else 0.0

    @property
    def model_agrees(self) -> bool:
        return bool(set(self.winners) & set(self.model_winners))

    @property
    def decided(self) -> bool:
        """One config won alone, by its interval."""
        return len(self.winners) == 1


def cpu_points(summary: pd.DataFrame) -> pd.DataFrame:
    """Closed-loop points of a CPU sweep: a (scenario, D, users) group measured at more
    than one CPU cost c. Empty for runs without CPU work (or made before it existed)."""
    if "work_ms" not in summary:
        return summary.iloc[0:0]
    data = STEADY.rows(summary)
    costs = data.groupby(["delay_s", "users"])["work_ms"].transform("nunique")
    return data[costs > 1]


def _per_config(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per config: its rate's interval over the repeats, medians of the rest;
    valid only if every repeat was."""
    groups = rows.groupby("config", sort=False)
    return (
        groups.agg(
            ideal_rps=("ideal_rps", "median"),
            p99_ms=("p99_ms", "median"),
            pss=("server_pss_peak_mb", "median"),
            valid=("valid", "all"),
        )
        .assign(rps=groups["rps"].apply(stats.median_interval))
        .reset_index()
    )


def decide(summary: pd.DataFrame) -> list[Cell]:
    """Every measured cell of the CPU sweep, ordered by D then c."""
    sweep = cpu_points(summary)
    if sweep.empty:
        return []
    groups = sweep.groupby(["delay_s", "work_ms"])
    return [_cell(float(d), float(c), rows) for (d, c), rows in groups]


def at_point(rows: pd.DataFrame) -> Cell:
    """The cell of one measured (D, c) point: its steady rows at one load, every config
    judged by the rule of the map (the answer table's points use it too)."""
    return _cell(float(rows["delay_s"].iloc[0]), float(rows["work_ms"].iloc[0]), rows)


def _cell(delay_s: float, work_ms: float, rows: pd.DataFrame) -> Cell:
    per = _per_config(derived.with_in_flight(rows))
    bound = P99_BOUND_FACTOR * (1000.0 * delay_s + work_ms)
    ok = per[per["valid"] & (per["p99_ms"] <= bound)]
    ok = ok.iloc[sorted(range(len(ok)), key=lambda i: -ok["rps"].iloc[i].median)]
    best_ideal = per["ideal_rps"].max()
    model_best = tuple(ordered_configs(per[per["ideal_rps"] >= best_ideal * (1 - 1e-9)]["config"]))
    excluded = tuple(ordered_configs(set(per["config"]) - set(ok["config"])))
    cell = Cell(delay_s, work_ms, (), None, None, None, None, None, None, model_best, excluded,
                len(per))  # fmt: skip
    if ok.empty:
        return cell
    best = ok["rps"].iloc[0]
    tied = [i == 0 or not best.clears(r) for i, r in enumerate(ok["rps"])]
    rest = ok[[not t for t in tied]]
    # "does the job": within the best's interval; unknowable without one
    known = [t and r.known for t, r in zip(tied, ok["rps"], strict=True)]  # n >= 3 only
    held = ok[known].dropna(subset=["pss"]) if best.known else ok.iloc[0:0]
    lightest = held.loc[held["pss"].idxmin()] if len(held) else None
    columns = zip(ok["config"], ok["rps"], ok["pss"], tied, strict=True)
    ranked = tuple((str(c), r, float(m), bool(t)) for c, r, m, t in columns)
    return replace(
        cell,
        winners=tuple(ok[tied]["config"]),
        rps=best,
        runner_up=str(rest["config"].iloc[0]) if len(rest) else None,
        runner_up_rps=rest["rps"].iloc[0] if len(rest) else None,
        p99_ms=float(ok["p99_ms"].iloc[0]),
        cheapest=None if lightest is None else str(lightest["config"]),
        cheapest_pss_mb=None if lightest is None else float(lightest["pss"]),
        ranked=ranked,
    )
