"""From one point's raw records and samples to its summary row.

Everything here reads files in the point's raw folder, so a row can always be
recomputed from `raw/<point-id>/` alone. Percentiles come from per-request
latencies (microsecond resolution), never from locust's rounded buckets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from echobench import model
from echobench.profiles import Point

LOADGEN_BOUND_PCT = 90.0
# The load generator's CPU is averaged over windows at least this long.
LOADGEN_WINDOW_S = 1.0
OUTCOMES = ("ok", "failed", "timeout")


def read_records(path) -> pd.DataFrame:
    """requests.csv as one row per request: sends joined with their done rows."""
    try:
        raw = pd.read_csv(path)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        raw = pd.DataFrame(
            columns=[
                "event",
                "req_id",
                "kind",
                "sent_at",
                "done_at",
                "latency_ms",
                "status",
                "outcome",
                "error",
            ]
        )
    sends = raw[raw["event"] == "send"][["req_id", "kind", "sent_at"]]
    done = raw[raw["event"] == "done"][
        ["req_id", "done_at", "latency_ms", "status", "outcome", "error"]
    ]
    requests = sends.merge(done, on="req_id", how="left")
    requests["outcome"] = requests["outcome"].fillna("unfinished")
    return requests


def read_marks(path) -> dict[str, float]:
    try:
        raw = pd.read_csv(path)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return {}
    marks = raw[raw["event"] == "mark"]
    return dict(zip(marks["kind"], marks["sent_at"].astype(float), strict=False))


def percentiles(latencies_ms: Iterable[float]) -> dict[str, float | None]:
    values = np.asarray(list(latencies_ms), dtype=float)
    names = {"p50_ms": 50, "p90_ms": 90, "p99_ms": 99, "p999_ms": 99.9}
    if values.size == 0:
        return {**dict.fromkeys(names), "max_ms": None}
    result = {name: float(np.percentile(values, q)) for name, q in names.items()}
    result["max_ms"] = float(values.max())
    return result


def counts(requests: pd.DataFrame) -> dict[str, int]:
    by = requests["outcome"].value_counts()
    return {
        "requests": len(requests),
        "ok": int(by.get("ok", 0)),
        "failed": int(by.get("failed", 0)),
        "timeouts": int(by.get("timeout", 0)),
        "unfinished": int(by.get("unfinished", 0)),
    }


def loadgen_cpu_peak_pct(samples: pd.DataFrame, start: float, end: float) -> float | None:
    """Peak CPU of the load generator (percent of one core) over >= 1 s windows."""
    s = samples[(samples["t"] >= start - LOADGEN_WINDOW_S) & (samples["t"] <= end)]
    s = s.dropna(subset=["loadgen_cpu_s"])
    if len(s) < 2:
        return None
    t = s["t"].to_numpy()
    cpu = s["loadgen_cpu_s"].to_numpy()
    peak = None
    j = 0
    for i in range(len(t)):
        while j < i and t[i] - t[j + 1] >= LOADGEN_WINDOW_S:
            j += 1
        if t[i] - t[j] >= LOADGEN_WINDOW_S and t[i] >= start:
            pct = 100.0 * (cpu[i] - cpu[j]) / (t[i] - t[j])
            peak = pct if peak is None else max(peak, pct)
    if peak is None:  # the load phase was shorter than one window
        peak = 100.0 * (cpu[-1] - cpu[0]) / max(t[-1] - t[0], 1e-9)
    return peak


def server_figures(samples: pd.DataFrame, start: float, end: float) -> dict[str, float | None]:
    idle = samples[samples["phase"] == "idle"]["server_pss_mb"].dropna()
    load = samples[(samples["t"] >= start) & (samples["t"] <= end)]
    load_pss = load["server_pss_mb"].dropna()
    cpu = samples[samples["t"] <= end].dropna(subset=["server_cpu_s"])
    before = cpu[cpu["t"] <= start]
    cpu_s = None
    if len(cpu) and len(before):
        cpu_s = float(cpu["server_cpu_s"].iloc[-1] - before["server_cpu_s"].iloc[-1])
    return {
        "server_pss_idle_mb": float(idle.median()) if len(idle) else None,
        "server_pss_peak_mb": float(load_pss.max()) if len(load_pss) else None,
        "server_cpu_s": cpu_s,
    }


def _none_if_nan(row: dict) -> dict:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}


def summarize(
    point: Point, requests: pd.DataFrame, marks: dict[str, float], samples: pd.DataFrame
) -> dict:
    """The measured figures of one point; bookkeeping (ids, validity) is added by the runner."""
    release, end = marks.get("release"), marks.get("end")
    k, d, c = point.config.capacity, point.delay_s, point.users
    row: dict = {}
    echo = requests[requests["kind"] == "echo"]

    if point.scenario == "burst":
        row.update(counts(echo))
        finished = echo.dropna(subset=["done_at"])
        makespan = None
        if len(echo) and not row["unfinished"] and len(finished):
            makespan = float(finished["done_at"].max() - echo["sent_at"].min())
        ideal = model.ideal_makespan_s(c, k, d)
        row.update(
            duration_s=makespan,
            makespan_s=makespan,
            ideal_makespan_s=ideal,
            rps=row["ok"] / makespan if makespan else None,
            ideal_rps=c / ideal if ideal else None,
            efficiency=model.efficiency(ideal, makespan) if makespan else None,
        )
        measured = echo
        start, stop = release, end
    else:
        start = (release or 0.0) + point.effective_warmup_s
        stop = start + point.window_s
        measured = echo[(echo["sent_at"] >= start) & (echo["sent_at"] < stop)]
        row.update(counts(measured))
        completed = echo[
            (echo["outcome"] == "ok") & (echo["done_at"] >= start) & (echo["done_at"] < stop)
        ]
        rps = len(completed) / point.window_s if release is not None else None
        ideal = model.ideal_rps(c, k, d)
        row["ideal_latency_ms"] = 1000.0 * point.ideal_latency_s
        row.update(
            duration_s=point.window_s,
            makespan_s=None,
            ideal_makespan_s=None,
            rps=rps,
            ideal_rps=ideal,
            efficiency=model.efficiency(rps, ideal),
        )
        if point.scenario == "mixed":
            fast = requests[
                (requests["kind"] == "page")
                & (requests["sent_at"] >= start)
                & (requests["sent_at"] < stop)
            ]
            fast_p = percentiles(fast[fast["outcome"] == "ok"]["latency_ms"])
            row.update(
                fast_requests=len(fast),
                fast_ok=int((fast["outcome"] == "ok").sum()),
                fast_p50_ms=fast_p["p50_ms"],
                fast_p99_ms=fast_p["p99_ms"],
                fast_max_ms=fast_p["max_ms"],
            )

    row.update(percentiles(measured[measured["outcome"] == "ok"]["latency_ms"]))
    if start is not None and stop is not None and len(samples):
        row.update(server_figures(samples, start, stop))
        row["loadgen_cpu_peak_pct"] = loadgen_cpu_peak_pct(samples, start, stop)
    return _none_if_nan(row)
