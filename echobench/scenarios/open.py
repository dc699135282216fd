"""The open loop: arrivals at a fixed rate, latency from each one's intended send time."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from echobench.scenarios.base import Point, Scenario

# The longest wait for a backlog to clear before its rest counts as unfinished.
OPEN_MAX_DRAIN_S = 30.0
# Judged by the share of arrivals answered within this many times a request's own D + c
# (a rate alone says nothing there: past capacity it sits at it).
OPEN_BOUND_FACTOR = 2.0


class Open(Scenario):
    name = "open"
    title = "Open loop: fixed arrival rate, latency from the intended send time"
    order = 4
    user_classes = ("OpenUser",)
    user_modules = ("loadtests.users.open",)
    headline, higher_is_better = "p99_ms", False
    release = "schedule"
    by_rate = True
    judged_by_model = False  # by the share answered in time: its rate sits at capacity
    born = "intended_at"  # a request belongs to the window it was scheduled in, sent or not
    report_latencies = ("answered_in_bound_share", "send_lag_p99_ms")

    def ideal_latency_s(self, p: Point) -> float:
        """Below capacity every arrival finds a slot; past it the queue grows without bound."""
        return p.delay_s + p.work_s if p.rate <= p.capacity_rps else math.inf

    def demanded_rps(self, p: Point) -> float:
        return p.rate

    def effective_warmup_s(self, p: Point) -> float:
        return max(p.warmup_s, p.delay_s)

    def drain_s(self, p: Point) -> float:
        backlog = max(0.0, p.rate - p.capacity_rps) * (self.effective_warmup_s(p) + p.window_s)
        clear_s = backlog / p.capacity_rps if p.capacity_rps else OPEN_MAX_DRAIN_S
        return min(OPEN_MAX_DRAIN_S, clear_s + p.delay_s + 2.0)

    def client_timeout_s(self, p: Point) -> float:
        return self.max_load_s(p) + 10.0

    def load_s(self, p: Point) -> float:
        return self.effective_warmup_s(p) + p.window_s + self.drain_s(p)

    def load_label(self, p: Point) -> str:
        return f"l{p.rate:g}"

    def describe_load(self, p: Point) -> str:
        return f"rate={p.rate:g}/s"

    def ideal_rps(self, p: Point) -> float:
        return min(p.rate, p.capacity_rps)

    def summarize(self, p: Point, requests: pd.DataFrame, marks: dict) -> tuple:
        """The windowed row, plus the share of the window's arrivals answered (ok) within
        OPEN_BOUND_FACTOR x (D + c) of their intended send time."""
        row, timed, start, stop = super().summarize(p, requests, marks)
        bound_ms = 1000.0 * OPEN_BOUND_FACTOR * (p.delay_s + p.work_s)
        in_time = (timed["outcome"] == "ok") & (timed["latency_ms"] <= bound_ms)
        row["answered_in_bound_share"] = float(in_time.sum() / len(timed)) if len(timed) else None
        # how late the client sent against its schedule: an open loop's send spread
        lag = (timed["sent_at"] - timed["intended_at"]).dropna() * 1000.0
        row["send_lag_p99_ms"] = float(np.percentile(lag, 99)) if len(lag) else None
        return row, timed, start, stop

    def timed(self, measured: pd.DataFrame, end: float | None, stop: float) -> pd.DataFrame:
        """Latency from the intended send time: queueing in the client counts too. A request
        still unanswered at the end counts at its age then (a lower bound), so an
        overloaded server's tail is not flattered by leaving it out."""
        answered = (measured["done_at"] - measured["intended_at"]) * 1000.0
        age_at_end = ((end or stop) - measured["intended_at"]) * 1000.0
        unfinished = measured["outcome"] == "unfinished"
        return measured.assign(
            latency_ms=answered.where(~unfinished, age_at_end),
            outcome=measured["outcome"].where(~unfinished, "ok_censored"),
        )


OPEN = Open()
