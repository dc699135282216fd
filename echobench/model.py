"""The queueing model every measurement is held against (docs/methodology.md).

A request waits D seconds, holding one of K slots, then computes for c seconds of CPU,
still holding its slot and now also one of the P processes that can compute at once,
on M cores; K and P may be `math.inf`. With c = 0 everything below reduces to the
waiting-only model: min(C, K) / D, ceil(n / K) rounds of D.
"""

from __future__ import annotations

import math


def _cpu_lanes(parallel: float, cores: float) -> float:
    """Requests that can compute at once: min(P, M)."""
    return min(float(parallel), float(cores))


def db_slots(capacity: float, workers: int, pool: int, max_connections: float) -> float:
    """K behind a database: min(the server's slots K, the pool connections of all its
    processes N x pool, the connections the database accepts). Each process has its own
    pool, and a request holds a connection for its whole wait."""
    return min(capacity, workers * pool, max_connections)


def ideal_rps(
    users: int,
    capacity: float,
    delay_s: float,
    work_s: float = 0.0,
    parallel: float = math.inf,
    cores: float = math.inf,
) -> float:
    """Closed loop with C users: min( min(C, K) / (D + c), min(P, M) / c ).

    The slots bound: min(C, K) requests each held D + c (Little's law). The CPU bound:
    min(P, M) processes each finishing one request per c of CPU.
    """
    held_s = delay_s + work_s
    slots = min(users, capacity) / held_s if held_s > 0 else math.inf
    if work_s <= 0:
        return slots
    return min(slots, _cpu_lanes(parallel, cores) / work_s)


def ideal_latency_s(
    users: int,
    capacity: float,
    delay_s: float,
    work_s: float = 0.0,
    parallel: float = math.inf,
    cores: float = math.inf,
) -> float:
    """Closed loop, Little's law: C / X, and never less than the request's own D + c.

    Without CPU work this is D while C <= K, else D x C / K (each user waits its turn).
    """
    rate = ideal_rps(users, capacity, delay_s, work_s, parallel, cores)
    return max(delay_s + work_s, users / rate if rate else math.inf)


def ideal_makespan_s(
    requests: int,
    capacity: float,
    delay_s: float,
    work_s: float = 0.0,
    parallel: float = math.inf,
    cores: float = math.inf,
) -> float:
    """Burst of n simultaneous requests: the larger of two bounds.

    Slots: ceil(n / K) rounds of D + c (one round when K is inf). CPU: nothing computes
    before the first wait ends, then the busiest process computes ceil(n / P) requests
    and the cores n x c / M in all: D + max(ceil(n / P) x c, n x c / M).
    """
    if not requests:
        return 0.0
    slots = max(1, math.ceil(requests / capacity)) * (delay_s + work_s)
    if work_s <= 0:
        return slots
    per_process = math.ceil(requests / parallel) * work_s if math.isfinite(parallel) else 0.0
    per_core = requests * work_s / cores if math.isfinite(cores) else 0.0
    return max(slots, delay_s + max(per_process, per_core))


def efficiency(measured: float | None, ideal: float | None) -> float | None:
    """A rate ratio, 1.0 at the ideal: measured / ideal (None where either is missing)."""
    if measured is None or ideal is None or ideal == 0 or math.isnan(measured):
        return None
    return measured / ideal


def capacity_rps(
    capacity: float,
    delay_s: float,
    work_s: float = 0.0,
    parallel: float = math.inf,
    cores: float = math.inf,
) -> float:
    """The most answers per second a config sustains (open loop's capacity):
    K / (D + c), and at most min(P, M) / c."""
    return ideal_rps(math.inf, capacity, delay_s, work_s, parallel, cores)


def loop_loses_above_s(delay_s: float, workers: int, cores: float = math.inf) -> float:
    """The CPU per request c past which one event loop (at most 1 / c) answers less than
    N sync workers (min(N / (D + c), min(N, M) / c)) with enough users for both: 1 / c <
    N / (D + c) when c > D / (N - 1), and 1 / c < min(N, M) / c when more than one of
    them can compute (N > 1 and M > 1); inf when the loop never loses."""
    if workers <= 1 or cores <= 1:
        return math.inf
    return delay_s / (workers - 1)


def in_flight(users: int, capacity: float) -> float:
    """Requests a config holds at once under C closed-loop users: min(C, K)."""
    return min(float(users), float(capacity))


def head_of_line_wait_s(users: int, capacity: float, delay_s: float) -> float | None:
    """A fast request behind C slow ones on K slots waits for C - K + 1 releases,
    (C - K + 1) x D / K; None while a slot is free (C < K: no wait). Waiting only:
    with CPU work the wait also depends on the event loop's order (not modelled)."""
    k = float(capacity)
    if users < k:
        return None
    return (users - k + 1) * delay_s / k


def burst_floor_s(requests: int, delay_s: float, r0_rps: float) -> float:
    """The machine's floor for a burst: D + n / R0, with R0 the calibrated zero-delay rate."""
    return delay_s + requests / r0_rps
