"""An independent recomputation of a run's summary from its raw records.

Written from the definitions in results/README.md with plain Python (csv, math,
statistics): it calls no echobench code, so a bug in the code that wrote summary.csv
(metrics, model, verdict, the Point's timings) cannot hide behind itself. Warm-up,
window, K and the ideal are derived here from the point's parameters in run.json.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
import statistics
from pathlib import Path

BOUND_PCT = 90.0  # a locust process at 90% of a core sets the pace
CEILING_SHARE = 0.8  # a point demanding 80% of the calibrated ceiling is bound too
MIN_MEAN_S = 0.25  # no CPU mean over a shorter phase
WINDOW_S = 1.0  # CPU peaks are taken over windows of at least 1 s
CPU_WARNINGS = ("CPU usage above 90%", "exceeded cpu threshold")


# (id pattern, K, P, worker processes) of every config family: docs/servers.md's table.
CONFIGS = [
    (r"flask-sync-(\d+)", lambda n: int(n), lambda n: int(n), lambda n: int(n)),
    (r"flask-gthread-(\d+)x(\d+)", lambda n, t: int(n) * int(t), lambda n, t: int(n),
     lambda n, t: int(n)),
    (r"flask-gthread-(\d+)x(\d+)-reuseport", lambda n, t: int(n) * int(t),
     lambda n, t: int(n), lambda n, t: int(n)),
    (r"flask-granian-(\d+)x(\d+)", lambda n, t: int(n) * int(t), lambda n, t: int(n),
     lambda n, t: int(n)),
    (r"flask-waitress-(\d+)", lambda t: int(t), lambda t: 1, lambda t: 1),
    (r"flask-gevent-(\d+)", lambda n: int(n) * 1000, lambda n: int(n), lambda n: int(n)),
    (r"fastapi-async", lambda: math.inf, lambda: 1, lambda: 1),
    (r"fastapi-async-(\d+)", lambda n: math.inf, lambda n: int(n), lambda n: int(n)),
    (r"fastapi-granian-(\d+)", lambda n: int(n) * 1000, lambda n: int(n), lambda n: int(n)),
    (r"fastapi-gunicorn-uvicorn-(\d+)", lambda n: math.inf, lambda n: int(n),
     lambda n: int(n)),
    (r"fastapi-gunicorn-asgi-(\d+)", lambda n: int(n) * 1000, lambda n: int(n),
     lambda n: int(n)),
    (r"fastapi-hypercorn", lambda: math.inf, lambda: 1, lambda: 1),
    (r"fastapi-threadpool", lambda: 40, lambda: 1, lambda: 1),
    (r"fastapi-blocking", lambda: 1, lambda: 1, lambda: 1),
]  # fmt: skip


# Families whose own `+limitN` only queues (a listen backlog): it caps nothing they hold.
QUEUE_LIMITS = (r"flask-sync-\d+",)
# Scenarios whose load is arrivals at a rate (latency from the intended send), and closed
# loops whose users start staggered over one D.
OPEN_LOOP = ("open", "overload", "slow")
STAGGERED = ("steady", "mixed", "crash")


def _lookup(config: str, which: int) -> float:
    """K, P or worker processes of a config id; `+nginx` changes none of them, `+limitN`
    caps K at N (nginx's) or N per worker (a server's own that caps what it holds)."""
    base, *variant = config.split("+")
    limit = next((int(v[5:]) for v in variant if v.startswith("limit")), None)
    for pattern, *numbers in CONFIGS:
        match = re.fullmatch(pattern, base)
        if match:
            value = float(numbers[which](*match.groups()))
            if which != 0 or limit is None:
                return value
            if "nginx" in variant:
                return min(value, limit)
            if any(re.fullmatch(q, base) for q in QUEUE_LIMITS):
                return value
            return min(value, limit * float(numbers[2](*match.groups())))
    raise ValueError(f"no K and P known for {config}")


def capacity(config: str) -> float:
    """K: requests a config holds at once."""
    return _lookup(config, 0)


def parallel(config: str) -> float:
    """P: processes of a config that compute at once."""
    return _lookup(config, 1)


def workers(config: str) -> int:
    """The server processes that answer requests."""
    return int(_lookup(config, 2))


def _float(text: str) -> float | None:
    return float(text) if text not in ("", None) else None


def _rows(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as file:
        return list(csv.DictReader(file))


def quantile(values: list[float], q: float) -> float | None:
    """The q-th percentile with linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    pos = q / 100.0 * (len(ordered) - 1)
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def busiest_pct(times: list[float], cpu: list[float]) -> float | None:
    """Highest CPU share (% of a core): each window ends at a sample and starts at the
    latest earlier sample at least WINDOW_S before it."""
    best = None
    for i in range(len(times)):
        for j in range(i - 1, -1, -1):
            if times[i] - times[j] >= WINDOW_S:
                share = 100.0 * (cpu[i] - cpu[j]) / (times[i] - times[j])
                best = share if best is None else max(best, share)
                break
    return best


def slots(point: dict) -> float:
    """K at a point: the config's, or with io = db at most N x pool and the database's
    connections."""
    k = capacity(point["config"])
    if point.get("io") == "db":
        k = min(k, workers(point["config"]) * point["pool"], point["db_connections"])
    return k


def _timing_ms(header: str | None, name: str) -> float | None:
    found = re.search(rf"(?:^|,)\s*{name}\s*;[^,]*?dur=([0-9.]+)", header or "")
    return float(found.group(1)) if found else None


def _database(answered: list[dict]) -> dict:
    """Pool waits and queries of the answers, from their Server-Timing headers."""
    waits = [w for r in answered if (w := _timing_ms(r["timing"], "pool")) is not None]
    queries = [q for r in answered if (q := _timing_ms(r["timing"], "db")) is not None]
    if not waits and not queries:
        return {}
    return {
        "pool_wait_p50_ms": quantile(waits, 50),
        "pool_wait_p99_ms": quantile(waits, 99),
        "query_p50_ms": quantile(queries, 50),
    }


def timings(point: dict) -> dict:
    """K, ideal rate, latency, warm-up and the load the model asks for, from the point alone.

    A request waits D then computes c; K slots, P processes, M cores:
    X = min(min(C, K) / (D + c), min(P, M) / c); latency C / X, at least D + c.
    """
    scenario, d, c = point["scenario"], point["delay_s"], point["users"]
    work = point.get("work_ms", 0.0) / 1000.0
    k, p, m = slots(point), parallel(point["config"]), point.get("cores", 1)

    def rate(users: float) -> float:
        x = min(users, k) / (d + work) if d + work else math.inf
        return min(x, min(p, m) / work) if work else x

    out = {"k": k}
    if scenario in OPEN_LOOP:
        out["ideal_rps"] = min(point["rate"], rate(math.inf))
        out["ideal_latency_s"] = d + work if point["rate"] <= rate(math.inf) else math.inf
        out["warmup_s"] = max(point["warmup_s"], d)
        out["demanded_rps"] = point["rate"]
    else:
        out["ideal_rps"] = rate(c)
        out["ideal_latency_s"] = max(d + work, c / rate(c))
        stagger = d if scenario in STAGGERED else 0.0
        out["warmup_s"] = max(point["warmup_s"], stagger + out["ideal_latency_s"])
        if scenario == "burst":
            rounds = 1 if math.isinf(k) else math.ceil(c / k)
            cpu = max(math.ceil(c / p) * work, c * work / m) if work else 0.0
            out["ideal_makespan_s"] = max(rounds * (d + work), d + cpu)
            out["demanded_rps"] = c / out["ideal_makespan_s"]
        elif scenario in STAGGERED:
            out["demanded_rps"] = out["ideal_rps"]
    return out


RESETS = {
    "ConnectionResetError",
    "ConnectionRefusedError",
    "BrokenPipeError",
    "RemoteDisconnected",
    "ConnectionAbortedError",
    "StaleConnection",
    "IncompleteRead",
}


def _killed(raw: Path, echo: list[dict], stop: float) -> dict:
    """The crash point's losses, from its companion.json: in flight at the kill (sent
    before it, not done before it) and not ok; sent after it in the window and not ok."""
    import json

    said = json.loads((raw / "companion.json").read_text())
    killed = said.get("killed_at")
    if killed is None:
        return {}
    bad = ("failed", "timeout", "unfinished")
    in_flight = [r for r in echo if r["sent_at"] < killed
                 and not (r["done_at"] is not None and r["done_at"] < killed)]  # fmt: skip
    after = [r for r in echo if killed <= r["sent_at"] < stop]
    return {"lost_requests": sum(r["outcome"] in bad for r in in_flight),
            "failed_after_kill": sum(r["outcome"] in bad for r in after)}  # fmt: skip


def _requests_and_marks(raw: Path):
    files = sorted([*raw.glob("requests*.csv"), *raw.glob("requests*.csv.gz")])
    requests, per_file, sends = [], [], []
    for index, path in enumerate(files):
        rows = _rows(path)
        done = {r["req_id"]: r for r in rows if r["event"] == "done"}
        for send in (r for r in rows if r["event"] == "send"):
            end = done.get(send["req_id"])
            requests.append(
                {
                    "id": f"{index}:{send['req_id']}",
                    "kind": send["kind"],
                    "sent_at": _float(send["sent_at"]),
                    "intended_at": _float(send["intended_at"]),
                    "done_at": _float(end["done_at"]) if end else None,
                    "latency_ms": _float(end["latency_ms"]) if end else None,
                    "outcome": end["outcome"] if end else "unfinished",
                    "worker": (end.get("worker") or None) if end else None,
                    "timing": (end.get("server_timing") or None) if end else None,
                    "error": (end.get("error") or "") if end else "",
                }
            )
        per_file.append([r for r in rows if r["event"] == "mark"])
        sends.append(sum(1 for r in rows if r["event"] == "send" and r["sent_at"]))
    return requests, per_file, sends


def _client_us_per_request(per_file, sends_per_file) -> float | None:
    """The locust processes' CPU between their release and end marks over what they sent."""
    used, sent = 0.0, 0
    for marks, sends in zip(per_file, sends_per_file, strict=True):
        cpu = {m["kind"]: float(m["cpu_s"]) for m in marks}
        if "release" in cpu and "end" in cpu:
            used, sent = used + cpu["end"] - cpu["release"], sent + sends
    return 1e6 * used / sent if sent else None


def _loadgen_pct(per_file, samples, release, end, processes) -> float | None:
    found = []
    for marks in per_file:
        at = {m["kind"]: (float(m["sent_at"]), float(m["cpu_s"])) for m in marks}
        if "release" in at and "end" in at and at["end"][0] - at["release"][0] >= MIN_MEAN_S:
            found.append(
                100.0 * (at["end"][1] - at["release"][1]) / (at["end"][0] - at["release"][0])
            )
        clock = sorted(
            (float(m["sent_at"]), float(m["cpu_s"]))
            for m in marks
            if m["kind"] in ("release", "tick", "end")
        )
        peak = busiest_pct([t for t, _ in clock], [c for _, c in clock])
        if peak is not None:
            found.append(peak)
    if release is not None and end is not None and samples:
        inside = [
            (s["t"], s["loadgen_cpu_s"])
            for s in samples
            if release <= s["t"] <= end and s["loadgen_cpu_s"] is not None
        ]
        peak = busiest_pct([t for t, _ in inside], [c for _, c in inside])
        if peak is not None:
            found.append(peak / processes)
    return max(found) if found else None


def _grown(samples: list[dict], column: str, start: float, stop: float) -> tuple:
    """How much a cumulative CPU column grew from its last sample at or before the start
    to its last at or before the stop, and over how long."""
    cpu = [s for s in samples if s["t"] <= stop and s[column] is not None]
    before = [s for s in cpu if s["t"] <= start]
    if not cpu or not before:
        return None, None
    return cpu[-1][column] - before[-1][column], cpu[-1]["t"] - before[-1]["t"]


def _server(samples: list[dict], start: float, stop: float) -> dict:
    idle = [s["server_pss_mb"] for s in samples if s["phase"] == "idle" and s["server_pss_mb"]]
    load = [s["server_pss_mb"] for s in samples if start <= s["t"] <= stop and s["server_pss_mb"]]
    used, span = _grown(samples, "server_cpu_s", start, stop)
    loadgen, loadgen_span = _grown(samples, "loadgen_cpu_s", start, stop)
    found = {
        "server_pss_idle_mb": statistics.median(idle) if idle else None,
        "server_pss_peak_mb": max(load) if load else None,
        "server_cpu_s": used,
        "server_cores": used / span if span else None,
        "loadgen_cores": loadgen / loadgen_span if loadgen_span else None,
    }
    if any(s.get("db_cpu_s") is not None for s in samples):
        db, db_span = _grown(samples, "db_cpu_s", start, stop)
        found.update(db_cpu_s=db, db_cores=db / db_span if db_span else None)
    return found


def _workers(answered: list[dict], config: str) -> dict:
    """Distinct server processes among the ok answers; the busiest's and idlest's share."""
    named = [r["worker"] for r in answered if r["worker"]]
    if not named:
        return {"workers_seen": None, "busiest_share": None, "idlest_share": None}
    per = {w: named.count(w) for w in set(named)}
    declared = workers(config)
    idlest = min(per.values()) if len(per) >= declared else 0
    return {
        "workers_seen": len(per),
        "busiest_share": max(per.values()) / len(named),
        "idlest_share": idlest / len(named),
    }


def _samples(raw: Path) -> list[dict]:
    path = raw / "samples.csv"
    if not path.exists():
        return []
    numeric = ("t", "server_pss_mb", "server_cpu_s", "loadgen_cpu_s", "db_cpu_s")
    return [{**row, **{name: _float(row.get(name) or "") for name in numeric}}
            for row in _rows(path)]  # fmt: skip


def figures(point: dict, raw: Path, loadgen: dict) -> dict | None:
    """Every measured figure of one point (None when its records say it errored).

    `loadgen` is run.json's: how many locust processes ran on this machine.
    """
    scenario, c = point["scenario"], point["users"]
    t = timings(point)
    requests, per_file, sent_per_file = _requests_and_marks(raw)
    marks = [m for ms in per_file for m in ms]
    if any(m["kind"] == "error" for m in marks):
        return None
    releases = [float(m["sent_at"]) for m in marks if m["kind"] == "release"]
    ends = [float(m["sent_at"]) for m in marks if m["kind"] == "end"]
    release, end = (min(releases) if releases else None), (max(ends) if ends else None)
    samples = _samples(raw)
    echo = [r for r in requests if r["kind"] == "echo"]
    row: dict = {}

    if scenario == "burst":
        start, stop = release, end
        measured = echo
        finished = [r["done_at"] for r in echo if r["done_at"] is not None]
        unfinished = sum(r["outcome"] == "unfinished" for r in echo)
        makespan = (
            max(finished) - min(r["sent_at"] for r in echo)
            if echo and finished and not unfinished
            else None
        )
        ok = sum(r["outcome"] == "ok" for r in echo)
        sends = [r["sent_at"] for r in echo if r["sent_at"] is not None]
        row.update(
            send_spread_ms=1000.0 * (max(sends) - min(sends)) if sends else None,
            duration_s=makespan,
            makespan_s=makespan,
            ideal_makespan_s=t["ideal_makespan_s"],
            rps=ok / makespan if makespan else None,
            ideal_rps=c / t["ideal_makespan_s"],
            efficiency=t["ideal_makespan_s"] / makespan if makespan else None,
            ideal_latency_ms=None,
        )
        latencies = [r["latency_ms"] for r in measured if r["outcome"] == "ok"]
    else:
        start = (release or 0.0) + t["warmup_s"]
        stop = start + point["window_s"]
        born = "intended_at" if scenario in OPEN_LOOP else "sent_at"
        measured = [r for r in echo if start <= r[born] < stop]
        done_ok = [r for r in echo if r["outcome"] == "ok" and start <= r["done_at"] < stop]
        rps = len(done_ok) / point["window_s"] if release is not None else None
        ideal = None if scenario == "calibrate" else t["ideal_rps"]
        row.update(
            duration_s=point["window_s"],
            makespan_s=None,
            ideal_makespan_s=None,
            rps=rps,
            ideal_rps=ideal,
            efficiency=rps / ideal if rps is not None and ideal else None,
            ideal_latency_ms=1000.0 * t["ideal_latency_s"]
            if scenario != "calibrate" and math.isfinite(t["ideal_latency_s"])
            else None,
        )
        if scenario in OPEN_LOOP:  # from the intended send; the unanswered at their age at the end
            cutoff = end if end is not None else stop
            latencies = [
                1000.0 * (r["done_at"] - r["intended_at"]) for r in measured if r["outcome"] == "ok"
            ] + [
                1000.0 * (cutoff - r["intended_at"])
                for r in measured
                if r["outcome"] == "unfinished"
            ]
            # judged by the share answered within 2 x (D + c) of the intended send
            bound_ms = 2000.0 * (point["delay_s"] + point.get("work_ms", 0.0) / 1000.0)
            in_time = [r for r in measured if r["outcome"] == "ok"
                       and 1000.0 * (r["done_at"] - r["intended_at"]) <= bound_ms]  # fmt: skip
            row["answered_in_bound_share"] = len(in_time) / len(measured) if measured else None
            # goodput: those per second of the window; refused: a 503, a reset or refused
            row["goodput_rps"] = len(in_time) / point["window_s"] if measured else None
            shed = [r for r in measured if r["outcome"] == "failed" and (
                r["error"].startswith("status 503") or r["error"] in RESETS)]  # fmt: skip
            row["refused_share"] = len(shed) / len(measured) if measured else None
            lags = [1000.0 * (r["sent_at"] - r["intended_at"]) for r in measured
                    if r["sent_at"] is not None]  # fmt: skip
            row["send_lag_p99_ms"] = quantile(lags, 99)
        else:
            latencies = [r["latency_ms"] for r in measured if r["outcome"] == "ok"]
        if scenario == "crash":
            row.update(_killed(raw, echo, stop))
        if scenario == "mixed":
            fast = [r for r in requests if r["kind"] == "page" and start <= r["sent_at"] < stop]
            fast_ok = [r["latency_ms"] for r in fast if r["outcome"] == "ok"]
            row.update(
                fast_requests=len(fast),
                fast_ok=len(fast_ok),
                fast_p50_ms=quantile(fast_ok, 50),
                fast_p99_ms=quantile(fast_ok, 99),
                fast_max_ms=max(fast_ok) if fast_ok else None,
            )

    row.update(_workers([r for r in measured if r["outcome"] == "ok"], point["config"]))
    row.update(_database([r for r in measured if r["outcome"] == "ok"]))
    row.update(
        requests=len(measured),
        ok=sum(r["outcome"] == "ok" for r in measured),
        failed=sum(r["outcome"] == "failed" for r in measured),
        timeouts=sum(r["outcome"] == "timeout" for r in measured),
        unfinished=sum(r["outcome"] == "unfinished" for r in measured),
        p50_ms=quantile(latencies, 50),
        p90_ms=quantile(latencies, 90),
        p99_ms=quantile(latencies, 99),
        p999_ms=quantile(latencies, 99.9),
        max_ms=max(latencies) if latencies else None,
    )
    if start is not None and stop is not None and samples:
        row.update(_server(samples, start, stop))
    processes = 1 if loadgen.get("external_workers") else loadgen.get("processes", 1)
    row["loadgen_cpu_peak_pct"] = _loadgen_pct(per_file, samples, release, end, processes)
    row["loadgen_cpu_us_per_request"] = _client_us_per_request(per_file, sent_per_file)
    return row


def _roll_call_broken(raw: Path) -> bool:
    path = raw / "workers.json"
    if not path.exists():
        return False
    roll = json.loads(path.read_text())
    workers = list(roll["workers"].values())
    done = [w for w in workers if w.get("done") and not w.get("late")]
    return (
        len(done) < roll["expected"]
        or any(w.get("lost") or w.get("late") for w in workers)
        or any(w.get("rows_received", 0) != w.get("rows_sent") for w in done)
        or any(w.get("fingerprint") != roll["fingerprint"] for w in done)
        or any(w.get("clock_rtt_s") is None for w in done)
    )


def verdict(point: dict, raw: Path, row: dict, ceiling_rps: float | None,
            decisive: bool = True) -> dict:  # fmt: skip
    """loadgen_bound and valid by the rules in results/README.md; `decisive`: whether the
    ceiling rests on enough calibration samples to decide."""
    log = raw / "locust.log"
    warned = log.exists() and any(w in log.read_text(errors="replace") for w in CPU_WARNINGS)
    peak = row.get("loadgen_cpu_peak_pct")
    demanded = timings(point).get("demanded_rps")
    bound = (
        (peak is not None and peak >= BOUND_PCT)
        or warned
        or bool(decisive and demanded and ceiling_rps and demanded >= CEILING_SHARE * ceiling_rps)
    )
    broken = (
        not row.get("requests")
        or _roll_call_broken(raw)
        or (point["scenario"] == "burst" and row["requests"] != point["users"])
    )
    if point["scenario"] == "calibrate":
        return {"loadgen_bound": bound, "valid": not broken}
    return {"loadgen_bound": bound, "valid": not (bound or broken)}


def recompute_run(run_dir: Path) -> tuple[dict[str, dict], dict]:
    """Every point's row and the run's calibration, in the order the points ran."""
    meta = json.loads((run_dir / "run.json").read_text())
    rows: dict[str, dict] = {}
    calibration: dict = {}
    # Runs that keep their calibration samples judge by their median, and only from two
    # samples; older runs judged by the best calibrate point.
    by_samples = "samples" in (meta.get("calibration") or {})
    # From schema 2 on, a calibration whose client was bound gives a lower bound, no R0.
    bound_is_no_r0 = meta.get("schema_version", 1) >= 2
    r0: dict[str, list[float]] = {}
    ceilings: list[float] = []
    for point in meta["matrix"]:
        raw = run_dir / "raw" / point["point_id"]
        row = figures(point, raw, meta.get("loadgen") or {}) or {}
        decisive = len(ceilings) >= 2 or not by_samples
        if by_samples and point["scenario"] == "burst":
            decisive = False  # primed bursts: their client cost is measured, not predicted
        row.update(verdict(point, raw, row, calibration.get("loadgen_ceiling_rps"), decisive))
        if point["scenario"] == "calibrate" and row["valid"] and row.get("rps"):
            key = "r0_db_rps" if point.get("io") == "db" else "r0_rps"
            # the sample's R0: the faster of the clients that were not themselves at 90%
            # of a core (locust's, and the minimal client's when it ran: raw/r0_minimal.json)
            free = [] if bound_is_no_r0 and row.get("loadgen_bound") else [row["rps"]]
            seen = [row["rps"]]
            minimal = raw / "r0_minimal.json"
            said = json.loads(minimal.read_text()) if minimal.is_file() else {}
            if said.get("rps"):
                seen.append(said["rps"])
                if said.get("cpu_pct", 100.0) < 90.0:
                    free.append(said["rps"])
            if not free:
                lower = calibration.setdefault(f"{key}_lower_bound", {})
                lower[point["config"]] = max(lower.get(point["config"], 0.0), *seen)
            else:
                r0.setdefault(f"{key} {point['config']}", []).append(max(free))
                calibration.setdefault(key, {})[point["config"]] = (
                    statistics.median(r0[f"{key} {point['config']}"]) if by_samples else row["rps"]
                )
            cpu = row.get("loadgen_cpu_peak_pct")
            if cpu:  # a bound client's sample is the best measure of its own ceiling
                ceilings.append(row["rps"] * 100.0 / cpu)
                calibration["loadgen_ceiling_rps"] = (
                    statistics.median(ceilings) if by_samples else max(ceilings)
                )
        row["capacity"] = slots(point)
        row["parallel"] = parallel(point["config"])
        rows[point["point_id"]] = row
    for key in ("r0_rps", "r0_db_rps"):  # a config with an R0 needs no lower bound
        lower = calibration.get(f"{key}_lower_bound", {})
        for config in calibration.get(key, {}):
            lower.pop(config, None)
        if not lower:
            calibration.pop(f"{key}_lower_bound", None)
    return rows, calibration


CHECKED = [
    "capacity", "parallel", "requests", "ok", "failed", "timeouts", "unfinished", "duration_s",
    "rps", "ideal_rps", "makespan_s", "ideal_makespan_s", "send_spread_ms", "efficiency",
    "p50_ms", "p90_ms", "p99_ms", "send_lag_p99_ms",
    "p999_ms", "max_ms", "ideal_latency_ms", "answered_in_bound_share", "fast_requests",
    "fast_ok", "fast_p50_ms", "fast_p99_ms", "fast_max_ms", "server_pss_idle_mb",
    "server_pss_peak_mb", "server_cpu_s",
    "server_cores", "loadgen_cores", "workers_seen", "busiest_share", "idlest_share",
    "loadgen_cpu_peak_pct", "loadgen_bound", "valid", "loadgen_cpu_us_per_request",
    "pool_wait_p50_ms", "pool_wait_p99_ms", "query_p50_ms", "db_cpu_s", "db_cores",
    "goodput_rps", "refused_share", "lost_requests", "failed_after_kill",
]  # fmt: skip
# Columns added after the first reference runs were made: absent there, checked elsewhere.
ADDED = {
    *("parallel", "answered_in_bound_share", "send_spread_ms", "server_cores", "loadgen_cores"),
    *("workers_seen", "busiest_share", "idlest_share", "send_lag_p99_ms"),
    "loadgen_cpu_us_per_request",
    *("pool_wait_p50_ms", "pool_wait_p99_ms", "query_p50_ms", "db_cpu_s", "db_cores"),
    *("goodput_rps", "refused_share", "lost_requests", "failed_after_kill"),
}


def mismatches(stored: dict, row: dict) -> list[str]:
    """Every checked column where summary.csv and the recomputation disagree.

    summary.csv keeps 6 significant digits; an empty cell must be recomputed as None.
    """
    wrong = []
    for column in CHECKED:
        if column in ADDED and column not in stored:
            continue
        want, got = stored.get(column), row.get(column)
        missing = want is None or (isinstance(want, float) and math.isnan(want))
        if missing or got is None:
            if not (missing and got is None):
                wrong.append(f"{column}: stored {want!r}, recomputed {got!r}")
        elif isinstance(got, bool):
            if bool(want) is not got:
                wrong.append(f"{column}: stored {want!r}, recomputed {got!r}")
        elif not math.isclose(float(want), float(got), rel_tol=1e-5, abs_tol=1e-9):
            wrong.append(f"{column}: stored {want!r}, recomputed {got!r}")
    return wrong


def disagreements(run_dir: Path) -> tuple[dict[str, list[str]], dict]:
    """Per point, where summary.csv and the recomputation disagree; and the calibration."""
    rows, calibration = recompute_run(run_dir)
    with open(run_dir / "summary.csv", newline="") as file:
        stored = {r["point_id"]: r for r in csv.DictReader(file)}
    assert set(rows) == set(stored), "every point has a row, and only those"
    wrong = {}
    for pid, row in rows.items():
        cells = {k: _cell(v) for k, v in stored[pid].items()}
        if bad := mismatches(cells, row):
            wrong[pid] = bad
    return wrong, calibration


def _cell(text: str):
    if text in ("True", "False"):
        return text == "True"
    try:
        return float(text) if text != "" else None
    except ValueError:
        return text
