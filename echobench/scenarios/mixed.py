"""Mixed: a fast page beside slow echoes, judged by the fast page's latency."""

from __future__ import annotations

import pandas as pd

from echobench.metrics import percentiles
from echobench.scenarios.steady import Steady
from echobench.style import k_label, ordered_configs


class Mixed(Steady):
    any_app = False  # its fast page is the echo app's GET /
    name = "mixed"
    title = "Mixed: fast page beside slow echoes"
    order = 3
    user_classes = ("EchoUser", "PageUser")
    user_modules = ("loadtests.users.steady", "loadtests.users.mixed")
    extra_users = 1
    headline, higher_is_better = "fast_p50_ms", False
    report_latencies = ("fast_p50_ms", "fast_p99_ms")

    def extra_figures(self, requests: pd.DataFrame, start: float, stop: float) -> dict:
        """The fast `GET /` stream sent inside the window: head-of-line blocking."""
        fast = requests[
            (requests["kind"] == "page")
            & (requests["sent_at"] >= start)
            & (requests["sent_at"] < stop)
        ]
        fast_p = percentiles(fast[fast["outcome"] == "ok"]["latency_ms"])
        return {
            "fast_requests": len(fast),
            "fast_ok": int((fast["outcome"] == "ok").sum()),
            "fast_p50_ms": fast_p["p50_ms"],
            "fast_p99_ms": fast_p["p99_ms"],
            "fast_max_ms": fast_p["max_ms"],
        }

    def findings(self, summary: pd.DataFrame) -> list[str]:
        """Per point: how long the fast page waited behind the slow echoes."""
        data = self.rows(summary).dropna(subset=["fast_p50_ms"])
        lines = []
        for config in ordered_configs(data["config"]):
            for row in data[data["config"] == config].itertuples():
                lines.append(
                    f"{config} (K={k_label(row.capacity)}, C={row.users}): the fast page took "
                    f"{row.fast_p50_ms:.1f} ms at the median, {row.fast_p99_ms:.1f} ms at p99, "
                    f"while slow requests wait {row.delay_s:g} s."
                )
        return lines


MIXED = Mixed()
