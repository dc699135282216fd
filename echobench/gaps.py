"""What was measured beside a point that can explain its gap to the model.

Each cause reads one summary row and says one measured thing, or None; a scenario lists
the causes that apply to it (`Scenario.gap_causes`) and verdict.model_gap joins what
they say. A leaf module: rows in, sentences out.
"""

from __future__ import annotations

import math

# The round trip is "slower than the model" when its median exceeds D + c by this share.
LATENCY_SLACK = 0.05
# Below this many answers in a window, counting alone moves a rate by over 2%.
FEW_ANSWERS = 50


def _work_s(row: dict) -> float:
    return (row.get("work_ms") or 0.0) / 1000.0


def uneven_workers(row: dict) -> str | None:
    """The busiest of N workers answered share s of the requests: it alone allows only
    (K / N) / (s x (D + c)) answers per second by its slots and 1 / (s x c) by its CPU."""
    share, workers = row.get("busiest_share"), row.get("workers") or 1
    if not share or workers <= 1 or share <= 1.1 / workers:
        return None
    text = f"the busiest of {workers} workers answered {share:.0%} of the requests"
    held_s, work_s = (row.get("delay_s") or 0.0) + _work_s(row), _work_s(row)
    caps = []
    slots = float(row.get("capacity") or math.inf) / workers
    if math.isfinite(slots) and held_s:
        caps.append(slots / (share * held_s))
    if work_s:
        caps.append(1.0 / (share * work_s))
    ideal = row.get("ideal_rps")
    if caps and (ideal is None or min(caps) < ideal):  # a cap above the ideal binds nothing
        text += f", which alone caps the rate at {min(caps):.0f} req/s"
    return text


def uneven_burst(row: dict) -> str | None:
    """A burst's busiest of N workers took share s of its n requests: through its K / N
    slots that is ceil(s x n / (K / N)) rounds of D + c, however idle the others were."""
    share, workers, n = row.get("busiest_share"), row.get("workers") or 1, row.get("users") or 0
    capacity = float(row.get("capacity") or math.inf)
    slots = capacity / workers
    if not share or workers <= 1 or not math.isfinite(slots):
        return None
    held = share * n
    rounds = math.ceil(round(held, 6) / slots)
    if rounds <= math.ceil(n / capacity):  # no more rounds than the model's: no cause
        return None
    took = rounds * ((row.get("delay_s") or 0.0) + _work_s(row))
    return (f"the busiest of {workers} workers answered {share:.0%} of the requests: "
            f"{held:.0f} through its {slots:g} slots is {rounds} rounds, {took:g} s")  # fmt: skip


def send_spread(row: dict) -> str | None:
    spread, ideal = row.get("send_spread_ms"), row.get("ideal_makespan_s")
    if not spread or not ideal or spread < 0.05 * 1000.0 * ideal:
        return None
    return f"the client's sends spread over {spread:.0f} ms"


def cores_short(row: dict) -> str | None:
    lanes = min(float(row.get("parallel") or 1), float(row.get("cores") or 1))
    server = row.get("server_cores")
    if not _work_s(row) or server is None or server >= 0.9 * lanes:
        return None
    loadgen = row.get("loadgen_cores")
    beside = f", the load generator {loadgen:.2f}" if loadgen is not None else ""
    return f"the server used {server:.2f} of the {lanes:g} cores the model gives it{beside}"


def slow_round_trip(row: dict) -> str | None:
    p50, ideal_ms = row.get("p50_ms"), row.get("ideal_latency_ms")
    if not p50 or not ideal_ms or p50 <= (1 + LATENCY_SLACK) * ideal_ms:
        return None
    queued = _work_s(row) or row.get("users", 0) > (row.get("capacity") or math.inf)
    uneven = uneven_workers(row)
    cause = (
        ""
        if queued or uneven or row.get("io") == "db"
        else " (the server's own cost per request and the round trip, on this machine)"
    )
    return f"a request took {p50:.1f} ms at the median against the model's {ideal_ms:.1f} ms{cause}"


def database_cost(row: dict) -> str | None:
    """io = db: a query slower than its D, a wait for a pool connection the model did not
    expect, or PostgreSQL's own CPU, each measured per answer or over the window."""
    if row.get("io") != "db":
        return None
    said = []
    query, delay_ms = row.get("query_p50_ms"), 1000.0 * (row.get("delay_s") or 0.0)
    if query and query > (1 + LATENCY_SLACK) * delay_ms:
        said.append(f"a query took {query:.1f} ms at the median against D = {delay_ms:g} ms")
    wait = row.get("pool_wait_p50_ms")
    queued = (row.get("users") or 0) > (row.get("capacity") or math.inf)
    if wait and wait > LATENCY_SLACK * delay_ms and not queued:
        said.append(f"answers waited {wait:.1f} ms for a pool connection at the median")
    db_cores = row.get("db_cores")
    if db_cores is not None and db_cores >= 0.1:
        said.append(f"PostgreSQL used {db_cores:.2f} cores")
    return "; ".join(said) or None


def few_answers(row: dict) -> str | None:
    ok = row.get("ok")
    if not ok or ok >= FEW_ANSWERS:
        return None
    return f"only {ok} answers in the window: one more or fewer moves the rate by {1 / ok:.0%}"
