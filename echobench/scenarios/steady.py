"""The steady closed loop: C users sending echoes back to back, judged by their rate."""

from __future__ import annotations

from echobench.scenarios.base import Point, Scenario


class Steady(Scenario):
    name = "steady"
    title = "Steady: closed-loop users (latency understated by coordinated omission)"
    order = 2
    memory_under_load = True

    def stagger_s(self, p: Point) -> float:
        return p.delay_s


STEADY = Steady()
