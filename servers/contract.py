"""The echo contract: one place decides every status, header and byte.

Both apps call `echo()` and the error replies below, then sleep the delay in their
own way (blocking, awaited, or in a thread pool). Parsing the raw query string here,
rather than through each framework, keeps the apps from drifting apart (Flask's
`args.get` takes the first repeated key, Starlette's the last).
"""

from __future__ import annotations

import html
import math
import os
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

DEFAULT_DELAY_S = 2.0
MAX_DELAY_S = 60.0
MAX_FIELD_CHARS = 1000
DELAY_ENV = "ECHOBENCH_DELAY"

HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
ALLOWED_METHODS = "GET, HEAD"

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

# A plain decimal: no sign, exponent, underscores, spaces, nan or inf.
_DECIMAL = re.compile(r"\d+(\.\d*)?|\.\d+")
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
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Type": self.content_type, **self.extra_headers}


def parse_delay(text: str) -> float:
    """Seconds from a decimal string, refusing anything outside [0, MAX_DELAY_S]."""
    if not _DECIMAL.fullmatch(text):
        raise BadRequest(f"delay must be a decimal number of seconds from 0 to {MAX_DELAY_S:g}")
    value = float(text)
    if not math.isfinite(value) or value > MAX_DELAY_S:
        raise BadRequest(f"delay must be a decimal number of seconds from 0 to {MAX_DELAY_S:g}")
    return value


def default_delay() -> float:
    """The server-wide delay, set by `echobench serve --delay` through the environment."""
    raw = os.environ.get(DELAY_ENV)
    return DEFAULT_DELAY_S if raw is None else parse_delay(raw)


def render_page(said: str | None = None) -> bytes:
    prefix = "" if said is None else f"You said: {html.escape(said, quote=True)}<br>\n"
    return PAGE_TEMPLATE.format(said=prefix, form=FORM).encode("utf-8")


def _params(raw_query: bytes) -> dict[str, str]:
    try:
        query = raw_query.decode("utf-8")
        pairs = parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("query is not valid UTF-8") from None
    except ValueError:
        raise BadRequest("query is malformed") from None
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in ("field", "delay") and key in params:
            raise BadRequest(f"{key} is given more than once")
        params.setdefault(key, value)
    return params


def echo(raw_query: bytes, server_delay_s: float) -> Reply:
    """The answer to `GET /?<raw_query>`; unknown parameters are ignored."""
    try:
        params = _params(raw_query)
        delay_s = parse_delay(params["delay"]) if "delay" in params else server_delay_s
        said = params.get("field", "")
        if len(said) > MAX_FIELD_CHARS:
            raise BadRequest(f"field is longer than {MAX_FIELD_CHARS} characters")
        if _CONTROL.search(said):
            raise BadRequest("field contains control characters")
    except BadRequest as exc:
        return bad_request(str(exc))
    if not said:
        return Reply(200, HTML_TYPE, render_page())
    return Reply(200, HTML_TYPE, render_page(said), delay_s=delay_s)


def bad_request(reason: str) -> Reply:
    return Reply(400, TEXT_TYPE, f"Bad Request: {reason}\n".encode())


def not_found() -> Reply:
    return Reply(404, TEXT_TYPE, b"Not Found\n")


def method_not_allowed() -> Reply:
    return Reply(405, TEXT_TYPE, b"Method Not Allowed\n", extra_headers={"Allow": ALLOWED_METHODS})
