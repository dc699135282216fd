"""What every scenario is: a load, its timings, its figures and its headline.

A scenario object answers, for one point (a config, a load level, a delay D): how long
the point runs, what the model says it should reach, which locust users send its load
and how they are released, how its raw records become its figures, which figure says
how it did, and which measured causes can explain a gap to the model. Each scenario is
one module of this package (found by discovery) with its locust users in
loadtests/users/.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Protocol

import pandas as pd

from echobench import gaps, model
from echobench.configs import ServerConfig
from echobench.metrics import counts


class Point(Protocol):
    """What a scenario reads of a point (echobench.point.Point has it): its load and wait,
    the model's K and capacity, and its CPU terms. Declared here, so the scenarios do not
    import the point that looks them up."""

    config: ServerConfig
    users: int
    slow_kind: str
    slow_clients: int
    delay_s: float
    warmup_s: float
    window_s: float
    rate: float | None

    @property
    def slots(self) -> float: ...
    @property
    def work_s(self) -> float: ...
    @property
    def cpu(self) -> dict[str, float]: ...
    @property
    def capacity_rps(self) -> float: ...


# Time a point needs beyond its load: server start, idle sampling, locust start-up
# (about 3 s per point measured on the 2-core reference machine; a little more here).
POINT_OVERHEAD_S = 3.5


@dataclass(frozen=True)
class Timings:
    """A point's derived timings, in seconds (demanded_rps: the request rate the model asks
    of the load generator), computed once from its parameters by its scenario."""

    ideal_latency_s: float
    effective_warmup_s: float
    drain_s: float
    deadline_s: float
    client_timeout_s: float
    load_s: float
    max_load_s: float
    expected_s: float
    demanded_rps: float | None

    # what run.json's matrix keeps of them, beside the point's own fields
    DESCRIBED: ClassVar[tuple[str, ...]] = (
        "effective_warmup_s", "drain_s", "deadline_s", "client_timeout_s", "ideal_latency_s",
    )  # fmt: skip


class Scenario:
    """A closed loop of `users` sending echoes back to back (the steady scenario's shape)."""

    name = ""
    title = ""  # its section of the report
    order = 0  # its place among scenarios: in the report, the charts and the findings
    # its locust users: class names, and the modules that define them (never imported
    # here: importing locust patches the process with gevent)
    user_classes: tuple[str, ...] = ("EchoUser",)
    user_modules: tuple[str, ...] = ("loadtests.users.steady",)
    extra_users = 0  # users beside the point's own (mixed: the fast-page user)
    headline, higher_is_better = "rps", True
    # how locust releases its load: "window" (closed loop until the window ends),
    # "at_once" (one request per user, all together) or "schedule" (arrivals at a rate)
    release = "window"
    fresh_connections = False  # a new connection per request, as a burst's requests have
    by_rate = False  # load given as arrival rates (open loop) rather than users
    calibrates = False  # measures R0 at zero delay; runs first, judged as a calibration
    fixed_requests = False  # sends exactly `users` requests
    load_symbol = "C"  # what `users` is called in words: C users, n requests
    judged_by_model = True  # its efficiency judges it, and a gap to the model is explained
    memory_under_load = False  # its PSS is a server holding C users' requests for D each
    # its users send every request through `echo()`, so a user's own app (`run --app`)
    # can answer them; a scenario whose requests are the echo app's own cannot
    any_app = True
    # what runs beside its load to make something go wrong (echobench/faults.py):
    # "slow_clients", "worker_kill" (one worker killed), or "" (nothing)
    companion = ""
    born = "sent_at"  # a request belongs to the window it was sent in
    has_ideal_latency = True
    figures: tuple = ()  # its own summary figures (figures.Figure), after the declared ones
    # the report's table: its own figures after the rates, and after the latencies
    # (headings and digits: figures.py)
    report_rates: tuple[str, ...] = ()
    report_latencies: tuple[str, ...] = ()

    # --- timings, in seconds, from the point's parameters ---------------------------------

    def timings(self, p: Point) -> Timings:
        """All of them at once: what the point, locust and the runner use."""
        return Timings(
            ideal_latency_s=self.ideal_latency_s(p),
            effective_warmup_s=self.effective_warmup_s(p),
            drain_s=self.drain_s(p),
            deadline_s=self.deadline_s(p),
            client_timeout_s=self.client_timeout_s(p),
            load_s=self.load_s(p),
            max_load_s=self.max_load_s(p),
            expected_s=self.load_s(p) + POINT_OVERHEAD_S,
            demanded_rps=self.demanded_rps(p),
        )

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

    # --- what the figures mean ------------------------------------------------------------

    def gap_causes(self, row: dict) -> list[str | None]:
        """What was measured that can explain this point's gap to the model (gaps.py)."""
        return [gaps.uneven_workers(row), gaps.cores_short(row), gaps.database_cost(row),
                gaps.slow_round_trip(row), gaps.few_answers(row)]  # fmt: skip

    def findings(self, summary: pd.DataFrame) -> list[str]:
        """Its sentences from a run's rows (the notebook says them; none by default)."""
        return []

    def survives(self, rows: pd.DataFrame) -> str:
        """A fault scenario's words for one config's rows in the decision table: what it
        stood ("" for a scenario that makes no fault)."""
        return ""

    def rows(self, summary: pd.DataFrame) -> pd.DataFrame:
        """This scenario's rows of a summary."""
        return summary[summary["scenario"] == self.name]
