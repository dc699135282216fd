"""`echobench advise`: the user's workload and machine in, configs ranked out.

The throughput and latency of each candidate are the model's (model.py), at the
user's own D, c, C, pool and cores; its memory is measured, from the fitted costs
(costs.py) of the newest run that measured them, else of the committed reference
runs; and the nearest cell the decision map measured says how far the workload is from
a measurement, and whether the measurement agreed with the model there. Each figure
says which of the two it is.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pandas as pd

from echobench import costs, decision, derived, model, results
from echobench.configs import (
    FAMILIES,
    MAX_THREADS,
    MAX_WORKERS,
    ConfigError,
    ServerConfig,
    get_config,
)
from echobench.database import DEFAULT_MAX_CONNECTIONS
from servers.contract import MAX_DELAY_S, MAX_WORK_MS

# The committed runs whose costs are fitted when no run of the user's has them.
REFERENCE_RUNS = ("reference", "reference-servers", "reference-crossover", "reference-db")
# A config "does the job" when its model rate is within this share of the best one's.
WITHIN = 0.01


@dataclass(frozen=True)
class Workload:
    wait_s: float
    cpu_s: float
    users: int
    cores: int
    memory_mb: float
    p99_s: float | None = None
    pool: int | None = None  # database connections per process
    max_connections: int | None = None

    def __post_init__(self) -> None:
        if self.wait_s + self.cpu_s <= 0:
            raise ValueError("--wait and --cpu cannot both be zero: a request takes some time")
        if self.users < 1 or self.cores < 1:
            raise ValueError("--users and --cores must be at least 1")
        pooled = self.pool is not None and self.max_connections is not None
        if pooled and self.pool > self.max_connections:
            raise ValueError(
                f"--pool {self.pool} is larger than --max-connections "
                f"{self.max_connections}: one process could not open it"
            )
        if (self.pool is None) != (self.max_connections is None):
            raise ValueError("--pool and --max-connections go together (a database behind "
                             "the wait has both)")  # fmt: skip


@dataclass
class Pick:
    config: str
    slots: float  # K, with the pool and the database's limit where there is one
    processes: int  # P
    rps: float  # model
    latency_ms: float  # model: C / X, a mean (a p99 is at least this)
    memory_mb: float | None  # measured fits
    memory_says: str  # how the memory figure was made, or why there is none
    meets_p99: bool | None  # model latency within the target (None: no target)
    fits_memory: bool | None  # the memory estimate within the machine's
    does_the_job: bool = False
    notes: list[str] = field(default_factory=list)


def candidates(w: Workload) -> list[ServerConfig]:
    """The families at sizes that make sense for the machine: one process, one per core,
    threads for every user, and "just add workers" (K = C, up to the worker limit)."""
    m, c = w.cores, w.users
    threads = min(MAX_THREADS, math.ceil(c / m))
    ids = ["fastapi-async", f"fastapi-async-{m}" if m > 1 else None, f"flask-gevent-{m}",
           f"flask-gthread-{m}x{threads}", "fastapi-threadpool", f"flask-sync-{m}",
           f"flask-sync-{min(c, MAX_WORKERS)}"]  # fmt: skip
    out = []
    for config_id in dict.fromkeys(i for i in ids if i):
        try:
            out.append(get_config(config_id))
        except ConfigError:
            continue
    return out


def slots(config: ServerConfig, w: Workload) -> float:
    """K at this workload: the server's, or behind a database the least of it, every
    process's pool together and the database's connection limit."""
    if w.pool is None:
        return config.capacity
    return min(config.capacity, config.workers * w.pool, w.max_connections)


def reference_root() -> Path:
    """Where the committed reference runs are: ./results, else the checkout's own."""
    here = results.RESULTS_ROOT
    if (here / REFERENCE_RUNS[0] / "summary.csv").exists():
        return here
    return Path(__file__).resolve().parents[1] / "results"


def memory_source() -> tuple[str, pd.DataFrame]:
    """The run whose fitted costs advise: results/latest if it fits both a per-worker and a
    per-request cost, else the committed reference runs together (their sleeping points)."""
    latest = results.LATEST
    if latest.exists():
        try:
            summary = derived.sleeping(results.load_summary(latest))
        except results.ResultsError:
            summary = pd.DataFrame()
        if len(summary) and costs.per_worker(summary) and costs.per_request(summary):
            return f"your run {latest.resolve().name}", summary
    frames = []
    for name in REFERENCE_RUNS:
        folder = reference_root() / name
        if (folder / "summary.csv").exists():
            frames.append(derived.sleeping(results.load_summary(folder)))
    if not frames:
        return "no run", pd.DataFrame()
    return "the reference runs (" + ", ".join(REFERENCE_RUNS) + ")", pd.concat(frames)


def memory_mb(config: ServerConfig, in_flight: float, summary: pd.DataFrame) -> tuple:
    """(MB, how) for `config` holding `in_flight` requests: the family's per-worker fit
    where it has one, else a measured config of the family plus the sync workers' fit
    per extra process (said as borrowed); plus the per-request fit of the family's
    measured config times the requests in flight (said when not measurable)."""
    if summary.empty or derived.loaded(summary).empty:
        return None, "no measured memory to fit"
    workers = costs.per_worker(summary)
    bases = costs.base_mb(summary)
    measured = {}
    for config_id in bases.index:
        try:
            other = get_config(config_id)
        except ConfigError:
            continue
        if other.family == config.family:
            measured[other.workers] = (config_id, float(bases[config_id]))
    if config.family in workers:
        fit = workers[config.family]
        total = fit.intercept + fit.slope * config.workers
        how = [f"{config.family} per-worker fit ({fit.text()} per worker)"]
    elif measured:
        n = min(measured, key=lambda k: abs(k - config.workers))
        known, base = measured[n]
        total, how = base, [f"{known} measured {base:.0f} MB"]
        if config.workers != n:
            borrowed = workers.get(derived.SYNC_FAMILY)
            if borrowed is None:
                return None, f"{known} measured, but no per-worker fit to scale it"
            total += (config.workers - n) * borrowed.slope
            how.append(f"{config.workers - n:+d} processes at the {derived.SYNC_FAMILY} "
                       f"fit's {borrowed.slope:.1f} MB each (borrowed)")  # fmt: skip
    else:
        return None, f"no {config.family} config measured"
    per_request = costs.per_request(summary)
    fitted = [f for c, f in per_request.items() if _family(c) == config.family]
    if config.model == "sync":
        how.append("a request holds a whole worker")
    elif fitted and fitted[0].measurable:
        total += fitted[0].slope * in_flight
        how.append(f"{in_flight:.0f} in flight at {fitted[0].slope:.3g} MB each")
    else:
        how.append("per request in flight: not measurable at this resolution")
    return total, "; ".join(how)


def _family(config_id: str) -> str | None:
    try:
        return get_config(config_id).family
    except ConfigError:
        return None


def rank(w: Workload, summary: pd.DataFrame | None = None) -> list[Pick]:
    """Every candidate with its model figures and measured memory: the ones that do the
    job (model rate within WITHIN of the best, p99 target and memory met) first, by
    memory; then the rest by rate."""
    summary = memory_source()[1] if summary is None else summary
    picks = []
    for config in candidates(w):
        k = slots(config, w)
        rps = model.ideal_rps(w.users, k, w.wait_s, w.cpu_s, config.parallel, w.cores)
        latency = model.ideal_latency_s(w.users, k, w.wait_s, w.cpu_s, config.parallel, w.cores)
        mb, how = memory_mb(config, model.in_flight(w.users, k), summary)
        picks.append(Pick(config.id, k, config.parallel, rps, 1000.0 * latency, mb, how,
                          None if w.p99_s is None else latency <= w.p99_s,
                          None if mb is None else mb <= w.memory_mb))  # fmt: skip
    best = max(p.rps for p in picks)
    for p in picks:
        p.does_the_job = (p.rps >= best * (1 - WITHIN) and p.meets_p99 is not False
                          and p.fits_memory is not False)  # fmt: skip
        if p.config.startswith("flask-sync") and p.slots < w.users:
            p.notes.append(f"K = {p.slots:g} < C = {w.users}: users queue for a worker")
        if p.fits_memory is False:
            p.notes.append(f"needs about {p.memory_mb:.0f} MB of the machine's {w.memory_mb:.0f}")
    jobs = sorted((p for p in picks if p.does_the_job),
                  key=lambda p: (p.memory_mb is None, p.memory_mb or 0.0))  # fmt: skip
    rest = sorted((p for p in picks if not p.does_the_job), key=lambda p: -p.rps)
    return jobs + rest


def nearest_cell(w: Workload) -> tuple[decision.Cell, float] | None:
    """The decision map's measured cell nearest the workload (in log D and CPU share),
    from the crossover reference run, with that distance."""
    folder = reference_root() / "reference-crossover"
    if not (folder / "summary.csv").exists():
        return None
    cells = decision.decide(results.load_summary(folder))
    if not cells:
        return None
    share = w.cpu_s / (w.wait_s + w.cpu_s)

    def distance(cell: decision.Cell) -> float:
        d = abs(math.log10(max(w.wait_s, 1e-4) / cell.delay_s))
        return math.hypot(d, share - cell.cpu_share)

    cell = min(cells, key=distance)
    return cell, distance(cell)


def as_json(w: Workload, picks: list[Pick], source: str, near) -> dict:
    cell, dist = near if near else (None, None)
    return {
        "workload": asdict(w),
        "model": "X = min(min(C, K) / (D + c), min(P, M) / c); latency C / X (a mean)",
        "memory_from": source,
        "picks": [{**asdict(p), "slots": None if math.isinf(p.slots) else p.slots}
                  for p in picks],  # JSON has no infinity: an unbounded K is null
        "nearest_measured_cell": None if cell is None else {
            "delay_s": cell.delay_s, "work_ms": cell.work_ms, "distance": dist,
            "winners": list(cell.winners), "decided": cell.decided,
            "model_agrees": cell.model_agrees, "model_winners": list(cell.model_winners),
            "repeats_enough": cell.rps is not None and cell.rps.known,
        },
    }  # fmt: skip


def text(w: Workload, picks: list[Pick], source: str, near, here_cores: int) -> str:
    """The plain answer: the workload, the ranking with each figure's origin, the map."""
    target = f", p99 target {1000 * w.p99_s:g} ms" if w.p99_s is not None else ""
    pool = (f", a pool of {w.pool} per process, max_connections {w.max_connections}"
            if w.pool is not None else "")  # fmt: skip
    lines = [
        f"Workload: wait D = {1000 * w.wait_s:g} ms, CPU c = {1000 * w.cpu_s:g} ms, C = "
        f"{w.users} users{pool}{target}; machine: {w.cores} cores, {w.memory_mb:,.0f} MB"
        + (f" (this machine has {here_cores})" if here_cores != w.cores else ""),
        "Throughput and latency: the model, X = min(min(C, K)/(D + c), min(P, M)/c), "
        "latency C / X (a mean: a p99 is at least this).",
        f"Memory: fitted from {source} (base, per worker, per request in flight).",
        "",
    ]
    jobs = [p for p in picks if p.does_the_job]
    if jobs:
        mb = f", about {jobs[0].memory_mb:.0f} MB" if jobs[0].memory_mb else ""
        lines.append(f"The cheapest config that does the job: {jobs[0].config}{mb}")
    else:
        lines.append("No candidate meets the rate, the p99 target and the memory together.")
    lines.append("")
    header = (f"{'':2} {'config':<26} {'K':>9} {'P':>3} {'req/s (model)':>14} "
              f"{'latency ms (model)':>19} {'MB (measured fits)':>19}  notes")  # fmt: skip
    lines.append(header)
    for i, p in enumerate(picks, 1):
        k = "unbounded" if math.isinf(p.slots) else f"{p.slots:g}"
        mb = f"{p.memory_mb:,.0f}" if p.memory_mb is not None else "n/a"
        marks = ["does the job"] if p.does_the_job else []
        if p.meets_p99 is False:
            marks.append("over the p99 target")
        lines.append(f"{i:>2} {p.config:<26} {k:>9} {p.processes:>3} {p.rps:>14,.1f} "
                     f"{p.latency_ms:>19,.1f} {mb:>19}  {'; '.join(marks + p.notes)}")  # fmt: skip
    lines += ["", "How each memory figure was made:"]
    lines += [f"  {p.config}: {p.memory_says}" for p in picks]
    if near:
        cell, dist = near
        if cell.rps is not None and not cell.rps.known:
            said, agree = "measured fewer than 3 times, too few to name a winner", "is no test of"
        elif cell.decided:
            said, agree = f"{cell.winners[0]} won alone", "agreed with"
        else:
            said = f"a tie of {len(cell.winners)}" if cell.winners else "no config valid"
            agree = "agreed with"
        if cell.decided and not cell.model_agrees:
            agree = "differed from"
        lines += ["", f"Nearest measured cell of the decision map: D = "
                  f"{1000 * cell.delay_s:g} ms, c = {cell.work_ms:g} ms (distance {dist:.2f} "
                  f"in log10 D and CPU share): {said}; the measurement {agree} the model "
                  f"({' = '.join(cell.model_winners)}). Measured on the reference machine's "
                  "2 cores."]  # fmt: skip
    return "\n".join(lines)


def here_cores() -> int:
    import os

    return os.cpu_count() or 1


def here_memory_mb() -> float:
    import psutil

    return psutil.virtual_memory().total / (1024 * 1024)


def scaled(w: Workload, cores: int) -> tuple[Workload, float]:
    """The workload on a machine of `cores`: users (and the database's connection limit)
    in proportion to the cores, the same D, c and pool per process."""
    f = cores / w.cores
    conns = None if w.max_connections is None else max(w.pool or 1, round(w.max_connections * f))
    return Workload(w.wait_s, w.cpu_s, max(1, round(w.users * f)), cores, w.memory_mb,
                    w.p99_s, w.pool, conns), f  # fmt: skip


def scaled_config(config_id: str, f: float) -> str:
    """The same family with its processes scaled by f (at least 1): flask-sync-64 at a
    quarter is flask-sync-16; threads per process stay; one-process families stay."""
    cfg = get_config(config_id)
    name = FAMILIES[cfg.family].name
    if "N" not in name.split("-")[-1] and "NxT" not in name:
        return config_id
    n = min(MAX_WORKERS, max(1, round(cfg.workers * f)))
    scaled_id = name.replace("NxT", f"{n}x{cfg.threads}").replace("-N", f"-{n}")
    get_config(scaled_id)  # a size the family accepts, or ConfigError
    return scaled_id


def verify_profile(w: Workload, picks: list[Pick], cores: int, top: int = 3) -> str:
    """A profile that measures the top `top` picks at the workload scaled to `cores`,
    three repeats each, with the advice (the model at the scaled workload) in its
    `[advice]` table so the report can put the two side by side."""
    here, f = scaled(w, cores)
    if here.pool is not None:  # the run's database has its own limit: predict with it
        here = replace(here, max_connections=DEFAULT_MAX_CONNECTIONS)
    if here.wait_s > MAX_DELAY_S or 1000 * here.cpu_s > MAX_WORK_MS:
        raise ValueError(f"--verify measures waits up to {MAX_DELAY_S:g} s and CPU up to "
                         f"{MAX_WORK_MS:g} ms per request (the echo app's bounds)")  # fmt: skip
    chosen = list(dict.fromkeys(scaled_config(p.config, f) for p in picks[:top]))
    predicted = {}
    for config_id in chosen:
        cfg = get_config(config_id)
        k = slots(cfg, here)
        predicted[config_id] = (
            model.ideal_rps(here.users, k, here.wait_s, here.cpu_s, cfg.parallel, cores),
            1000 * model.ideal_latency_s(here.users, k, here.wait_s, here.cpu_s,
                                         cfg.parallel, cores),
        )  # fmt: skip
    slowest = min(rps for rps, _ in predicted.values())
    window = min(20.0, max(3.0, 200.0 / slowest))  # about 200 answers at the slowest
    warmup = min(10.0, max(0.3, max(lat for _, lat in predicted.values()) / 1000))
    load = f"D = {1000 * w.wait_s:g} ms, c = {1000 * w.cpu_s:g} ms"
    asked_here = f"{load}, C = {here.users} on {cores} cores"
    lines = [
        "# Written by `echobench advise --verify`: the top picks at the asked workload,",
        f"# scaled from {w.cores} to this machine's {cores} cores (users x {f:.3g}, processes",
        "# x the same), each measured 3 times; the report sets the advice beside the result.",
        f"description = {json.dumps(f'advise --verify: {len(chosen)} picks at {asked_here}')}",
        "repeat = 3",
        "",
        "[advice]",
        f"asked = {json.dumps(f'{load}, C = {w.users}, {w.cores} cores')}",
        f"scaled_by = {f:.6g}",
        "",
        "[advice.rps]",
        *[f"{json.dumps(c)} = {rps:.6g}" for c, (rps, _) in predicted.items()],
        "",
        "[advice.latency_ms]",
        *[f"{json.dumps(c)} = {lat:.6g}" for c, (_, lat) in predicted.items()],
        "",
        "[[groups]]",
        'scenario = "steady"',
        f"configs = {json.dumps(chosen)}",
        f"users = [{here.users}]",
        f"delay_s = {here.wait_s:.6g}",
        f"work_ms = {1000 * here.cpu_s:.6g}",
        f"warmup_s = {warmup:.3g}",
        f"window_s = {window:.3g}",
    ]  # fmt: skip
    if here.pool is not None:
        lines += ['io = "db"', f"pool = {here.pool}"]
    return "\n".join(lines) + "\n"
