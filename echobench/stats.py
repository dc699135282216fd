"""Repeats and comparisons: medians with their spread, and pyperf-style verdicts.

A point measured several times is summarized by its median and interquartile range
(IQR). Two runs are compared point by point on each point's headline figure; the
change counts only when it is larger than a threshold and the two IQRs (the two
values, for single measurements) do not overlap.
"""

from __future__ import annotations

import pandas as pd

from echobench.figures import FIGURES as DECLARED
from echobench.scenarios import SCENARIOS

# The fields that identify "the same point" across repeats and across runs.
POINT_KEY = ["scenario", "config", "users", "offered_rps", "delay_s", "work_ms"]
# What repeats are summarized by (every scenario's headline among them: figures.py).
FIGURES = [f.name for f in DECLARED if f.aggregated]
# Headline figure per scenario, and whether higher is better.
HEADLINE = {name: (s.headline, s.higher_is_better) for name, s in SCENARIOS.items()}
DEFAULT_THRESHOLD = 0.02
MACHINE_FIELDS = ["cpu_model", "cores_logical", "memory_gib", "hostname"]


def _key(frame: pd.DataFrame) -> pd.DataFrame:
    """Key columns without gaps: no arrival rate is -1, no CPU work (or a run from before
    it existed) is 0."""
    work = frame["work_ms"].fillna(0.0) if "work_ms" in frame else 0.0
    return frame.assign(offered_rps=frame["offered_rps"].fillna(-1.0), work_ms=work)


def aggregate(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per point across its repeats: n, valid_n, and median, q25, q75 of each figure."""
    data = _key(summary)
    data = data.assign(**{f: float("nan") for f in FIGURES if f not in data})  # older runs
    groups = data.groupby(POINT_KEY, sort=False)
    out = groups.agg(repeats=("repeat", "count"), valid_repeats=("valid", "sum"))
    for figure in FIGURES:
        out[f"{figure}_median"] = groups[figure].median()
        out[f"{figure}_q25"] = groups[figure].quantile(0.25)
        out[f"{figure}_q75"] = groups[figure].quantile(0.75)
    out = out.reset_index()
    out["offered_rps"] = out["offered_rps"].where(out["offered_rps"] >= 0)
    return out


def same_machine(run_a: dict, run_b: dict) -> list[str]:
    """The machine fields on which two runs differ (empty when comparable)."""
    a, b = run_a.get("machine", {}), run_b.get("machine", {})
    return [f"{f}: {a.get(f)!r} vs {b.get(f)!r}" for f in MACHINE_FIELDS if a.get(f) != b.get(f)]


def _spread(values: pd.Series) -> tuple[float, float, float]:
    return values.median(), values.quantile(0.25), values.quantile(0.75)


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
        (ma, la, ha), (mb, lb, hb) = _spread(va), _spread(vb)
        ratio = mb / ma if ma else float("nan")
        overlap = la <= hb and lb <= ha
        if abs(ratio - 1.0) < threshold or overlap:
            verdict = "not significant"
        else:
            better = (ratio > 1.0) == higher_better
            verdict = "better" if better else "worse"
        rows.append({
            **dict(zip(POINT_KEY, key, strict=True)),
            "figure": figure, "a_median": ma, "b_median": mb, "ratio_b_over_a": ratio,
            "a_repeats": len(va), "b_repeats": len(vb), "verdict": verdict,
        })  # fmt: skip
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["offered_rps"] = frame["offered_rps"].where(frame["offered_rps"] >= 0)
    return frame
