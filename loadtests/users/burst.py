"""The burst's user: one request each, all released together."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import gevent
from gevent import socket
from locust import User, constant, task

from loadtests.answers import read_answer, request_bytes
from loadtests.conductor import CONDUCTOR, users_here
from loadtests.recorder import RECORDER
from loadtests.users.base import REQUEST_ERRORS, echo_path, record_answer, sent
from servers import contract


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
