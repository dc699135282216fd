"""A worker's clock offset to its master's, from ping round trips (Cristian's method).

Kept free of heavy imports: the locust process imports it too.
"""

from __future__ import annotations


def offset_from_pings(pings: list[tuple[float, float, float]]) -> tuple[float, float] | None:
    """(round trip, offset) from the ping with the shortest round trip, or None.

    Each ping is (sent, master's time in the reply, received), sent and received on
    the worker's clock. Adding the offset to the worker's clock gives the master's,
    to within half the round trip: the reply was stamped somewhere inside it.
    """
    if not pings:
        return None
    sent, master_time, received = min(pings, key=lambda p: p[2] - p[0])
    return received - sent, master_time - (sent + received) / 2
