"""The echo contract: one place decides every status, header and byte.

Both apps call `echo()` and the error replies below, then wait the delay in their
own way (`waited` blocking or in a thread pool, `awaited` on an event loop: a sleep, or
with `io = db` one query on PostgreSQL, servers/database.py), then burn the request's CPU work
with `burn()` wherever they run it (on the event loop, in a worker or a pool thread).
Parsing the raw query string here, rather than through each framework, keeps the apps
from drifting apart (Flask's `args.get` takes the first repeated key, Starlette's the
last).
"""

from __future__ import annotations

import asyncio
import html
import math
import os
import re
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from servers.database import TIMING_HEADER, Unavailable

DEFAULT_DELAY_S = 2.0
MAX_DELAY_S = 60.0
MAX_WORK_MS = 1000.0
MAX_FIELD_CHARS = 1000
# A large answer (`size=`, the slow reader's request) and a POSTed body are bounded, so
# neither a slow client nor a hostile one can make a worker hold more than this.
MAX_SIZE_BYTES = 1024 * 1024
MAX_BODY_BYTES = 64 * 1024
DELAY_ENV = "ECHOBENCH_DELAY"
WORK_ENV = "ECHOBENCH_WORK"
# A folder where each serving process leaves a file named by its PID once its app is
# loaded, so echobench can wait for every worker, not just the first, before any load.
READY_ENV = "ECHOBENCH_READY_DIR"
# The one header that differs between answers besides Date and Server: who answered.
WORKER_HEADER = "X-Echobench-Worker"

HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
ALLOWED_METHODS = "GET, HEAD, POST"

FORM = (
    '<form method="GET" action="/">'
    '<input type="text" name="field" maxlength="1000" autofocus> '
    '<input type="submit" value="Echo">'
    "</form>"
)
PAGE_TEMPLATE = (
    "<!DOCTYPE html>\n"
    '<html><head><meta charset="utf-8"><title>echo</title></head>\n'
    "<body>\n{said}{form}\n</body></html>\n"
)

# A plain decimal in ASCII digits: no sign, exponent, underscores, spaces, nan, inf, or
# other scripts' digits (which `\d` and float() would both accept).
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")
# C0 and C1 control characters other than tab, newline and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class BadRequest(ValueError):
    """The reason a request is refused, sent to the client as plain text."""


@dataclass(frozen=True)
class Reply:
    """Everything an adapter needs to answer: status, headers, body and the wait."""

    status: int
    content_type: str
    body: bytes
    delay_s: float = 0.0
    work_s: float = 0.0  # CPU seconds to burn after the wait
    said: str | None = None  # an echo's text: what a database round trip carries
    size: int | None = None  # `size=`: the answer padded to this many bytes
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": self.content_type,
            WORKER_HEADER: str(os.getpid()),
            **self.extra_headers,
        }


def parse_delay(text: str) -> float:
    """Seconds from a decimal string, refusing anything outside [0, MAX_DELAY_S]."""
    if not _DECIMAL.fullmatch(text):
        raise BadRequest(f"delay must be a decimal number of seconds from 0 to {MAX_DELAY_S:g}")
    value = float(text)
    if not math.isfinite(value) or value > MAX_DELAY_S:
        raise BadRequest(f"delay must be a decimal number of seconds from 0 to {MAX_DELAY_S:g}")
    return value


def parse_work(text: str) -> float:
    """Milliseconds of CPU work from a decimal string, refusing anything outside [0, 1000]."""
    reason = f"work must be a decimal number of milliseconds from 0 to {MAX_WORK_MS:g}"
    if not _DECIMAL.fullmatch(text) or float(text) > MAX_WORK_MS:
        raise BadRequest(reason)
    return float(text)


def default_delay() -> float:
    """The server-wide delay, set by `echobench serve --delay` through the environment."""
    raw = os.environ.get(DELAY_ENV)
    return DEFAULT_DELAY_S if raw is None else parse_delay(raw)


def default_work() -> float:
    """The server-wide CPU work in ms, set by `echobench serve --work` (default 0)."""
    raw = os.environ.get(WORK_ENV)
    return 0.0 if raw is None else parse_work(raw)


def wait(delay_s: float, sleep=None) -> None:
    """Sleep at least `delay_s` by the monotonic clock: event-loop timers may fire up to a
    millisecond early, and the contract promises a request never ends before its D.
    `time.sleep` is looked up at each call, so gevent's patched sleep is the one used."""
    sleep = sleep or time.sleep
    deadline = time.monotonic() + delay_s
    sleep(delay_s)
    while (left := deadline - time.monotonic()) > 0:
        sleep(left)


async def await_wait(delay_s: float, sleep=None) -> None:
    """`wait` for an event loop: yields while it waits, never ends early."""
    sleep = sleep or asyncio.sleep
    deadline = time.monotonic() + delay_s
    await sleep(delay_s)
    while (left := deadline - time.monotonic()) > 0:
        await sleep(left)


def announce_ready() -> None:
    """Leave this process's PID in the ready folder, when echobench gave one."""
    folder = os.environ.get(READY_ENV)
    if folder:
        with open(os.path.join(folder, str(os.getpid())), "w"):
            pass


def burn(seconds: float) -> None:
    """Spend `seconds` of this thread's CPU time in pure Python, holding the GIL as page
    rendering does; CPU time, not wall time, so a busy machine cannot shorten it."""
    deadline = time.thread_time() + seconds
    x = 0
    while time.thread_time() < deadline:
        for i in range(1000):
            x ^= i * i


def render_page(said: str | None = None, size: int | None = None) -> bytes:
    """The echo page; with `size`, padded by a trailing HTML comment to exactly that many
    bytes (a large answer, for a client that reads it slowly)."""
    prefix = "" if said is None else f"You said: {html.escape(said, quote=True)}<br>\n"
    page = PAGE_TEMPLATE.format(said=prefix, form=FORM).encode("utf-8")
    if size is None:
        return page
    filler = size - len(page) - len(_PAD_OPEN) - len(_PAD_CLOSE)
    if filler < 0:
        raise BadRequest(f"size must be at least the page's {len(page) + 8} bytes")
    return page + _PAD_OPEN + b"x" * filler + _PAD_CLOSE


_PAD_OPEN, _PAD_CLOSE = b"<!--", b"-->\n"


def parse_size(text: str) -> int:
    """The answer's length in bytes: whole ASCII digits, at most MAX_SIZE_BYTES."""
    if not re.fullmatch(r"[0-9]{1,8}", text) or int(text) > MAX_SIZE_BYTES:
        raise BadRequest(f"size must be a whole number of bytes up to {MAX_SIZE_BYTES}")
    return int(text)


def body_too_large(content_length: int | None) -> bool:
    """A POST whose declared body is past the contract's bound: refused before it is read."""
    return content_length is not None and content_length > MAX_BODY_BYTES


def _params(raw_query: bytes, what: str = "query") -> dict[str, str]:
    try:
        query = raw_query.decode("utf-8")
        pairs = parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not valid UTF-8") from None
    except ValueError:
        raise BadRequest(f"{what} is malformed") from None
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in ("field", "delay", "work", "size") and key in params:
            raise BadRequest(f"{key} is given more than once")
        params.setdefault(key, value)
    return params


def echo(
    raw_query: bytes, server_delay_s: float, server_work_ms: float = 0.0, body: bytes | None = None
) -> Reply:
    """The answer to `GET /?<raw_query>`, or a POST whose form-encoded `body` carries the
    field (`field=...`, at most MAX_BODY_BYTES); unknown parameters are ignored."""
    try:
        params = _params(raw_query)
        if body is not None:
            if len(body) > MAX_BODY_BYTES:
                return too_large()
            form = _params(body, "body")
            if "field" in params and "field" in form:
                raise BadRequest("field is given in both the query and the body")
            params.setdefault("field", form.get("field", ""))
        delay_s = parse_delay(params["delay"]) if "delay" in params else server_delay_s
        work_ms = parse_work(params["work"]) if "work" in params else server_work_ms
        size = parse_size(params["size"]) if "size" in params else None
        said = params.get("field", "")
        if len(said) > MAX_FIELD_CHARS:
            raise BadRequest(f"field is longer than {MAX_FIELD_CHARS} characters")
        if _CONTROL.search(said):
            raise BadRequest("field contains control characters")
        page = render_page(said or None, size)
    except BadRequest as exc:
        return bad_request(str(exc))
    if not said:
        return Reply(200, HTML_TYPE, page)
    return Reply(200, HTML_TYPE, page, delay_s, work_ms / 1000.0, said, size=size)


def waited(reply: Reply, db=None) -> Reply:
    """Wait the reply's D, blocking: a sleep, or with a database one query through its
    pool; the reply to send (rendered from what PostgreSQL sent back, or a 503)."""
    if db is not None and reply.said is not None:
        try:
            return _from_database(reply, *db.query(reply.said, reply.delay_s))
        except Unavailable as exc:
            return unavailable(str(exc))
    if reply.delay_s:
        wait(reply.delay_s)
    return reply


async def awaited(reply: Reply, db=None) -> Reply:
    """`waited` for an event loop: the sleep or the query is awaited."""
    if db is not None and reply.said is not None:
        try:
            return _from_database(reply, *await db.query(reply.said, reply.delay_s))
        except Unavailable as exc:
            return unavailable(str(exc))
    if reply.delay_s:
        await await_wait(reply.delay_s)
    return reply


def _from_database(reply: Reply, said_back: str, timing: str) -> Reply:
    body = render_page(said_back, reply.size)
    return Reply(200, HTML_TYPE, body, reply.delay_s, reply.work_s, said_back, reply.size,
                 {TIMING_HEADER: timing})  # fmt: skip


def bad_request(reason: str) -> Reply:
    return Reply(400, TEXT_TYPE, f"Bad Request: {reason}\n".encode())


def too_large() -> Reply:
    return Reply(413, TEXT_TYPE, f"Payload Too Large: the body is at most {MAX_BODY_BYTES} "
                 "bytes\n".encode())  # fmt: skip


def not_found() -> Reply:
    return Reply(404, TEXT_TYPE, b"Not Found\n")


def unavailable(reason: str) -> Reply:
    """The database did not answer: a pool timeout or a database error, said in the body."""
    return Reply(503, TEXT_TYPE, f"Service Unavailable: {reason}\n".encode())


def method_not_allowed() -> Reply:
    return Reply(405, TEXT_TYPE, b"Method Not Allowed\n", extra_headers={"Allow": ALLOWED_METHODS})
