"""Locust scenarios for echobench: burst, steady and mixed.

Run by the orchestrator as `python -m locust -f loadtests/locustfile.py --headless
--eb-... UserClasses`, never imported by it (locust monkey-patches with gevent).

Every request is written to `--eb-records` twice: a `send` row before it leaves and
a `done` row when it ends (ok, failed or timeout). A request cut off when the point
ends has a `send` and no `done`, so it counts as unfinished: nothing sent vanishes,
whatever locust's own stats keep. `mark` rows give the release and end times, and a
`tick` each second in between carries the process's CPU clock.
Latencies are measured with `time.perf_counter` around the call, to the microsecond.

Distributed (forked workers or workers on other machines): each worker keeps its rows
and ships them to the master when its share is done, which writes them to
`requests.w<index>.csv` and `workers.json`; locust's own stats play no part. The
master releases every worker's users together, and workers stamp their rows in the
master's clock (offset measured by ping at the start, its uncertainty recorded).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import random
import resource
import socket
import time
from pathlib import Path

import gevent
from gevent.event import AsyncResult, Event
from gevent.queue import Empty, Queue
from locust import FastHttpUser, constant, constant_pacing, events, task
from locust.runners import STATE_RUNNING, MasterRunner, WorkerRunner

from echobench import clock, records
from echobench.records import REQUEST_FIELDS
from servers import contract

CLOCK_PINGS = 5
TICK_S = 1.0
SHIP_ROWS = 5000  # rows per message from a worker to the master
STOP_GRACE_S = 15.0  # after a worker is lost, the others' time to ship their rows


def fingerprint() -> str:
    """What a worker and its master must share: this file, the record format, the contract."""
    digest = hashlib.sha256()
    for path in (Path(__file__), Path(records.__file__), Path(contract.__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


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
        self.arrivals: Queue = Queue()
        self.writer = None
        self.file = None
        # a worker: rows kept for the master, and its clock's offset from the master's
        self.rows: list[list] | None = None
        self.shipped = False
        self.clock_offset = 0.0
        self.clock_rtt: float | None = None
        self.pong = AsyncResult()
        self.released = Event()
        self.stop_now = Event()  # the master ends the point early (a worker was lost)
        # the master: what each worker sent and said, by locust node id
        self.workers: dict[str, dict] = {}
        self.worker_files: dict[str, tuple] = {}
        self.ending = False  # the master is ending the point early
        self.environment = None

    def now(self) -> float:
        """Wall-clock time, in the master's clock on a worker."""
        return time.time() + self.clock_offset

    def record(self, event: str, **fields) -> None:
        if self.shipped:
            return  # a worker's share is over: a late answer stays unfinished
        if self.rows is not None:
            self.rows.append([event, *(fields.get(name, "") for name in REQUEST_FIELDS[1:])])
            return
        self.writer.writerow({"event": event, **fields})
        self.file.flush()

    def mark(self, name: str, error: str = "") -> None:
        """A point in time, with this process's CPU seconds so far (exact load-generator cost)."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu_s = f"{usage.ru_utime + usage.ru_stime:.6f}"
        self.record("mark", kind=name, sent_at=self.now(), error=error, cpu_s=cpu_s)


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
    if environment.parsed_options is None:
        return
    _apply_options(environment.parsed_options)
    POINT.environment = environment
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        runner.register_message("eb_clock", _clock_ping)
        runner.register_message("eb_ready", _worker_ready)
        runner.register_message("eb_records", _worker_records)
        runner.register_message("eb_done", _worker_done)
    elif isinstance(runner, WorkerRunner):
        runner.register_message("eb_clock_reply", _clock_reply)
        runner.register_message("eb_go", lambda **_: POINT.released.set())
        runner.register_message("eb_stop", lambda **_: POINT.stop_now.set())


def _apply_options(opts) -> None:
    """Class settings from the options; a worker learns them only when the master spawns."""
    EchoUserBase.network_timeout = opts.eb_timeout
    EchoUserBase.connection_timeout = opts.eb_timeout
    PageUser.wait_time = constant_pacing(opts.eb_fast_interval)


# --- the master's side of a distributed point -------------------------------------------


def _worker(environment, node_id: str) -> dict:
    return POINT.workers.setdefault(
        node_id, {"index": environment.runner.get_worker_index(node_id), "done": False}
    )


def _clock_ping(environment, msg, **_kwargs) -> None:
    reply = {"t0": msg.data["t0"], "master_time": time.time()}
    environment.runner.send_message("eb_clock_reply", reply, client_id=msg.node_id)


def _worker_ready(environment, msg, **_kwargs) -> None:
    """Release every worker's users together, once all of them have spawned theirs."""
    _worker(environment, msg.node_id)["ready"] = True
    ready = sum(1 for w in POINT.workers.values() if w.get("ready"))
    if ready >= environment.runner.worker_count and not POINT.released.is_set():
        POINT.released.set()
        environment.runner.send_message("eb_go")


def _worker_records(environment, msg, **_kwargs) -> None:
    """Write a worker's shipped rows to its own requests.w<index>.csv."""
    worker = _worker(environment, msg.node_id)
    if msg.node_id not in POINT.worker_files:
        base = Path(environment.parsed_options.eb_records)
        path = base.with_name(f"{base.stem}.w{worker['index']}{base.suffix}")
        file = open(path, "w", newline="")  # noqa: SIM115
        writer = csv.writer(file)
        writer.writerow(REQUEST_FIELDS)
        POINT.worker_files[msg.node_id] = (file, writer)
        worker["file"] = path.name
    file, writer = POINT.worker_files[msg.node_id]
    writer.writerows(msg.data)
    file.flush()
    worker["rows_received"] = worker.get("rows_received", 0) + len(msg.data)


def _worker_done(environment, msg, **_kwargs) -> None:
    """End the run once every worker has shipped its share of the point.

    Workers never quit on their own: the master would hand their users to the others.
    """
    _worker(environment, msg.node_id).update(msg.data, done=True)
    _quit_when_all_done(environment)


def _quit_when_all_done(environment) -> None:
    runner = environment.runner
    if len(POINT.workers) < max(runner.worker_count, environment.parsed_options.expect_workers):
        return
    if all(w["done"] or w.get("lost") for w in POINT.workers.values()):
        runner.quit()


def _watch_workers(environment) -> None:
    """End the point when a worker goes missing: its share can no longer arrive."""
    runner = environment.runner
    while True:
        gevent.sleep(1.0)
        lost = {c.id for c in runner.clients.missing}
        lost |= {n for n, w in POINT.workers.items() if not w["done"] and n not in runner.clients}
        lost -= {n for n, w in POINT.workers.items() if w.get("lost")}
        if lost:
            for node_id in lost:
                _worker(environment, node_id)["lost"] = True
            _end_early(environment, f"load-generator worker lost mid-point: {sorted(lost)}")


@events.worker_connect.add_listener
def _joined(client_id, **_kwargs) -> None:
    """A worker that joins once the users are out makes locust move users between workers."""
    environment = POINT.environment
    if POINT.released.is_set():
        _worker(environment, client_id)["late"] = True
        _end_early(environment, f"load-generator worker joined mid-point: {client_id}")


def _end_early(environment, reason: str) -> None:
    """The others stop and ship what they have, then the master quits: the point is invalid."""
    logging.error(reason)
    if POINT.ending:
        return
    POINT.ending = True
    runner = environment.runner
    for node_id, worker in POINT.workers.items():
        if not worker.get("lost") and not worker["done"]:
            runner.send_message("eb_stop", client_id=node_id)
    gevent.spawn_later(STOP_GRACE_S, runner.quit)
    _quit_when_all_done(environment)


def _write_workers(environment) -> None:
    """workers.json: who took part, what each said it sent and what arrived."""
    for file, _writer in POINT.worker_files.values():
        file.close()
    path = Path(environment.parsed_options.eb_records).with_name("workers.json")
    summary = {
        "expected": environment.parsed_options.expect_workers,
        "fingerprint": fingerprint(),
        "workers": POINT.workers,
    }
    path.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")


# --- every process that runs users ------------------------------------------------------


def _users_here(environment) -> int:
    """Users this process runs: all of them, or a worker's share in a distributed run."""
    if isinstance(environment.runner, WorkerRunner):
        return environment.runner.target_user_count
    return environment.parsed_options.num_users


@events.test_start.add_listener
def _start(environment, **_kwargs) -> None:
    if isinstance(environment.runner, MasterRunner):
        gevent.spawn(_watch_workers, environment)
        return  # the master runs no users: the workers record and conduct their own
    if isinstance(environment.runner, WorkerRunner):
        _apply_options(environment.parsed_options)
        POINT.rows = []
    else:
        POINT.file = open(environment.parsed_options.eb_records, "w", newline="")  # noqa: SIM115
        POINT.writer = csv.DictWriter(POINT.file, fieldnames=REQUEST_FIELDS)
        POINT.writer.writeheader()
    gevent.spawn(_conduct, environment)


@events.quitting.add_listener
def _close(environment, **_kwargs) -> None:
    if isinstance(environment.runner, MasterRunner):
        _write_workers(environment)
    if POINT.file is not None and not POINT.file.closed:
        POINT.file.close()


def _sync_clock(runner) -> None:
    """A worker's offset to the master's clock, by ping."""
    pings = []
    for _ in range(CLOCK_PINGS):
        POINT.pong = AsyncResult()
        t0 = time.time()
        runner.send_message("eb_clock", {"t0": t0})
        try:
            reply = POINT.pong.get(timeout=2.0)
        except gevent.Timeout:
            continue
        if reply["t0"] == t0:
            pings.append((t0, reply["master_time"], time.time()))
    found = clock.offset_from_pings(pings)
    if found is not None:
        POINT.clock_rtt, POINT.clock_offset = found


def _clock_reply(environment, msg, **_kwargs) -> None:
    POINT.pong.set(msg.data)


def _wait_spawned(environment, timeout: float) -> bool:
    """A worker knows its share of users only once locust has started spawning them."""
    runner = environment.runner
    deadline = time.monotonic() + timeout
    while runner.worker_state != STATE_RUNNING and time.monotonic() < deadline:
        gevent.sleep(0.05)
    return runner.worker_state == STATE_RUNNING


def _conduct(environment) -> None:
    """Release all users at once, then end the point when its work is done or due."""
    opts = environment.parsed_options
    runner = environment.runner
    worker = isinstance(runner, WorkerRunner)
    if worker:
        _sync_clock(runner)
        if _wait_spawned(environment, opts.eb_spawn_timeout) and _users_here(environment) == 0:
            POINT.all_arrived.set()
    if not POINT.all_arrived.wait(timeout=opts.eb_spawn_timeout):
        _finish(runner, "users did not spawn")
        return
    if _users_here(environment) == 0:
        POINT.all_finished.set()  # a worker left without users has no burst to wait for
    if worker:
        runner.send_message("eb_ready")
        gevent.wait([POINT.released, POINT.stop_now], timeout=opts.eb_spawn_timeout, count=1)
        if not POINT.released.is_set():
            _finish(runner, "" if POINT.stop_now.is_set() else "the master never released")
            return
    POINT.mark("release")
    ticker = gevent.spawn(_tick)
    if opts.eb_scenario != "burst":
        POINT.send_until = POINT.now() + opts.eb_warmup + opts.eb_window
    POINT.go.set()
    if opts.eb_scenario == "burst":
        gevent.wait([POINT.all_finished, POINT.stop_now], timeout=opts.eb_deadline, count=1)
    else:
        if opts.eb_scenario == "open":
            share = _users_here(environment) / opts.num_users
            if share:
                _schedule_arrivals(opts, opts.eb_rate * share, getattr(runner, "worker_index", 0))
        POINT.stop_now.wait(timeout=max(0.0, POINT.send_until - POINT.now()))
        drain_until = POINT.now() + opts.eb_drain
        busy = lambda: POINT.in_flight or POINT.arrivals.qsize()  # noqa: E731
        while busy() and POINT.now() < drain_until and not POINT.stop_now.is_set():
            gevent.sleep(0.01)
    ticker.kill()
    POINT.mark("end")
    POINT.closed = True
    POINT.send_until = min(POINT.send_until, POINT.now())  # ended early: nothing more leaves
    _never_sent()
    _finish(runner)


def _tick() -> None:
    """The CPU clock each second of the load phase: the load generator's busiest second."""
    while True:
        gevent.sleep(TICK_S)
        POINT.mark("tick")


def _finish(runner, error: str = "") -> None:
    """End this process's share: ship a worker's rows to the master, or quit."""
    if error:
        POINT.mark("error", error)
    if not isinstance(runner, WorkerRunner):
        runner.quit()
        return
    rows, POINT.shipped = POINT.rows, True
    for start in range(0, len(rows), SHIP_ROWS):
        runner.send_message("eb_records", rows[start : start + SHIP_ROWS])
    runner.send_message(
        "eb_done",
        {
            "rows_sent": len(rows),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "clock_offset_s": POINT.clock_offset,
            "clock_rtt_s": POINT.clock_rtt,
            "fingerprint": fingerprint(),
        },
    )


def _schedule_arrivals(opts, rate: float, stream: int) -> None:
    """Open loop: put each arrival's intended time in the queue when it falls due.

    Arrivals do not wait for answers; if every user is busy they wait in the queue,
    and their latency still runs from the intended time (no coordinated omission).
    Each worker draws its own reproducible stream of Poisson gaps. Times are kept as
    an offset from the start: added one gap at a time to a wall-clock value (a float
    whose step is about 0.2 us today) they would drift from the rate.
    """
    rng = random.Random(opts.eb_seed * 100_003 + stream)

    def run() -> None:
        start, elapsed, count = POINT.now(), 0.0, 0
        while start + elapsed < POINT.send_until:
            due = start + elapsed
            gevent.sleep(max(0.0, due - POINT.now()))
            POINT.arrivals.put(due)
            count += 1
            elapsed = elapsed + rng.expovariate(rate) if opts.eb_poisson else count / rate

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
        sent_at = POINT.now()
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
            done_at=POINT.now(),
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
        if POINT.now() >= POINT.send_until:
            gevent.sleep(3600)  # idle until the conductor quits
            return
        self.echo()


class PageUser(EchoUserBase):
    """The light, separate stream of fast `GET /` requests of the mixed scenario."""

    fixed_count = 1

    @task
    def page(self) -> None:
        if POINT.now() >= POINT.send_until:
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
