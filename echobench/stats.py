"""Repeats and comparisons: medians with a distribution-free interval, and verdicts.

A point measured several times is summarized by its median and a confidence interval
for that median taken from order statistics (`scipy.stats.quantile_test`), which needs
no assumption about the shape of the repeats' spread. With fewer than 6 repeats no
order-statistic interval reaches 95%: the interval is then the repeats' whole range,
and its stated level is what that range really covers, 1 - 2^(1 - n) (75% at n = 3).
Below 3 repeats there is no interval, and nothing is called better than anything.

Two figures differ only when their intervals do not overlap. For two points of 3
repeats each, disjoint ranges are exactly the Mann-Whitney test's strongest result:
one chance in 20 that all three of one lie above all three of the other by luck, so
one in 10 that either lies above the other (a verdict in either direction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from echobench.figures import FIGURES as DECLARED
from echobench.scenarios import SCENARIOS

# Fewer repeats than this give no interval and decide nothing.
MIN_REPEATS = 3
# The level asked of an order-statistic interval (reached from 6 repeats on).
CONFIDENCE = 0.95
# Below this many repeats no order statistic reaches CONFIDENCE: the range is used.
RANGE_BELOW = 6


@dataclass(frozen=True)
class Interval:
    """A median and the interval around it, with the level that interval covers."""

    median: float
    low: float
    high: float
    level: float  # 0 when there is no interval (too few values)
    n: int

    @property
    def known(self) -> bool:
        return self.n >= MIN_REPEATS and not math.isnan(self.low)

    def clears(self, other: Interval, higher_is_better: bool = True) -> bool:
        """True when this interval lies wholly on the better side of the other's."""
        if not (self.known and other.known):
            return False
        return self.low > other.high if higher_is_better else self.high < other.low

    def text(self, fmt: str = "{:.1f}") -> str:
        """ "12.3 [11.9, 12.8]", or "12.3 (n = 1)" without an interval."""
        if math.isnan(self.median):
            return ""
        if not self.known:
            return f"{fmt.format(self.median)} (n = {self.n})"
        return f"{fmt.format(self.median)} [{fmt.format(self.low)}, {fmt.format(self.high)}]"


def range_level(n: int) -> float:
    """How often the range of n repeats covers the true median: 1 - 2 P(Binom(n, 1/2) = 0)."""
    return float(1.0 - 2.0 * scipy_stats.binom.pmf(0, n, 0.5)) if n >= 1 else 0.0


def interval_level(n: int) -> float:
    """The level of the interval `median_interval` gives for n values (0: none)."""
    if n < MIN_REPEATS:
        return 0.0
    return range_level(n) if n < RANGE_BELOW else CONFIDENCE


def median_interval(values) -> Interval:
    """The median of `values` (NaN dropped) and its distribution-free interval."""
    data = np.asarray(pd.Series(values, dtype=float).dropna())
    n = len(data)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0.0, 0)
    median = float(np.median(data))
    if n < MIN_REPEATS:
        return Interval(median, math.nan, math.nan, 0.0, n)
    if n < RANGE_BELOW:
        return Interval(median, float(data.min()), float(data.max()), interval_level(n), n)
    ci = scipy_stats.quantile_test(data, q=median, p=0.5).confidence_interval(CONFIDENCE)
    return Interval(median, float(ci.low), float(ci.high), CONFIDENCE, n)


# The fields that identify "the same point" across repeats and across runs.
POINT_KEY = ["scenario", "config", "users", "offered_rps", "delay_s", "work_ms", "io", "pool",
             "slow_kind", "slow_clients"]  # fmt: skip
# What repeats are summarized by (every scenario's headline among them: figures.py).
FIGURES = [f.name for f in DECLARED if f.aggregated]
# Headline figure per scenario, and whether higher is better.
HEADLINE = {name: (s.headline, s.higher_is_better) for name, s in SCENARIOS.items()}
# A change smaller than this does not count even when the intervals are disjoint.
DEFAULT_THRESHOLD = 0.0
MACHINE_FIELDS = ["cpu_model", "cores_logical", "memory_gib", "hostname"]


# What a key column is where a point has none (or a run from before it existed).
KEY_GAPS = {"offered_rps": -1.0, "work_ms": 0.0, "io": "sleep", "pool": -1.0, "slow_kind": "",
            "slow_clients": 0}  # fmt: skip


def _key(frame: pd.DataFrame) -> pd.DataFrame:
    """Key columns without gaps (KEY_GAPS), so groups and joins see every point."""
    return frame.assign(**{
        name: frame[name].astype(object if isinstance(gap, str) else float).fillna(gap)
        if name in frame else gap
        for name, gap in KEY_GAPS.items()
    })  # fmt: skip


def aggregate(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per point across its repeats: n, valid_n, and each figure's median with
    its interval (`_ci_low`, `_ci_high`) and that interval's level (`ci_level`)."""
    data = _key(summary)
    data = data.assign(**{f: float("nan") for f in FIGURES if f not in data})  # older runs
    groups = data.groupby(POINT_KEY, sort=False)
    out = groups.agg(repeats=("repeat", "count"), valid_repeats=("valid", "sum"))
    out["ci_level"] = [interval_level(n) for n in out["repeats"]]
    for figure in FIGURES:
        spans = groups[figure].apply(median_interval)
        out[f"{figure}_median"] = [i.median for i in spans]
        out[f"{figure}_ci_low"] = [i.low for i in spans]
        out[f"{figure}_ci_high"] = [i.high for i in spans]
    out = out.reset_index()
    out["offered_rps"] = out["offered_rps"].where(out["offered_rps"] >= 0)
    out["pool"] = out["pool"].where(out["pool"] >= 0)
    return out


def same_machine(run_a: dict, run_b: dict) -> list[str]:
    """The machine fields on which two runs differ (empty when comparable)."""
    a, b = run_a.get("machine", {}), run_b.get("machine", {})
    return [f"{f}: {a.get(f)!r} vs {b.get(f)!r}" for f in MACHINE_FIELDS if a.get(f) != b.get(f)]


def compare(a: pd.DataFrame, b: pd.DataFrame, threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """B against A for every point both runs measured validly, with a verdict each."""
    rows = []
    a, b = _key(a[a["valid"]]), _key(b[b["valid"]])
    b_groups = dict(list(b.groupby(POINT_KEY, sort=False)))
    for key, group_a in a.groupby(POINT_KEY, sort=False):
        group_b = b_groups.get(key)
        scenario = key[0]
        figure, higher_better = HEADLINE.get(scenario, ("rps", True))
        if group_b is None:
            continue
        va, vb = group_a[figure].dropna(), group_b[figure].dropna()
        if va.empty or vb.empty:
            continue
        ia, ib = median_interval(va), median_interval(vb)
        ma, mb = ia.median, ib.median
        ratio = mb / ma if ma else float("nan")
        verdict = "not significant"
        if not (ia.known and ib.known):
            verdict = "too few repeats"
        elif ib.clears(ia, higher_better) and not abs(ratio - 1.0) < threshold:
            verdict = "better"
        elif ia.clears(ib, higher_better) and not abs(ratio - 1.0) < threshold:
            verdict = "worse"
        rows.append({
            **dict(zip(POINT_KEY, key, strict=True)),
            "figure": figure, "a_median": ma, "a_ci_low": ia.low, "a_ci_high": ia.high,
            "b_median": mb, "b_ci_low": ib.low, "b_ci_high": ib.high, "ratio_b_over_a": ratio,
            "a_repeats": len(va), "b_repeats": len(vb), "verdict": verdict,
        })  # fmt: skip
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["offered_rps"] = frame["offered_rps"].where(frame["offered_rps"] >= 0)
        frame["pool"] = frame["pool"].where(frame["pool"] >= 0)
    return frame
