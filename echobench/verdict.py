"""Whether a point can be trusted: problems as data, and the rules that judge a row.

A problem has a cause and says whether it invalidates the point; `judge` reads causes
and flags, never message text, so rewording a message cannot flip a point's validity.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from echobench.scenarios import SCENARIOS

# The load generator is bound at this share of one core (per locust process).
LOADGEN_BOUND_PCT = 90.0
# ... or when a point demands this share of the load generator's calibrated ceiling.
LOADGEN_CEILING_SHARE = 0.8
# ... but only a ceiling measured this many times decides a point's validity.
MIN_CEILING_SAMPLES = 2
# Worker clocks are set to the master's by ping; beyond this uncertainty it is said.
CLOCK_TOLERANCE_S = 0.005


@dataclass(frozen=True)
class Problem:
    """Something that went wrong or is worth saying about one point."""

    cause: str  # which part failed or is worth saying: SERVER, LOADGEN, ... below
    text: str
    invalidates: bool = True

    def __str__(self) -> str:
        return self.text


# Causes. Remarks (invalidates=False) are said on the row without invalidating it.
SERVER = "server"  # did not start, answered the verification wrongly, died mid-point
LOADGEN = "loadgen"  # locust failed, hung, or its workers never came
LOADGEN_CPU = "loadgen_cpu"  # locust warned about its CPU: the point is load-generator bound
WORKERS = "workers"  # a distributed point lost a worker, records, or a version check
BURST_COUNT = "burst_count"  # a burst sent other than n requests
EXTERNAL = "external"  # remark: a --target server is not sampled or restarted
CLOCK = "clock"  # remark: worker clocks known only to within some milliseconds
DATABASE = "database"  # io = db: PostgreSQL could not start, or died mid-point
DATABASE_RESTART = "database_restart"  # remark: PostgreSQL had died and was restarted
FAULT = "fault"  # a slow or crash point's fault could not be made (faults.py)
KILLED = "killed"  # remark: the crash scenario's kill took a one-process server down
MODEL_GAP = "model_gap"  # remark: a valid rate point more than MODEL_TOLERANCE off the model

# A point further than this from the model's ideal says why in its note.
MODEL_TOLERANCE = 0.10


def remark(cause: str, text: str) -> Problem:
    return Problem(cause, text, invalidates=False)


def judge(
    row: dict,
    problems: list[Problem],
    demanded_rps: float | None = None,
    ceiling_rps: float | None = None,
    ceiling_samples: int = 2,
) -> dict:
    """Add loadgen_bound, valid and note: a point is valid only if nothing undermined it.

    The load generator is bound when its CPU peak reached LOADGEN_BOUND_PCT of a core,
    when locust warned about its CPU, or when the point demands LOADGEN_CEILING_SHARE
    or more of the load generator's calibrated ceiling, if that ceiling rests on at least
    two calibration samples (on one, the demand is said but decides nothing: one sample
    of a shared machine is one moment of a moving target).
    """
    notes = [p.text for p in problems]
    peak = row.get("loadgen_cpu_peak_pct")
    bound = peak is not None and peak >= LOADGEN_BOUND_PCT
    if bound:
        notes.append(f"load generator at {peak:.0f}% of a core{_client_share(row)}")
    if demanded_rps and ceiling_rps and demanded_rps >= LOADGEN_CEILING_SHARE * ceiling_rps:
        said = (f"demands {demanded_rps:.0f} req/s, over {LOADGEN_CEILING_SHARE:.0%} of the "
                f"load generator's calibrated ceiling of {ceiling_rps:.0f} req/s")  # fmt: skip
        if ceiling_samples >= MIN_CEILING_SAMPLES:
            bound = True
        else:
            said += " (one calibration sample: said, not decisive)"
        notes.append(said)
    if any(p.cause == LOADGEN_CPU for p in problems):
        bound = True
    if not row.get("requests"):
        notes.append("no request was measured")
    for key, label in (
        ("failed", "failed"),
        ("timeouts", "timed out"),
        ("unfinished", "unfinished at end"),
    ):
        if row.get(key):
            notes.append(f"{row[key]} {label}")
    broken = _broken(row, problems)
    return {**row, "loadgen_bound": bound, "valid": not (bound or broken), "note": "; ".join(notes)}


def _client_share(row: dict) -> str:
    """What the client took of the machine, measured: its cores over the window and its
    CPU per request (the server's M stays the machine's: it had what the client left)."""
    said = []
    if row.get("loadgen_cores") is not None:
        said.append(f"{row['loadgen_cores']:.2f} of the machine's {row.get('cores') or '?'} cores")
    if row.get("loadgen_cpu_us_per_request") is not None:
        said.append(f"{row['loadgen_cpu_us_per_request']:.0f} us per request")
    return f" ({', '.join(said)})" if said else ""


def model_gap(row: dict) -> Problem | None:
    """Why a closed-loop point's rate (or a burst's makespan) is more than MODEL_TOLERANCE
    off the model, from what was measured beside it: how the answers spread over the
    server's processes and the rate (or rounds) the busiest one alone allows, the cores
    the server had, the database's costs, the median latency, how few answers the window
    held, and a burst's own send spread. None within tolerance.
    """
    eff = row.get("efficiency")
    scenario_def = SCENARIOS.get(row.get("scenario"))
    if scenario_def is None or not scenario_def.judged_by_model or eff is None:
        return None
    if 1.0 - MODEL_TOLERANCE <= eff <= 1.0 + MODEL_TOLERANCE:
        return None
    reasons = scenario_def.gap_causes(row)
    found = [r for r in reasons if r]
    head = f"{abs(1 - eff):.0%} {'below' if eff < 1 else 'above'} the model"
    tail = "; ".join(found) or "no measured cause: see the server and load-generator CPU columns"
    return remark(MODEL_GAP, f"{head}: {tail}")


def _broken(row: dict, problems: list[Problem]) -> bool:
    return any(p.invalidates for p in problems) or not row.get("requests")


def judge_calibration(row: dict, problems: list[Problem]) -> dict:
    """A zero-delay point saturates something by design; only breakage makes it invalid."""
    judged = judge(row, problems)
    if judged["loadgen_bound"]:
        judged["note"] += (
            "; R0 is a lower bound of the server's capacity: the load generator was the busier side"
        )
    return {**judged, "valid": not _broken(row, problems)}


def calibration_figures(samples: list[dict]) -> dict:
    """run.json's calibration from every sample: R0 per config (the median of its samples,
    kept apart with the database's round trip), the load generator's ceiling (the median
    of what each sample implies) and the spread of both, so a drift shows. Each sample
    has two clients' rates, locust's and the minimal client's (rawclient.py), and gives
    the faster of those whose client was not bound; a sample where both were bound
    measured the clients, not the server: it gives no R0, and a config with only such
    samples gets `..._lower_bound` (R0 >= the best of them), never an R0."""
    figures: dict = {}
    for io, key in (("sleep", "r0_rps"), ("db", "r0_db_rps")):
        per_config: dict[str, list[float]] = {}
        bound: dict[str, list[float]] = {}
        minimal: dict[str, list[float]] = {}
        for s in samples:
            if s.get("io", "sleep") != io:
                continue
            free = [] if s.get("client_bound") else [s["r0_rps"]]
            if s.get("r0_minimal_rps"):
                minimal.setdefault(s["config"], []).append(s["r0_minimal_rps"])
                if not s.get("minimal_bound"):
                    free.append(s["r0_minimal_rps"])
            if free:  # the faster client that was not itself the bottleneck
                per_config.setdefault(s["config"], []).append(max(free))
            else:
                seen = [s["r0_rps"], s.get("r0_minimal_rps") or 0.0]
                bound.setdefault(s["config"], []).append(max(seen))
        if minimal:  # the minimal client's own R0, and locust's beside it (the check)
            figures[f"{key}_minimal"] = {c: statistics.median(v) for c, v in minimal.items()}
        if per_config:
            figures[key] = {c: statistics.median(v) for c, v in per_config.items()}
            figures[f"{key}_range"] = {c: [min(v), max(v)] for c, v in per_config.items()}
        lower = {c: max(v) for c, v in bound.items() if c not in per_config}
        if lower:
            figures[f"{key}_lower_bound"] = lower
    ceilings = [s["loadgen_ceiling_rps"] for s in samples if s.get("loadgen_ceiling_rps")]
    if ceilings:
        figures["loadgen_ceiling_rps"] = statistics.median(ceilings)
        figures["loadgen_ceiling_range"] = [min(ceilings), max(ceilings)]
        figures["loadgen_ceiling_samples"] = len(ceilings)
        figures["loadgen_ceiling_method"] = (
            "zero-delay rps / CPU share per locust process: the median over every "
            f"calibrate point so far; decides validity from {MIN_CEILING_SAMPLES} samples"
        )
    return figures


def loadgen_ceiling_rps(row: dict) -> float | None:
    """What the load generator could send with each locust process at a full core.

    A valid calibration row measured `rps` with each process at `loadgen_cpu_peak_pct`
    of a core, so rps x 100 / that share (None when either is missing).
    """
    cpu = row.get("loadgen_cpu_peak_pct")
    if not row.get("valid") or not row.get("rps") or not cpu:
        return None
    return row["rps"] * 100.0 / cpu


def roll_call_problems(roll: dict) -> list[Problem]:
    """What a distributed point's roll call (workers.json) says went wrong."""
    workers = roll["workers"].values()
    problems = []
    done = [w for w in workers if w.get("done") and not w.get("late")]
    if len(done) < roll["expected"]:
        problems.append(
            Problem(
                WORKERS,
                f"{len(done)} of {roll['expected']} load-generator workers finished their "
                "share; the requests of the others are missing",
            )
        )
    for w in workers:
        if w.get("lost"):
            problems.append(Problem(WORKERS, f"worker {w.get('index')} was lost mid-point"))
        if w.get("late"):
            problems.append(
                Problem(
                    WORKERS,
                    f"worker {w.get('index')} joined mid-point "
                    "(locust moved users between workers)",
                )
            )
    for w in done:
        who = f"worker {w.get('index')} ({w.get('host')}, pid {w.get('pid')})"
        if w.get("rows_received", 0) != w.get("rows_sent"):
            problems.append(
                Problem(
                    WORKERS,
                    f"{who} sent {w.get('rows_sent')} records, {w.get('rows_received', 0)} arrived",
                )
            )
        if w.get("fingerprint") != roll["fingerprint"]:
            problems.append(
                Problem(WORKERS, f"{who} runs another echobench version than the master")
            )
        if w.get("clock_rtt_s") is None:
            problems.append(
                Problem(WORKERS, f"{who} could not measure its clock offset to the master")
            )
    rtts = [w["clock_rtt_s"] for w in done if w.get("clock_rtt_s") is not None]
    if rtts and max(rtts) / 2 > CLOCK_TOLERANCE_S:
        problems.append(
            remark(
                CLOCK,
                f"worker clocks known to within ±{1000 * max(rtts) / 2:.0f} ms of the master's",
            )
        )
    return problems
