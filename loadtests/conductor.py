"""The release barrier and the end of a point, in one locust process.

Users wait at the barrier until every user of this process has spawned (a distributed
worker then waits for the master's go, so all workers release together). The conductor
marks the release, ticks the CPU clock each second, hands out open-loop arrivals on
their schedule, and ends the point when its burst is answered or due, or when its
window and drain are over.
"""

from __future__ import annotations

import math
import os
import random
import time

import gevent
from gevent.event import Event
from gevent.queue import Empty, Queue
from locust.runners import STATE_RUNNING, WorkerRunner

from loadtests.distributed import LINK
from loadtests.recorder import RECORDER
from loadtests.settings import LocustPoint

TICK_S = 1.0


class Conductor:
    """When this process's users may send, and until when."""

    def __init__(self) -> None:
        self.settings: LocustPoint | None = None
        self.arrived = 0
        self.indexed = 0
        self.all_arrived = Event()
        self.primed: list = []  # burst users with all but the last byte of their request sent
        self.go = Event()
        self.finished_users = 0
        self.all_finished = Event()
        self.in_flight = 0
        self.send_until = math.inf
        self.closed = False  # the point's work is over: late-spawned users must not send
        self.arrivals: Queue = Queue()
        self.released = Event()  # a worker: the master said go
        self.stop_now = Event()  # a worker: the master ends the point early (a worker was lost)

    def user_arrived(self, environment) -> int:
        """A user reached the barrier; its index in this process."""
        index = self.take_index()
        self.arrive(environment)
        return index

    def take_index(self) -> int:
        """This process's next user index (a burst user takes it before it primes)."""
        self.indexed += 1
        return self.indexed - 1

    def arrive(self, environment) -> None:
        """A user is at the barrier; the last one lets the release happen."""
        self.arrived += 1
        if self.arrived >= users_here(environment):
            self.all_arrived.set()

    def user_finished(self, environment) -> None:
        """A burst user's one request is done."""
        self.finished_users += 1
        if self.finished_users >= users_here(environment):
            self.all_finished.set()


CONDUCTOR = Conductor()


def users_here(environment) -> int:
    """Users this process runs: all of them, or a worker's share in a distributed run."""
    if isinstance(environment.runner, WorkerRunner):
        return environment.runner.target_user_count
    return environment.parsed_options.num_users


def _wait_spawned(environment, timeout: float) -> bool:
    """A worker knows its share of users only once locust has started spawning them."""
    runner = environment.runner
    deadline = time.monotonic() + timeout
    while runner.worker_state != STATE_RUNNING and time.monotonic() < deadline:
        gevent.sleep(0.05)
    return runner.worker_state == STATE_RUNNING


def conduct(environment) -> None:
    """Release all users at once, then end the point when its work is done or due."""
    point, c = CONDUCTOR.settings, CONDUCTOR
    runner = environment.runner
    worker = isinstance(runner, WorkerRunner)
    if worker:
        LINK.sync_clock(runner, RECORDER)
        if _wait_spawned(environment, point.spawn_timeout_s) and users_here(environment) == 0:
            c.all_arrived.set()
    if not c.all_arrived.wait(timeout=point.spawn_timeout_s):
        finish(runner, "users did not spawn")
        return
    if users_here(environment) == 0:
        c.all_finished.set()  # a worker left without users has no burst to wait for
    if worker:
        runner.send_message("eb_ready")
        gevent.wait([c.released, c.stop_now], timeout=point.spawn_timeout_s, count=1)
        if not c.released.is_set():
            finish(runner, "" if c.stop_now.is_set() else "the master never released")
            return
    RECORDER.mark("release")
    if point.release_file and not worker:  # for a fault beside the load to time itself
        partial = f"{point.release_file}.partial"
        with open(partial, "w") as said:  # whole or not at all: a reader never sees half
            said.write(repr(RECORDER.now()))
        os.replace(partial, point.release_file)
    at_once = point.release == "at_once"
    if at_once:
        send_last_bytes(c.primed)
    ticker = gevent.spawn(_tick)
    if not at_once:
        c.send_until = RECORDER.now() + point.warmup_s + point.window_s
    c.go.set()
    if at_once:
        gevent.wait([c.all_finished, c.stop_now], timeout=point.deadline_s, count=1)
    else:
        if point.release == "schedule":
            share = users_here(environment) / environment.parsed_options.num_users
            if share:
                schedule_arrivals(point, point.rate * share, getattr(runner, "worker_index", 0))
        c.stop_now.wait(timeout=max(0.0, c.send_until - RECORDER.now()))
        drain_until = RECORDER.now() + point.drain_s
        busy = lambda: c.in_flight or c.arrivals.qsize()  # noqa: E731
        while busy() and RECORDER.now() < drain_until and not c.stop_now.is_set():
            gevent.sleep(0.01)
    ticker.kill()
    RECORDER.mark("end")
    c.closed = True
    c.send_until = min(c.send_until, RECORDER.now())  # ended early: nothing more leaves
    never_sent()
    finish(runner)


def send_last_bytes(primed: list) -> None:
    """The burst itself: every primed request's last byte in one loop, with nothing else
    in it but each one's clock reading; their `send` rows are recorded right after (rows
    are held in memory until the next mark either way). Users read their answers after."""
    for user in primed:
        user.complete_request()
    for user in primed:
        user.record_send()


def _tick() -> None:
    """The CPU clock each second of the load phase: the load generator's busiest second."""
    while True:
        gevent.sleep(TICK_S)
        RECORDER.mark("tick")


def finish(runner, error: str = "") -> None:
    """End this process's share: ship a worker's rows to the master, or quit."""
    if error:
        RECORDER.mark("error", error)
    if isinstance(runner, WorkerRunner):
        LINK.ship(runner, RECORDER)
    else:
        runner.quit()


def schedule_arrivals(point: LocustPoint, rate: float, stream: int) -> None:
    """Open loop: put each arrival's intended time in the queue when it falls due.

    Arrivals do not wait for answers; if every user is busy they wait in the queue,
    and their latency still runs from the intended time (no coordinated omission).
    Each worker draws its own reproducible stream of Poisson gaps. Times are kept as
    an offset from the start: added one gap at a time to a wall-clock value (a float
    whose step is about 0.2 us today) they would drift from the rate.
    """
    rng = random.Random(point.seed * 100_003 + stream)

    def run() -> None:
        start, elapsed, count = RECORDER.now(), 0.0, 0
        while start + elapsed < CONDUCTOR.send_until:
            due = start + elapsed
            gevent.sleep(max(0.0, due - RECORDER.now()))
            CONDUCTOR.arrivals.put(due)
            count += 1
            elapsed = elapsed + rng.expovariate(rate) if point.poisson else count / rate

    gevent.spawn(run)


def never_sent() -> None:
    """Arrivals still queued at the end are recorded as sent-never: they count as unfinished."""
    while True:
        try:
            intended = CONDUCTOR.arrivals.get_nowait()
        except Empty:
            return
        RECORDER.record("send", req_id=RECORDER.new_id(), kind="echo", intended_at=intended)
