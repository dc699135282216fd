"""Every scenario in one place: its load, timings, locust users, figures and headline.

A scenario object answers, for one point (a config, a load level, a delay D): how long
the point runs, what the model says it should reach, which locust user classes send
its load, how its raw records become its figures, and which figure says how it did.

Adding a scenario: a subclass here, registered in SCENARIOS; its locust user class in
loadtests/users.py (exported by loadtests/locustfile.py); a chart in plots/ if it
needs one.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from echobench import model
from echobench.metrics import counts, percentiles

if TYPE_CHECKING:
    from echobench.point import Point

# Open loop: the longest wait for a backlog to clear before its rest counts as unfinished.
OPEN_MAX_DRAIN_S = 30.0
# Open loop is judged by the share of arrivals answered within this many times a
# request's own D + c (a rate alone says nothing there: past capacity it sits at it).
OPEN_BOUND_FACTOR = 2.0


class Scenario:
    """A closed loop of `users` sending echoes back to back (the steady scenario's shape)."""

    name = ""
    title = ""  # its section of the report
    user_classes: tuple[str, ...] = ("EchoUser",)
    extra_users = 0  # users beside the point's own (mixed: the fast-page user)
    headline, higher_is_better = "rps", True
    by_rate = False  # load given as arrival rates (open loop) rather than users
    calibrates = False  # measures R0 at zero delay; runs first, judged as a calibration
    fixed_requests = False  # sends exactly `users` requests
    born = "sent_at"  # a request belongs to the window it was sent in
    has_ideal_latency = True
    # the report's table: its own figures after the rates, and after the latencies
    # (headings and digits: figures.py)
    report_rates: tuple[str, ...] = ()
    report_latencies: tuple[str, ...] = ()

    # --- timings, in seconds, from the point's parameters ---------------------------------

    def ideal_latency_s(self, p: Point) -> float:
        return model.ideal_latency_s(p.users, p.slots, p.delay_s, **p.cpu)

    def ideal_makespan_s(self, p: Point) -> float:
        """The model's time for `users` simultaneous requests (a burst's bound)."""
        return model.ideal_makespan_s(p.users, p.slots, p.delay_s, **p.cpu)

    def stagger_s(self, p: Point) -> float:
        """Users start spread over this long, so closed-loop requests do not move in waves."""
        return 0.0

    def demanded_rps(self, p: Point) -> float | None:
        """The request rate the model asks of the load generator."""
        return model.ideal_rps(p.users, p.slots, p.delay_s, **p.cpu)

    def effective_warmup_s(self, p: Point) -> float:
        """Long enough for the first queued round to clear, so the window is steady."""
        return max(p.warmup_s, self.stagger_s(p) + self.ideal_latency_s(p))

    def drain_s(self, p: Point) -> float:
        """Time after the window for requests sent in it to come back."""
        return self.ideal_latency_s(p) + p.delay_s + 2.0

    def deadline_s(self, p: Point) -> float:
        """A burst's limit: after this, unanswered requests are unfinished."""
        return 1.5 * self.ideal_makespan_s(p) + 10.0

    def client_timeout_s(self, p: Point) -> float:
        return 2 * self.ideal_latency_s(p) + 10.0

    def load_s(self, p: Point) -> float:
        """How long the load phase should take, release to end."""
        return self.effective_warmup_s(p) + p.window_s + self.ideal_latency_s(p)

    def max_load_s(self, p: Point) -> float:
        """The longest the load phase may take before it is cut off."""
        return self.effective_warmup_s(p) + p.window_s + self.drain_s(p)

    def load_label(self, p: Point) -> str:
        """The load level in a point id."""
        return f"u{p.users}"

    def describe_load(self, p: Point) -> str:
        return f"users={p.users}"

    # --- figures from the records ---------------------------------------------------------

    def ideal_rps(self, p: Point) -> float | None:
        return model.ideal_rps(p.users, p.slots, p.delay_s, **p.cpu)

    def summarize(self, p: Point, requests: pd.DataFrame, marks: dict) -> tuple:
        """(row, the requests whose latency counts, start, stop) of a windowed point.

        The window is [release + warm-up, + window); requests born in it are counted,
        answers completed in it make the rate.
        """
        release, end = marks.get("release"), marks.get("end")
        echo = requests[requests["kind"] == "echo"]
        start = (release or 0.0) + self.effective_warmup_s(p)
        stop = start + p.window_s
        born = echo[self.born]
        measured = echo[(born >= start) & (born < stop)]
        row = counts(measured)
        completed = echo[
            (echo["outcome"] == "ok") & (echo["done_at"] >= start) & (echo["done_at"] < stop)
        ]
        rps = len(completed) / p.window_s if release is not None else None
        ideal = self.ideal_rps(p)
        latency = self.ideal_latency_s(p)
        if self.has_ideal_latency and math.isfinite(latency):
            row["ideal_latency_ms"] = 1000.0 * latency
        row.update(
            duration_s=p.window_s,
            makespan_s=None,
            ideal_makespan_s=None,
            rps=rps,
            ideal_rps=ideal,
            efficiency=model.efficiency(rps, ideal),
        )
        row.update(self.extra_figures(requests, start, stop))
        return row, self.timed(measured, end, stop), start, stop

    def timed(self, measured: pd.DataFrame, end: float | None, stop: float) -> pd.DataFrame:
        """The requests with the latency their percentiles use."""
        return measured

    def extra_figures(self, requests: pd.DataFrame, start: float, stop: float) -> dict:
        return {}


class Burst(Scenario):
    name = "burst"
    title = "Burst: n simultaneous requests"
    user_classes = ("BurstUser",)
    headline, higher_is_better = "makespan_s", False
    fixed_requests = True
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


class Steady(Scenario):
    name = "steady"
    title = "Steady: closed-loop users (latency understated by coordinated omission)"

    def stagger_s(self, p: Point) -> float:
        return p.delay_s


class Mixed(Steady):
    name = "mixed"
    title = "Mixed: fast page beside slow echoes"
    user_classes = ("EchoUser", "PageUser")
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


class Open(Scenario):
    name = "open"
    title = "Open loop: fixed arrival rate, latency from the intended send time"
    user_classes = ("OpenUser",)
    headline, higher_is_better = "p99_ms", False
    by_rate = True
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


class Calibrate(Steady):
    name = "calibrate"
    title = "Calibrate: zero-delay capacity R0 of each config on this machine"
    calibrates = True
    has_ideal_latency = False

    def demanded_rps(self, p: Point) -> None:
        return None

    def ideal_rps(self, p: Point) -> None:
        return None  # this measures the capacity the model takes as given


# In report order: calibration first, as the points that use it come after it.
SCENARIOS: dict[str, Scenario] = {
    s.name: s for s in (Calibrate(), Burst(), Steady(), Mixed(), Open())
}
NAMES = tuple(SCENARIOS)
