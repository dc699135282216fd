"""The locust users of every scenario: burst, closed loop, fast page, open loop.

Every user speaks HTTP/1.1 on raw sockets (loadtests/answers.py): the least request,
built in one place, the answer read and checked byte for byte, so the client's CPU per
request is small beside the server's on a machine they share (a steady user on
locust's FastHttpUser cost about twice as much). Each request is recorded before and
after (recorder.py) and reported to locust's own statistics; latencies are
`time.perf_counter` around the exchange, to the microsecond.
"""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import gevent
from gevent import socket
from gevent.queue import Empty
from locust import User, constant, constant_pacing, task

from loadtests.answers import KeepAlive, read_answer, request_bytes
from loadtests.conductor import CONDUCTOR, users_here
from loadtests.recorder import RECORDER
from loadtests.settings import Settings
from servers import contract
from servers.database import TIMING_HEADER

# What a request can fail with: the network, a malformed answer, a time limit.
REQUEST_ERRORS = (OSError, http.client.HTTPException, ValueError, gevent.Timeout)
WORKER = contract.WORKER_HEADER.lower()
TIMING = TIMING_HEADER.lower()


def classify(error: BaseException) -> str:
    timed_out = isinstance(error, TimeoutError | gevent.Timeout) or "timed out" in str(error)
    return "timeout" if timed_out else "failed"


def _reason(content_type: str | None, body: bytes) -> str:
    """The contract's one-line plain-text reason for a refusal (a 503 says why the
    database did not answer); nothing for other bodies."""
    if not (content_type or "").startswith("text/plain"):
        return ""
    line = body[:200].decode("utf-8", "replace").partition("\n")[0]
    return f": {line}" if line else ""


def judge_answer(status: int, headers: dict[str, str], body: bytes, expected: bytes) -> tuple:
    """(outcome, error) of an answer: ok only for a 200 with the expected bytes."""
    if status != 200:
        return "failed", f"status {status}{_reason(headers.get('content-type'), body)}"
    if body != expected:
        return "failed", "wrong body"
    return "ok", ""


def echo_path(text: str) -> str:
    """The echo request's path for this point's D and c."""
    settings = CONDUCTOR.settings
    path = f"/?field={text}&delay={settings.delay_s!r}"
    return f"{path}&work={settings.work_ms!r}" if settings.work_ms else path


def record_answer(environment, ids: dict, latency_ms: float, answer: tuple, failure) -> str:
    """The one end of every request: its outcome from the answer (status, headers, body,
    expected) or the failure, its `done` row, and locust's request event; the outcome."""
    status, headers, body, expected = answer
    if failure is not None:
        outcome, error = classify(failure), type(failure).__name__
    else:
        outcome, error = judge_answer(status, headers, body, expected)
    RECORDER.record("done", **ids, done_at=RECORDER.now(), latency_ms=f"{latency_ms:.3f}",
                    status=status, outcome=outcome, error=error, worker=headers.get(WORKER, ""),
                    server_timing=headers.get(TIMING, ""))  # fmt: skip
    environment.events.request.fire(
        request_type="GET", name=ids["kind"], response_time=latency_ms,
        response_length=len(body), context={},
        exception=None if outcome == "ok" else RuntimeError(f"{outcome}: {error}"),
    )  # fmt: skip
    return outcome


def sent(kind: str, user: int, intended_at: float | str = "", sent_at: float | None = None):
    """A request's ids, recorded as its `send` row."""
    ids = {"req_id": RECORDER.new_id(), "kind": kind, "user": user,
           "sent_at": RECORDER.now() if sent_at is None else sent_at,
           "intended_at": intended_at}  # fmt: skip
    RECORDER.record("send", **ids)
    return ids


def configure(point: Settings) -> None:
    """Class settings from the point; a worker learns them only when the master spawns."""
    PageUser.wait_time = constant_pacing(point.fast_interval_s)


class EchoUserBase(User):
    """A user with one keep-alive connection to the server (or, calibrating, one fresh
    connection per request, as a burst's)."""

    abstract = True
    wait_time = constant(0)

    def on_start(self) -> None:
        self.index = CONDUCTOR.user_arrived(self.environment)
        self.sequence = 0
        target = urlsplit(self.host)
        self.netloc = target.netloc
        self.connection = KeepAlive((target.hostname, target.port or 80),
                                    CONDUCTOR.settings.timeout_s)  # fmt: skip
        CONDUCTOR.go.wait()
        while CONDUCTOR.closed:  # spawned after the point ended (a master rebalancing): idle
            gevent.sleep(3600)

    def on_stop(self) -> None:
        self.connection.close()

    def request(self, kind: str, path: str, expected: bytes, intended_at: float | str = "") -> None:
        """One GET on this user's connection, validated byte for byte, recorded before and
        after."""
        request = request_bytes(self.netloc, path, close=CONDUCTOR.settings.fresh_connections)
        CONDUCTOR.in_flight += 1
        ids = sent(kind, self.index, intended_at)
        start = time.perf_counter()
        answer, failure = (0, {}, b"", expected), None
        try:
            answer = (*self.connection.exchange(request), expected)
        except REQUEST_ERRORS as exc:
            failure = exc
        finally:
            CONDUCTOR.in_flight -= 1
        record_answer(self.environment, ids, (time.perf_counter() - start) * 1000.0, answer,
                      failure)  # fmt: skip

    def echo(self, intended_at: float | str = "") -> None:
        self.sequence += 1
        text = f"u{self.index}r{self.sequence}"
        self.request("echo", echo_path(text), contract.render_page(text), intended_at)


class BurstUser(User):
    """Sends exactly one echo request, released together with all the others.

    Before the barrier each user opens its connection, writes all of its request but the
    last byte, and waits for its answer right there; at the release the conductor sends
    every last byte in one loop (`conductor.send_last_bytes`). So the server receives the
    burst at once, and connecting, request building and waking thousands of users are
    out of that moment: a user wakes only when its own answer arrives. Each answer is
    checked byte for byte and recorded like every request.
    """

    wait_time = constant(0)

    def on_start(self) -> None:
        while CONDUCTOR.closed:  # spawned after the point ended (a master rebalancing): idle
            gevent.sleep(3600)
        self.index = CONDUCTOR.take_index()
        self.sequence = 0
        self.sock = None
        self.failure: BaseException | None = None
        self.ids: dict | None = None
        self._prime()
        CONDUCTOR.arrive(self.environment)
        try:
            if self.late is not None:
                self._send_late()
            if self.late is None or self.ids is not None:
                self._answer()
        finally:
            if self.ids is not None:
                CONDUCTOR.user_finished(self.environment)
        while True:  # done, or never released: idle until the conductor quits
            gevent.sleep(3600)

    @task
    def once(self) -> None:
        gevent.sleep(3600)  # everything happens in on_start

    def _prime(self) -> None:
        """Connect and write all but the last byte, or, past the share the server can take
        in at once, leave both for right after the release (`_send_late`)."""
        settings = CONDUCTOR.settings
        text = f"u{self.index}r1"
        self.expected = contract.render_page(text)
        target = urlsplit(self.host)
        self.address = (target.hostname, target.port or 80)
        request = request_bytes(target.netloc, echo_path(text))
        self.last_byte = request[-1:]
        self.late = None
        limit = settings.primed_share * users_here(self.environment)
        if self.index >= max(1, round(limit)):
            self.late = request  # a later round: sent by this user after the release
            return
        try:
            self.sock = socket.create_connection(self.address, timeout=settings.timeout_s)
            self.sock.sendall(request[:-1])
            # waiting starts before the release: bounded by the point's whole life
            self.sock.settimeout(settings.spawn_timeout_s + settings.deadline_s)
        except OSError as exc:
            self.failure = exc
        CONDUCTOR.primed.append(self)

    def complete_request(self) -> None:
        """The conductor's loop: the clock, then the last byte; nothing slower."""
        self.sent_at = RECORDER.now()
        self.started = time.perf_counter()
        if self.failure is None:
            try:
                self.sock.send(self.last_byte)
            except OSError as exc:
                self.failure = exc

    def record_send(self) -> None:
        self.ids = sent("echo", self.index, sent_at=self.sent_at)

    def _send_late(self) -> None:
        """A user past the primed share: after the release, connect and send it all."""
        CONDUCTOR.go.wait()
        if CONDUCTOR.closed:
            return
        self.ids = sent("echo", self.index)
        self.started = time.perf_counter()
        try:
            self.sock = socket.create_connection(self.address, timeout=CONDUCTOR.settings.timeout_s)
            self.sock.sendall(self.late)
        except OSError as exc:
            self.failure = exc

    def _answer(self) -> None:
        """Wait for the answer (from before the release), check it, record it."""
        answer, failure = (0, {}, b"", self.expected), self.failure
        try:
            if failure is None:
                answer = (*read_answer(self.sock), self.expected)
        except REQUEST_ERRORS as exc:
            failure = exc
        finally:
            if self.sock is not None:
                self.sock.close()
        CONDUCTOR.go.wait()  # an answer (or failure) before the release waits for its send row
        if self.ids is None:
            return  # never released: never sent, never counted
        latency_ms = (time.perf_counter() - self.started) * 1000.0
        if failure is None and latency_ms > 1000.0 * CONDUCTOR.settings.timeout_s:
            failure = TimeoutError()  # later than any other user would wait
        record_answer(self.environment, self.ids, latency_ms, answer, failure)


class EchoUser(EchoUserBase):
    """Closed loop: echo requests back to back, starts staggered over one delay."""

    def on_start(self) -> None:
        super().on_start()
        stagger = CONDUCTOR.settings.delay_s * self.index / max(1, users_here(self.environment))
        gevent.sleep(stagger)

    @task
    def loop(self) -> None:
        """Back to back until the window ends, in one task: locust's scheduler and
        wait_time between requests would cost as much as the request itself."""
        while RECORDER.now() < CONDUCTOR.send_until:
            self.echo()
        gevent.sleep(3600)  # idle until the conductor quits


class PageUser(EchoUserBase):
    """The light, separate stream of fast `GET /` requests of the mixed scenario."""

    fixed_count = 1

    @task
    def page(self) -> None:
        if RECORDER.now() >= CONDUCTOR.send_until:
            gevent.sleep(3600)
            return
        self.request("page", "/", contract.render_page())


class OpenUser(EchoUserBase):
    """Open loop: one of a pool of senders taking arrivals from the schedule."""

    @task
    def arrivals(self) -> None:
        """Each arrival as it falls due, until the conductor closes the point."""
        while not CONDUCTOR.closed:
            try:
                intended = CONDUCTOR.arrivals.get(timeout=1.0)
            except Empty:
                continue
            self.echo(intended_at=intended)
        gevent.sleep(3600)
