"""Calibration: each config's zero-delay capacity R0 and the load generator's ceiling."""

from __future__ import annotations

from echobench.scenarios.base import Point
from echobench.scenarios.steady import Steady


class Calibrate(Steady):
    any_app = False  # a zero-delay echo: the echo app's R0
    name = "calibrate"
    title = "Calibrate: zero-delay capacity R0 of each config on this machine"
    order = 0  # first: the points that use R0 come after it
    fresh_connections = True
    calibrates = True
    judged_by_model = False  # it measures what the model takes as given
    memory_under_load = False  # zero delay: nothing is held
    has_ideal_latency = False
    report_rates = ("r0_minimal_rps",)

    def demanded_rps(self, p: Point) -> None:
        return None

    def ideal_rps(self, p: Point) -> None:
        return None  # this measures the capacity the model takes as given

    def summarize(self, p: Point, requests, marks: dict) -> tuple:
        """The locust figures, and beside them what the package's minimal client measured
        against the same server right after (echobench/rawclient.py)."""
        row, timed, start, stop = super().summarize(p, requests, marks)
        said = marks.get("r0_minimal") or {}
        row.update(r0_minimal_rps=said.get("rps"), r0_minimal_cpu_pct=said.get("cpu_pct"))
        return row, timed, start, stop

    def findings(self, summary) -> list[str]:
        return []  # R0 is said where it is used: the scale findings


CALIBRATE = Calibrate()
