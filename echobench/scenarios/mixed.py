"""Mixed: a fast page beside slow echoes, judged by the fast page's latency."""

from __future__ import annotations

import pandas as pd

from echobench.metrics import percentiles
from echobench.scenarios.steady import Steady


class Mixed(Steady):
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


MIXED = Mixed()
