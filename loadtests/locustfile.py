"""Locust scenarios for echobench: burst, steady and mixed.

Run by the orchestrator as `python -m locust -f loadtests/locustfile.py --headless
--eb-... UserClasses`, never imported by it (locust monkey-patches with gevent).

Every request is written to `--eb-records` twice: a `send` row before it leaves and
a `done` row when it ends (ok, failed or timeout). A request cut off when the point
ends has a `send` and no `done`, so it counts as unfinished: nothing sent vanishes,
whatever locust's own stats keep. `mark` rows give the release and end times.
Latencies are measured with `time.perf_counter` around the call, to the microsecond.
"""

from __future__ import annotations

import csv
import os
import random
import resource
import time
from pathlib import Path

import gevent
from gevent.event import Event
from gevent.queue import Empty, Queue
from locust import FastHttpUser, constant, constant_pacing, events, task
from locust.runners import MasterRunner, WorkerRunner

from echobench.records import REQUEST_FIELDS
from servers import contract


class _Point:
    """State shared by the users and the conductor of one locust process."""

    def __init__(self) -> None:
        self.arrived = 0
        self.all_arrived = Event()
        self.go = Event()
        self.finished_users = 0
        self.all_finished = Event()
        self.in_flight = 0
        self.next_id = 0
        self.send_until = float("inf")
        self.closed = False  # the point's work is over: late-spawned users must not send
        self.workers_done: set[str] = set()
        self.arrivals: Queue = Queue()
        self.writer = None
        self.file = None

    def record(self, event: str, **fields) -> None:
        self.writer.writerow({"event": event, **fields})
        self.file.flush()

    def mark(self, name: str, error: str = "") -> None:
        """A point in time, with this process's CPU seconds so far (exact load-generator cost)."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu_s = f"{usage.ru_utime + usage.ru_stime:.6f}"
        self.record("mark", kind=name, sent_at=time.time(), error=error, cpu_s=cpu_s)


POINT = _Point()


@events.init_command_line_parser.add_listener
def _add_arguments(parser) -> None:
    group = parser.add_argument_group("echobench")
    group.add_argument(
        "--eb-scenario",
        choices=["burst", "steady", "mixed", "open", "calibrate"],
        default="burst",
    )
    group.add_argument("--eb-records", default="requests.csv", help="per-request records (CSV)")
    group.add_argument("--eb-delay", type=float, default=2.0, help="echo delay, seconds")
    group.add_argument("--eb-warmup", type=float, default=2.0, help="steady warm-up, seconds")
    group.add_argument("--eb-window", type=float, default=10.0, help="steady window, seconds")
    group.add_argument("--eb-drain", type=float, default=5.0, help="wait for in-flight, seconds")
    group.add_argument("--eb-deadline", type=float, default=60.0, help="burst deadline, seconds")
    group.add_argument("--eb-timeout", type=float, default=60.0, help="client timeout, seconds")
    group.add_argument("--eb-fast-interval", type=float, default=0.1, help="mixed: page pacing")
    group.add_argument("--eb-spawn-timeout", type=float, default=60.0, help="seconds to spawn")
    group.add_argument("--eb-rate", type=float, default=1.0, help="open: arrivals per second")
    group.add_argument("--eb-poisson", action="store_true", help="open: Poisson arrivals")
    group.add_argument("--eb-seed", type=int, default=1, help="open: seed of the Poisson gaps")


@events.init.add_listener
def _configure(environment, **_kwargs) -> None:
    opts = environment.parsed_options
    if opts is None:
        return
    EchoUserBase.network_timeout = opts.eb_timeout
    EchoUserBase.connection_timeout = opts.eb_timeout
    PageUser.wait_time = constant_pacing(opts.eb_fast_interval)
    if isinstance(environment.runner, MasterRunner):
        environment.runner.register_message("eb_done", _worker_done)


def _worker_done(environment, msg, **_kwargs) -> None:
    """Master: end the run once every worker has finished its share of the point.

    Workers never quit on their own: the master would hand their users to the others.
    """
    POINT.workers_done.add(msg.data)
    if len(POINT.workers_done) >= environment.runner.worker_count:
        environment.runner.quit()


def _records_path(environment) -> Path:
    """requests.csv, or requests.w<pid>.csv in each worker of a distributed run."""
    path = Path(environment.parsed_options.eb_records)
    if isinstance(environment.runner, WorkerRunner):
        return path.with_name(f"{path.stem}.w{os.getpid()}{path.suffix}")
    return path


def _users_here(environment) -> int:
    """Users this process runs: all of them, or a worker's share in a distributed run."""
    if isinstance(environment.runner, WorkerRunner):
        return environment.runner.target_user_count
    return environment.parsed_options.num_users


@events.test_start.add_listener
def _start(environment, **_kwargs) -> None:
    if isinstance(environment.runner, MasterRunner):
        return  # the master runs no users: the workers record and conduct their own
    POINT.file = open(_records_path(environment), "w", newline="")  # noqa: SIM115
    POINT.writer = csv.DictWriter(POINT.file, fieldnames=REQUEST_FIELDS)
    POINT.writer.writeheader()
    gevent.spawn(_conduct, environment)


@events.quitting.add_listener
def _close(**_kwargs) -> None:
    if POINT.file is not None and not POINT.file.closed:
        POINT.file.close()


def _conduct(environment) -> None:
    """Release all users at once, then end the point when its work is done or due."""
    opts = environment.parsed_options
    if not POINT.all_arrived.wait(timeout=opts.eb_spawn_timeout):
        POINT.mark("error", "users did not spawn")
        environment.runner.quit()
        return
    POINT.mark("release")
    if opts.eb_scenario != "burst":
        POINT.send_until = time.time() + opts.eb_warmup + opts.eb_window
    POINT.go.set()
    if opts.eb_scenario == "burst":
        POINT.all_finished.wait(timeout=opts.eb_deadline)
    else:
        if opts.eb_scenario == "open":
            _schedule_arrivals(opts, opts.eb_rate * _users_here(environment) / opts.num_users)
        gevent.sleep(max(0.0, POINT.send_until - time.time()))
        drain_until = time.time() + opts.eb_drain
        while (POINT.in_flight or POINT.arrivals.qsize()) and time.time() < drain_until:
            gevent.sleep(0.01)
    POINT.mark("end")
    POINT.closed = True
    _never_sent()
    if isinstance(environment.runner, WorkerRunner):
        environment.runner.send_message("eb_done", str(os.getpid()))
    else:
        environment.runner.quit()


def _schedule_arrivals(opts, rate: float) -> None:
    """Open loop: put each arrival's intended time in the queue when it falls due.

    Arrivals do not wait for answers; if every user is busy they wait in the queue,
    and their latency still runs from the intended time (no coordinated omission).
    """
    rng = random.Random(opts.eb_seed * 100_003 + os.getpid())

    def run() -> None:
        due = time.time()
        while due < POINT.send_until:
            gevent.sleep(max(0.0, due - time.time()))
            POINT.arrivals.put(due)
            due += rng.expovariate(rate) if opts.eb_poisson else 1.0 / rate

    gevent.spawn(run)


def _never_sent() -> None:
    """Arrivals still queued at the end are recorded as sent-never: they count as unfinished."""
    while True:
        try:
            intended = POINT.arrivals.get_nowait()
        except Empty:
            return
        req_id = POINT.next_id
        POINT.next_id += 1
        POINT.record("send", req_id=req_id, kind="echo", intended_at=intended)


def _classify(error: BaseException) -> str:
    timed_out = isinstance(error, TimeoutError | gevent.Timeout) or "timed out" in str(error)
    return "timeout" if timed_out else "failed"


FRESH_CONNECTION = {"Connection": "close"}


class EchoUserBase(FastHttpUser):
    abstract = True
    wait_time = constant(0)

    @property
    def fresh(self) -> bool:
        """Calibration opens a connection per request, as a burst's requests do."""
        return self.environment.parsed_options.eb_scenario == "calibrate"

    def on_start(self) -> None:
        self.index = POINT.arrived
        self.sequence = 0
        POINT.arrived += 1
        if POINT.arrived >= _users_here(self.environment):
            POINT.all_arrived.set()
        POINT.go.wait()
        while POINT.closed:  # spawned after the point ended (a master rebalancing): idle
            gevent.sleep(3600)

    def request(self, kind: str, path: str, expected: bytes, intended_at: float | str = "") -> None:
        """One GET, validated byte for byte, recorded before and after."""
        req_id = POINT.next_id
        POINT.next_id += 1
        POINT.in_flight += 1
        sent_at = time.time()
        ids = {
            "req_id": req_id,
            "kind": kind,
            "user": self.index,
            "sent_at": sent_at,
            "intended_at": intended_at,
        }
        POINT.record("send", **ids)
        start = time.perf_counter()
        outcome, error, status = "ok", "", 0
        try:
            with self.client.get(
                path,
                name=kind,
                catch_response=True,
                headers=FRESH_CONNECTION if self.fresh else None,
            ) as resp:
                latency_ms = (time.perf_counter() - start) * 1000.0
                status = resp.status_code or 0
                exception = resp.request_meta.get("exception")
                if not status:
                    outcome = _classify(exception) if exception else "failed"
                    error = type(exception).__name__ if exception else "no response"
                elif status != 200:
                    outcome, error = "failed", f"status {status}"
                elif resp.content != expected:
                    outcome, error = "failed", "wrong body"
                if outcome != "ok":
                    resp.failure(f"{outcome}: {error}")
        finally:
            POINT.in_flight -= 1
        POINT.record(
            "done",
            **ids,
            done_at=time.time(),
            latency_ms=f"{latency_ms:.3f}",
            status=status,
            outcome=outcome,
            error=error,
        )

    def echo(self, intended_at: float | str = "") -> None:
        self.sequence += 1
        text = f"u{self.index}r{self.sequence}"
        delay = self.environment.parsed_options.eb_delay
        path = f"/?field={text}&delay={delay!r}"
        self.request("echo", path, contract.render_page(text), intended_at)


class BurstUser(EchoUserBase):
    """Sends exactly one echo request, released together with all the others."""

    @task
    def once(self) -> None:
        if self.sequence:  # done: idle rather than stop, or a distributed master respawns us
            gevent.sleep(3600)
            return
        try:
            self.echo()
        finally:
            POINT.finished_users += 1
            if POINT.finished_users >= _users_here(self.environment):
                POINT.all_finished.set()


class EchoUser(EchoUserBase):
    """Closed loop: echo requests back to back, starts staggered over one delay."""

    def on_start(self) -> None:
        super().on_start()
        opts = self.environment.parsed_options
        gevent.sleep(opts.eb_delay * self.index / max(1, _users_here(self.environment)))

    @task
    def loop(self) -> None:
        if time.time() >= POINT.send_until:
            gevent.sleep(3600)  # idle until the conductor quits
            return
        self.echo()


class PageUser(EchoUserBase):
    """The light, separate stream of fast `GET /` requests of the mixed scenario."""

    fixed_count = 1

    @task
    def page(self) -> None:
        if time.time() >= POINT.send_until:
            gevent.sleep(3600)
            return
        self.request("page", "/", contract.render_page())


class OpenUser(EchoUserBase):
    """Open loop: one of a pool of senders taking arrivals from the schedule."""

    @task
    def arrival(self) -> None:
        try:
            intended = POINT.arrivals.get(timeout=1.0)
        except Empty:
            return
        self.echo(intended_at=intended)
