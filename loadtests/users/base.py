"""What every locust user shares: one request's life, from its `send` row to its
`done` row and locust's request event, on raw sockets (loadtests/answers.py).

The least request, built in one place, the answer read and checked byte for byte, so
the client's CPU per request is small beside the server's on a machine they share (a
steady user on locust's FastHttpUser cost about three times as much). Latencies are
`time.perf_counter` around the exchange, to the microsecond. Each scenario's users are
one module of this package, named by the scenario's `user_modules`; locust loads them
as extra locustfiles beside loadtests/locustfile.py.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import time
from urllib.parse import urlsplit

import gevent
from locust import User, constant

from loadtests.answers import KeepAlive, request_bytes
from loadtests.conductor import CONDUCTOR
from loadtests.recorder import RECORDER
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


def judge_answer(status: int, headers: dict[str, str], body: bytes, expected) -> tuple:
    """(outcome, error) of an answer: ok only for a 200 with the expected bytes; a user's
    app (`expected` an AppAnswer) for a 2xx, with the body's hash when one is said."""
    if isinstance(expected, AppAnswer):
        if not 200 <= status < 300:
            return "failed", f"status {status}{_reason(headers.get('content-type'), body)}"
        if expected.sha256 and hashlib.sha256(body).hexdigest() != expected.sha256:
            return "failed", "wrong body"
        return "ok", ""
    if status != 200:
        return "failed", f"status {status}{_reason(headers.get('content-type'), body)}"
    if body != expected:
        return "failed", "wrong body"
    return "ok", ""


class AppAnswer:
    """What a user's app's answer is judged by: a 2xx, and a body hash when said."""

    def __init__(self, sha256: str = "") -> None:
        self.sha256 = sha256

    def __len__(self) -> int:  # the failure path's placeholder answer has no body yet
        return 0


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

    def request(self, kind: str, path: str, expected, intended_at: float | str = "",
                request: bytes | None = None) -> str:  # fmt: skip
        """One GET on this user's connection (or `request`'s bytes), validated byte for
        byte, recorded before and after; its outcome."""
        if request is None:
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
        return record_answer(self.environment, ids, (time.perf_counter() - start) * 1000.0,
                             answer, failure)  # fmt: skip

    def echo(self, intended_at: float | str = "") -> str:
        self.sequence += 1
        app = CONDUCTOR.settings.app
        if app:  # the user's own request, the same every time
            if not hasattr(self, "app_request"):
                self.app_request = request_bytes(
                    self.netloc, app["path"], close=CONDUCTOR.settings.fresh_connections,
                    method=app["method"], headers=tuple(map(tuple, app["headers"])),
                    body=base64.b64decode(app["body_b64"]) if app["body_b64"] else b"",
                )  # fmt: skip
            return self.request("echo", app["path"], AppAnswer(app["body_sha256"]),
                                intended_at, request=self.app_request)  # fmt: skip
        text = f"u{self.index}r{self.sequence}"
        return self.request("echo", echo_path(text), contract.render_page(text), intended_at)
