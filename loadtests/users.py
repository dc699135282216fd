"""The locust users of every scenario: burst, closed loop, fast page, open loop.

Each request is validated byte for byte and recorded before and after (recorder.py);
latencies are `time.perf_counter` around the call, to the microsecond.
"""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import gevent
from gevent import socket
from gevent.queue import Empty
from locust import FastHttpUser, constant, constant_pacing, task

from loadtests.answers import read_answer, request_bytes
from loadtests.conductor import CONDUCTOR, users_here
from loadtests.recorder import RECORDER
from loadtests.settings import Settings
from servers import contract
from servers.database import TIMING_HEADER

FRESH_CONNECTION = {"Connection": "close"}


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


def configure(point: Settings) -> None:
    """Class settings from the point; a worker learns them only when the master spawns."""
    EchoUserBase.network_timeout = point.timeout_s
    EchoUserBase.connection_timeout = point.timeout_s
    PageUser.wait_time = constant_pacing(point.fast_interval_s)


class EchoUserBase(FastHttpUser):
    abstract = True
    wait_time = constant(0)

    def on_start(self) -> None:
        self.index = CONDUCTOR.user_arrived(self.environment)
        self.sequence = 0
        CONDUCTOR.go.wait()
        while CONDUCTOR.closed:  # spawned after the point ended (a master rebalancing): idle
            gevent.sleep(3600)

    def request(self, kind: str, path: str, expected: bytes, intended_at: float | str = "") -> None:
        """One GET, validated byte for byte, recorded before and after."""
        CONDUCTOR.in_flight += 1
        ids = {
            "req_id": RECORDER.new_id(),
            "kind": kind,
            "user": self.index,
            "sent_at": RECORDER.now(),
            "intended_at": intended_at,
        }
        RECORDER.record("send", **ids)
        start = time.perf_counter()
        outcome, error, status, worker, timing = "ok", "", 0, "", ""
        fresh = CONDUCTOR.settings.fresh_connections  # as a burst's requests are
        try:
            with self.client.get(
                path, name=kind, catch_response=True, headers=FRESH_CONNECTION if fresh else None
            ) as resp:
                latency_ms = (time.perf_counter() - start) * 1000.0
                status = resp.status_code or 0
                if status:
                    worker = resp.headers.get(contract.WORKER_HEADER, "")
                    timing = resp.headers.get(TIMING_HEADER, "")
                exception = resp.request_meta.get("exception")
                if not status:
                    outcome = classify(exception) if exception else "failed"
                    error = type(exception).__name__ if exception else "no response"
                elif status != 200:
                    reason = _reason(resp.headers.get("Content-Type"), resp.content)
                    outcome, error = "failed", f"status {status}{reason}"
                elif resp.content != expected:
                    outcome, error = "failed", "wrong body"
                if outcome != "ok":
                    resp.failure(f"{outcome}: {error}")
        finally:
            CONDUCTOR.in_flight -= 1
        RECORDER.record(
            "done",
            **ids,
            done_at=RECORDER.now(),
            latency_ms=f"{latency_ms:.3f}",
            status=status,
            outcome=outcome,
            error=error,
            worker=worker,
            server_timing=timing,
        )

    def echo(self, intended_at: float | str = "") -> None:
        self.sequence += 1
        text = f"u{self.index}r{self.sequence}"
        settings = CONDUCTOR.settings
        path = f"/?field={text}&delay={settings.delay_s!r}"
        if settings.work_ms:
            path += f"&work={settings.work_ms!r}"
        self.request("echo", path, contract.render_page(text), intended_at)


class BurstUser(EchoUserBase):
    """Sends exactly one echo request, released together with all the others.

    Before the barrier each user opens its connection, writes all of its request but the
    last byte, and waits for its answer right there; at the release the conductor sends
    every last byte in one loop (`conductor.send_last_bytes`). So the server receives the
    burst at once, and connecting, request building and waking thousands of users are
    out of that moment: a user wakes only when its own answer arrives. Each answer is
    checked byte for byte and recorded like every request.
    """

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
        path = f"/?field={text}&delay={settings.delay_s!r}"
        if settings.work_ms:
            path += f"&work={settings.work_ms!r}"
        self.expected = contract.render_page(text)
        target = urlsplit(self.host)
        self.address = (target.hostname, target.port or 80)
        request = request_bytes(target.netloc, path)
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
        self.ids = {"req_id": RECORDER.new_id(), "kind": "echo", "user": self.index,
                    "sent_at": self.sent_at, "intended_at": ""}  # fmt: skip
        RECORDER.record("send", **self.ids)

    def _send_late(self) -> None:
        """A user past the primed share: after the release, connect and send it all."""
        CONDUCTOR.go.wait()
        if CONDUCTOR.closed:
            return
        self.ids = {"req_id": RECORDER.new_id(), "kind": "echo", "user": self.index,
                    "sent_at": RECORDER.now(), "intended_at": ""}  # fmt: skip
        RECORDER.record("send", **self.ids)
        self.started = time.perf_counter()
        try:
            self.sock = socket.create_connection(self.address, timeout=CONDUCTOR.settings.timeout_s)
            self.sock.sendall(self.late)
        except OSError as exc:
            self.failure = exc

    def _answer(self) -> None:
        """Wait for the answer (from before the release), check it, record it."""
        outcome, error, status, worker, timing, body = "ok", "", 0, "", "", b""
        try:
            if self.failure is not None:
                raise self.failure
            status, headers, body = read_answer(self.sock)
            worker = headers.get(contract.WORKER_HEADER.lower(), "")
            timing = headers.get(TIMING_HEADER.lower(), "")
            if status != 200:
                reason = _reason(headers.get("content-type"), body)
                outcome, error = "failed", f"status {status}{reason}"
            elif body != self.expected:
                outcome, error = "failed", "wrong body"
        except (OSError, http.client.HTTPException, gevent.Timeout) as exc:
            outcome, error = classify(exc), type(exc).__name__
        finally:
            if self.sock is not None:
                self.sock.close()
        CONDUCTOR.go.wait()  # an answer (or failure) before the release waits for its send row
        if self.ids is None:
            return  # never released: never sent, never counted
        latency_ms = (time.perf_counter() - self.started) * 1000.0
        if outcome == "ok" and latency_ms > 1000.0 * CONDUCTOR.settings.timeout_s:
            outcome, error = "timeout", "TimeoutError"  # later than any other user would wait
        RECORDER.record("done", **self.ids, done_at=RECORDER.now(),
                        latency_ms=f"{latency_ms:.3f}", status=status, outcome=outcome,
                        error=error, worker=worker, server_timing=timing)  # fmt: skip
        self.environment.events.request.fire(
            request_type="GET", name="echo", response_time=latency_ms,
            response_length=len(body), context={},
            exception=None if outcome == "ok" else RuntimeError(f"{outcome}: {error}"),
        )  # fmt: skip


class EchoUser(EchoUserBase):
    """Closed loop: echo requests back to back, starts staggered over one delay."""

    def on_start(self) -> None:
        super().on_start()
        stagger = CONDUCTOR.settings.delay_s * self.index / max(1, users_here(self.environment))
        gevent.sleep(stagger)

    @task
    def loop(self) -> None:
        if RECORDER.now() >= CONDUCTOR.send_until:
            gevent.sleep(3600)  # idle until the conductor quits
            return
        self.echo()


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
    def arrival(self) -> None:
        try:
            intended = CONDUCTOR.arrivals.get(timeout=1.0)
        except Empty:
            return
        self.echo(intended_at=intended)
