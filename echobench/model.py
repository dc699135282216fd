"""The queueing model every measurement is held against (see METHODOLOGY.md).

A request with delay D holds one of K slots for D seconds; K may be `math.inf`.
"""

from __future__ import annotations

import math


def ideal_rps(users: int, capacity: float, delay_s: float) -> float:
    """Closed loop with C users: min(C, K) / D (Little's law)."""
    return min(users, capacity) / delay_s


def ideal_latency_s(users: int, capacity: float, delay_s: float) -> float:
    """Closed loop: D while C <= K, else D * C / K (each user waits its turn)."""
    return delay_s * max(1.0, users / capacity)


def ideal_makespan_s(requests: int, capacity: float, delay_s: float) -> float:
    """Burst of n simultaneous requests: ceil(n / K) rounds of D (one round when K is inf)."""
    return max(1, math.ceil(requests / capacity)) * delay_s if requests else 0.0


def efficiency(measured: float | None, ideal: float | None) -> float | None:
    """A rate ratio, 1.0 at the ideal: measured / ideal (None where either is missing)."""
    if measured is None or ideal is None or ideal == 0 or math.isnan(measured):
        return None
    return measured / ideal


def capacity_rps(capacity: float, delay_s: float) -> float:
    """K / D: the most answers per second the slots allow (open loop's capacity)."""
    return capacity / delay_s


def in_flight(users: int, capacity: float) -> float:
    """Requests a config holds at once under C closed-loop users: min(C, K)."""
    return min(float(users), float(capacity))


def head_of_line_wait_s(users: int, capacity: float, delay_s: float) -> float | None:
    """A fast request behind C slow ones on K slots waits for C - K + 1 releases,
    (C - K + 1) x D / K; None while a slot is free (C < K: no wait)."""
    k = float(capacity)
    if users < k:
        return None
    return (users - k + 1) * delay_s / k


def burst_floor_s(requests: int, delay_s: float, r0_rps: float) -> float:
    """The machine's floor for a burst: D + n / R0, with R0 the calibrated zero-delay rate."""
    return delay_s + requests / r0_rps
