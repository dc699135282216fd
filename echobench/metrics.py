"""From one point's raw records and samples to its summary row.

Everything here reads files in the point's raw folder, so a row can always be
recomputed from `raw/<point-id>/` alone. Percentiles come from per-request
latencies (microsecond resolution), never from locust's rounded buckets.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from echobench.records import LEGACY_REQUEST_FIELDS, REQUEST_FIELDS
from servers.database import parse_timing

# The load generator's CPU is averaged over windows at least this long.
LOADGEN_WINDOW_S = 1.0
# CPU clocks advance in steps of up to a few ms: over a shorter phase the mean is noise
# (a worker left without users ends its share within a millisecond of its release).
LOADGEN_MIN_MEAN_S = 0.25


def _read_raw(path) -> pd.DataFrame:
    """requests.csv as written; a header or row of another shape is an error, never a shift."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        raw = pd.read_csv(path, index_col=False)
    if list(raw.columns) in LEGACY_REQUEST_FIELDS:
        return raw.assign(**{f: pd.NA for f in REQUEST_FIELDS if f not in raw.columns})
    if list(raw.columns) != REQUEST_FIELDS:
        raise ValueError(f"{path}: unexpected columns {list(raw.columns)}")
    return raw


def record_files(raw_dir: Path) -> list[Path]:
    """requests.csv, or one requests.w<index>.csv per locust worker (either may be gzipped)."""
    return sorted([*raw_dir.glob("requests*.csv"), *raw_dir.glob("requests*.csv.gz")])


def _requests(raw: pd.DataFrame, prefix: str) -> pd.DataFrame:
    sends = raw[raw["event"] == "send"][["req_id", "kind", "sent_at", "intended_at"]]
    done = raw[raw["event"] == "done"][
        [
            *("req_id", "done_at", "latency_ms", "status", "outcome", "error"),
            *("worker", "server_timing"),
        ]
    ]
    requests = sends.merge(done, on="req_id", how="left")
    requests["req_id"] = prefix + requests["req_id"].astype(str)
    requests["outcome"] = requests["outcome"].astype(object).fillna("unfinished")
    return requests


def _marks(raw: pd.DataFrame) -> dict[str, float]:
    marks = raw[raw["event"] == "mark"]
    found = dict(zip(marks["kind"], marks["sent_at"].astype(float), strict=False))
    cpu = dict(zip(marks["kind"], marks["cpu_s"].astype(float), strict=False))
    if {"release", "end"} <= found.keys():
        used = cpu["end"] - cpu["release"]
        found["loadgen_cpu_s"] = used
        found["loadgen_sent"] = int(raw.loc[raw["event"] == "send", "sent_at"].notna().sum())
        if found["end"] - found["release"] >= LOADGEN_MIN_MEAN_S:
            found["loadgen_mean_pct"] = 100.0 * used / (found["end"] - found["release"])
    clock = marks[marks["kind"].isin(["release", "tick", "end"])].sort_values("sent_at")
    peak = _windowed_peak_pct(clock["sent_at"].astype(float), clock["cpu_s"].astype(float))
    if peak is not None:
        found["loadgen_tick_peak_pct"] = peak
    return found


def _windowed_peak_pct(t: Iterable[float], cpu_s: Iterable[float]) -> float | None:
    """The highest CPU share (percent of a core) over windows of at least LOADGEN_WINDOW_S."""
    t, cpu = np.asarray(t, dtype=float), np.asarray(cpu_s, dtype=float)
    best, j = None, 0
    for i in range(len(t)):
        while j + 1 < i and t[i] - t[j + 1] >= LOADGEN_WINDOW_S:
            j += 1
        if t[i] - t[j] >= LOADGEN_WINDOW_S:
            share = 100.0 * (cpu[i] - cpu[j]) / (t[i] - t[j])
            best = share if best is None else max(best, share)
    return best


def read_point(raw_dir: Path) -> tuple[pd.DataFrame, dict[str, float]]:
    """Every request of a point (one row each) and its marks, merged over locust processes.

    Marks: the first `release`, the last `end`, any `error`, `loadgen_mean_pct`, the
    busiest process's mean CPU (exact, from its own clock) between its marks,
    `loadgen_tick_peak_pct`, the busiest second of the busiest process, and over the
    processes with both marks, `loadgen_cpu_s` (their CPU seconds between them) and
    `loadgen_sent` (the requests they sent).
    """
    frames, marks = [], []
    for i, path in enumerate(record_files(raw_dir)):
        try:
            raw = _read_raw(path)
        except pd.errors.EmptyDataError:
            continue
        frames.append(_requests(raw, f"{i}:"))
        marks.append(_marks(raw))
    requests = (
        pd.concat(frames, ignore_index=True)
        if frames
        else _requests(pd.DataFrame(columns=REQUEST_FIELDS), "")
    )
    merged: dict[str, float] = {}
    picks = {"release": min, "end": max, "error": min}
    picks |= {"loadgen_mean_pct": max, "loadgen_tick_peak_pct": max}
    picks |= {"loadgen_cpu_s": sum, "loadgen_sent": sum}
    for name, pick in picks.items():
        values = [m[name] for m in marks if name in m]
        if values:
            merged[name] = pick(values)
    return requests, merged


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


def loadgen_cpu_peak_pct(
    samples: pd.DataFrame, marks: dict[str, float], processes: int = 1
) -> float | None:
    """The load generator's CPU during the load phase, in percent of one core per process.

    The largest of: its mean over the whole phase and its busiest >= 1 s window, both
    exact from each locust process's own CPU clock in its marks; and its peak over
    >= 1 s windows of the sampler inside the phase (start-up and spawning fall outside
    it), the sampler's whole-tree figure divided among the `processes` here.
    """
    start, end = marks.get("release"), marks.get("end")
    found = [marks[k] for k in ("loadgen_mean_pct", "loadgen_tick_peak_pct") if k in marks]
    if start is not None and end is not None and len(samples):
        s = samples[(samples["t"] >= start) & (samples["t"] <= end)]
        s = s.dropna(subset=["loadgen_cpu_s"])
        peak = _windowed_peak_pct(s["t"], s["loadgen_cpu_s"])
        if peak is not None:
            found.append(peak / processes)
    return max(found) if found else None


def loadgen_cpu_us_per_request(marks: dict[str, float]) -> float | None:
    """What the client spent per request it sent: its locust processes' own CPU clocks
    from release to end, summed, over the requests they sent (recording included)."""
    sent = marks.get("loadgen_sent")
    return 1e6 * marks["loadgen_cpu_s"] / sent if sent else None


def _cpu_over(samples: pd.DataFrame, column: str, start: float, end: float) -> tuple:
    """(CPU seconds a cumulative column grew by, over how long) from its last sample at or
    before `start` to its last at or before `end`; (None, None) without both."""
    cpu = samples[samples["t"] <= end].dropna(subset=[column])
    before = cpu[cpu["t"] <= start]
    if not len(cpu) or not len(before):
        return None, None
    used = float(cpu[column].iloc[-1] - before[column].iloc[-1])
    return used, float(cpu["t"].iloc[-1] - before["t"].iloc[-1])


def _cores(used: float | None, span: float | None) -> float | None:
    return used / span if used is not None and span else None


def server_figures(samples: pd.DataFrame, start: float, end: float) -> dict[str, float | None]:
    """Memory, and the CPU the server and this machine's load generator had: seconds, and
    mean cores over the measured phase (so the cores the model's M assumed can be checked)."""
    idle = samples[samples["phase"] == "idle"]["server_pss_mb"].dropna()
    load = samples[(samples["t"] >= start) & (samples["t"] <= end)]
    load_pss = load["server_pss_mb"].dropna()
    cpu_s, span = _cpu_over(samples, "server_cpu_s", start, end)
    loadgen_s, loadgen_span = _cpu_over(samples, "loadgen_cpu_s", start, end)
    figures = {
        "server_pss_idle_mb": float(idle.median()) if len(idle) else None,
        "server_pss_peak_mb": float(load_pss.max()) if len(load_pss) else None,
        "server_cpu_s": cpu_s,
        "server_cores": _cores(cpu_s, span),
        "loadgen_cores": _cores(loadgen_s, loadgen_span),
    }
    if "db_cpu_s" in samples and samples["db_cpu_s"].notna().any():  # io = db points
        db_s, db_span = _cpu_over(samples, "db_cpu_s", start, end)
        figures.update(db_cpu_s=db_s, db_cores=_cores(db_s, db_span))
    return figures


def db_figures(answered: pd.DataFrame) -> dict[str, float | None]:
    """io = db: how long answers waited for a pool connection and how long their query
    took, from each answer's Server-Timing header; nothing for sleep points."""
    timings = answered["server_timing"].dropna().astype(str)
    timings = timings[timings != ""]
    if not len(timings):
        return {}
    parsed = [parse_timing(t) for t in timings]
    waits = [w for w, _ in parsed if w is not None]
    queries = [q for _, q in parsed if q is not None]
    return {
        "pool_wait_p50_ms": float(np.percentile(waits, 50)) if waits else None,
        "pool_wait_p99_ms": float(np.percentile(waits, 99)) if waits else None,
        "query_p50_ms": float(np.percentile(queries, 50)) if queries else None,
    }


def worker_figures(answered: pd.DataFrame, workers: int) -> dict[str, float | None]:
    """Who answered: distinct server processes among the ok answers, and the busiest and
    idlest process's share of them (a process that answered nothing has share 0)."""
    named = pd.to_numeric(answered["worker"], errors="coerce").dropna()  # a PID, or nothing
    if not len(named):
        return dict.fromkeys(("workers_seen", "busiest_share", "idlest_share"))
    per_worker = named.astype("int64").value_counts()
    idlest = per_worker.min() if len(per_worker) >= workers else 0
    return {
        "workers_seen": len(per_worker),
        "busiest_share": float(per_worker.max() / len(named)),
        "idlest_share": float(idlest / len(named)),
    }


def none_if_nan(row: dict) -> dict:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
