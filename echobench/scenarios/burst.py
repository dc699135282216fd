"""The burst: n simultaneous one-shot requests, judged by their makespan."""

from __future__ import annotations

import pandas as pd

from echobench import gaps, model
from echobench.metrics import counts
from echobench.scenarios.base import Point, Scenario
from echobench.style import k_label, ordered_configs


class Burst(Scenario):
    any_app = False  # its primed requests are built for the echo app
    name = "burst"
    title = "Burst: n simultaneous requests"
    order = 1
    user_classes = ("BurstUser",)
    user_modules = ("loadtests.users.burst",)
    headline, higher_is_better = "makespan_s", False
    release = "at_once"
    fixed_requests = True
    load_symbol = "n"
    report_rates = ("makespan_s", "ideal_makespan_s")
    report_latencies = ("send_spread_ms",)

    def demanded_rps(self, p: Point) -> None:
        """None: a burst asks no sustained rate of the client. Its requests are written
        before the release and leave in one loop; what the client then spends reading the
        answers is measured directly (loadgen_cpu_peak_pct), and a closed-loop ceiling,
        a whole request cycle per answer, does not describe it."""
        return None

    def client_timeout_s(self, p: Point) -> float:
        return self.deadline_s(p)

    def load_s(self, p: Point) -> float:
        return self.ideal_makespan_s(p)

    def max_load_s(self, p: Point) -> float:
        return self.deadline_s(p)

    def summarize(self, p: Point, requests: pd.DataFrame, marks: dict) -> tuple:
        """Every request counts; the makespan runs from the first send to the last answer."""
        echo = requests[requests["kind"] == "echo"]
        row = counts(echo)
        finished = echo.dropna(subset=["done_at"])
        makespan = None
        if len(echo) and not row["unfinished"] and len(finished):
            makespan = float(finished["done_at"].max() - echo["sent_at"].min())
        ideal = self.ideal_makespan_s(p)
        sent = echo["sent_at"].dropna()
        row.update(
            duration_s=makespan,
            makespan_s=makespan,
            ideal_makespan_s=ideal,
            # the client's own share of "simultaneous": first to last send
            send_spread_ms=1000.0 * float(sent.max() - sent.min()) if len(sent) else None,
            rps=row["ok"] / makespan if makespan else None,
            ideal_rps=p.users / ideal if ideal else None,
            efficiency=model.efficiency(ideal, makespan) if makespan else None,
        )
        return row, echo, marks.get("release"), marks.get("end")

    def gap_causes(self, row: dict) -> list[str | None]:
        return [gaps.uneven_burst(row), gaps.send_spread(row)]

    def findings(self, summary: pd.DataFrame) -> list[str]:
        """Per config and burst: its makespan against ceil(n/K) x D."""
        data = self.rows(summary)
        lines = []
        for config in ordered_configs(data["config"]):
            for row in data[data["config"] == config].itertuples():
                if pd.isna(row.makespan_s):
                    lines.append(
                        f"{config}: {row.users} simultaneous requests did not all finish "
                        f"({row.unfinished} unfinished, {row.failed} failed, "
                        f"{row.timeouts} timed out)."
                    )
                    continue
                lines.append(
                    f"{config} (K={k_label(row.capacity)}): {row.users} simultaneous "
                    f"requests at D = {row.delay_s:g} s answered in {row.makespan_s:.3f} s, "
                    f"{row.rps:.2f} req/s; "
                    f"ideal ceil(n/K) x D = {row.ideal_makespan_s:g} s, so efficiency "
                    f"{row.efficiency:.3f} of the ideal rate"
                    + ("" if row.valid else f" [invalid: {row.note}]")
                    + "."
                )
        return lines


BURST = Burst()
