"""The open loop: arrivals at a fixed rate, latency from each one's intended send time."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from echobench import model
from echobench.scenarios.base import Point, Scenario
from echobench.style import ordered_configs

# The longest wait for a backlog to clear before its rest counts as unfinished.
OPEN_MAX_DRAIN_S = 30.0
# Judged by the share of arrivals answered within this many times a request's own D + c
# (a rate alone says nothing there: past capacity it sits at it).
OPEN_BOUND_FACTOR = 2.0
MAX_SENDERS = 20_000


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

    def senders(self, rate: float, delay_s: float, window_s: float, warmup_s: float) -> int:
        """The pool of senders for a rate: three times the requests in flight at the ideal."""
        return min(MAX_SENDERS, math.ceil(3 * rate * delay_s) + 10)

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
        row.update(shedding_figures(timed, in_time, p.window_s))
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

    def findings(self, summary: pd.DataFrame) -> list[str]:
        """Per config: its p99 below capacity, and past it the queue and the share in time."""
        data = self.rows(summary)
        lines = []
        for config in ordered_configs(data["config"]):
            rows = data[data["config"] == config].sort_values("offered_rps")
            capacity = model.capacity_rps(float(rows["capacity"].iloc[0]), rows["delay_s"].iloc[0])
            below = rows[rows["offered_rps"] <= capacity]
            above = rows[rows["offered_rps"] > capacity]
            limit = "unbounded" if capacity == float("inf") else f"K/D = {capacity:g} req/s"
            text = f"{config} (capacity {limit}):"
            if len(below):
                worst = below.iloc[-1]
                offered, p99_s = worst["offered_rps"], worst["p99_ms"] / 1000
                text += f" at {offered:g} req/s offered, p99 {p99_s:.3f} s"
            if len(above):
                top = above.iloc[-1]
                queued = top["unfinished"]
                text += (
                    f"; past capacity, at {top['offered_rps']:g} req/s, p99 "
                    f"{top['p99_ms'] / 1000:.1f} s with "
                    + (f"{queued:.0f} requests still queued at the end" if queued > 0
                       else "no request left queued at the end")
                )  # fmt: skip
                share = top.get("answered_in_bound_share")
                if share is not None and pd.notna(share):
                    text += f"; {share:.0%} of its arrivals answered within 2 x D"
            text += send_lag(rows, 1000.0 * rows["delay_s"].iloc[0])
            lines.append(text + ".")
        return lines


OPEN = Open()


def send_lag(rows: pd.DataFrame, delay_ms: float) -> str:
    """How late the client sent against the schedule: its own cost, unless every sender
    was left waiting on an overloaded server (a lag longer than D)."""
    if "send_lag_p99_ms" not in rows or rows["send_lag_p99_ms"].isna().all():
        return ""
    lag = rows["send_lag_p99_ms"]
    own = lag[lag <= delay_ms]
    said = f"; the client sent within {own.max():.1f} ms of schedule (p99)" if len(own) else ""
    held = rows[lag > delay_ms]
    if len(held):
        first = held.iloc[0]
        said += (f"; from {first['offered_rps']:g} req/s every sender was waiting on the "
                 f"server and arrivals left up to {lag.max() / 1000:.1f} s late (p99), their "
                 "latency still counted from the schedule")  # fmt: skip
    return said


# What a server that sheds load answers with: a 503, or a connection it resets or refuses.
# (the client records a failure by its exception's name: a reset on a fresh connection
# reaches it as StaleConnection, loadtests/answers.py)
REFUSAL_ERRORS = ("ConnectionResetError", "ConnectionRefusedError", "BrokenPipeError",
                  "RemoteDisconnected", "ConnectionAbortedError", "StaleConnection")  # fmt: skip


def refused(timed: pd.DataFrame) -> pd.Series:
    """The arrivals refused: a 503, or a reset or refused connection."""
    error = timed["error"].astype(object).fillna("").astype(str)
    return (timed["outcome"] == "failed") & (
        error.str.startswith("status 503") | error.isin(REFUSAL_ERRORS)
    )


def shedding_figures(timed: pd.DataFrame, in_time: pd.Series, window_s: float) -> dict:
    """Goodput (answers within the bound per second of the window), the share refused and
    how fast, and how the admitted latency moved through the window (a least-squares
    slope: a queue that grows shows as a rising latency)."""
    if not len(timed):
        return {}
    shed = refused(timed)
    ok = timed[timed["outcome"] == "ok"]
    growth = None
    if len(ok) >= 10 and ok["intended_at"].nunique() > 1:
        fit = stats.linregress(ok["intended_at"].astype(float), ok["latency_ms"].astype(float))
        growth = float(fit.slope)
    shed_ms = timed.loc[shed, "latency_ms"]
    return {
        "goodput_rps": float(in_time.sum()) / window_s,
        "refused_share": float(shed.mean()),
        "refused_p50_ms": float(shed_ms.median()) if len(shed_ms) else None,
        "latency_growth_ms_per_s": growth,
    }
