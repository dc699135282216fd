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
