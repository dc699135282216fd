"""The steady closed loop: C users sending echoes back to back, judged by their rate."""

from __future__ import annotations

import pandas as pd

from echobench.scenarios.base import Point, Scenario
from echobench.style import k_label, ordered_configs


class Steady(Scenario):
    name = "steady"
    title = "Steady: closed-loop users (latency understated by coordinated omission)"
    order = 2
    memory_under_load = True

    def stagger_s(self, p: Point) -> float:
        return p.delay_s

    def findings(self, summary: pd.DataFrame) -> list[str]:
        """Per config measured at two loads or more: its rate and latency at the highest."""
        data = self.rows(summary)
        lines = []
        for config in ordered_configs(data["config"]):
            rows = data[data["config"] == config].sort_values("users")
            if rows["users"].nunique() < 2:
                continue
            top = rows.iloc[-1]
            k = float(top["capacity"])
            state = (
                "below its K" if top["users"] <= k else f"past its K = {k_label(top['capacity'])}"
            )
            lines.append(
                f"{config}: at C = {top['users']} ({state}) it served {top['rps']:.1f} "
                f"req/s against an ideal {top['ideal_rps']:.1f} "
                f"(efficiency {top['efficiency']:.3f}), median "
                f"latency {top['p50_ms'] / 1000:.3f} s against an ideal "
                f"{top['ideal_latency_ms'] / 1000:.3f} s."
            )
        return lines


STEADY = Steady()
