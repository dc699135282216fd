"""The locust users of every scenario: burst, closed loop, fast page, open loop.

Each request is validated byte for byte and recorded before and after (recorder.py);
latencies are `time.perf_counter` around the call, to the microsecond.
"""

from __future__ import annotations

import time

import gevent
from gevent.queue import Empty
from locust import FastHttpUser, constant, constant_pacing, task

from loadtests.conductor import CONDUCTOR, users_here
from loadtests.recorder import RECORDER
from loadtests.settings import Settings
from servers import contract
from servers.database import TIMING_HEADER

FRESH_CONNECTION = {"Connection": "close"}


def classify(error: BaseException) -> str:
    timed_out = isinstance(error, TimeoutError | gevent.Timeout) or "timed out" in str(error)
    return "timeout" if timed_out else "failed"


def _reason(resp) -> str:
    """The contract's one-line plain-text reason for a refusal (a 503 says why the
    database did not answer); nothing for other bodies."""
    if not resp.headers.get("Content-Type", "").startswith("text/plain"):
        return ""
    line = resp.content[:200].decode("utf-8", "replace").partition("\n")[0]
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
                    outcome, error = "failed", f"status {status}{_reason(resp)}"
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
    """Sends exactly one echo request, released together with all the others."""

    @task
    def once(self) -> None:
        if self.sequence:  # done: idle rather than stop, or a distributed master respawns us
            gevent.sleep(3600)
            return
        try:
            self.echo()
        finally:
            CONDUCTOR.user_finished(self.environment)


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
