"""Your own app under every server that can serve it (`echobench run --app module:attr`).

The app is checked before anything starts, in a child Python (so its imports, its
environment variables and any monkey-patching stay out of echobench): it must import,
and its attribute must be a WSGI or an ASGI callable. Each server then imports it
through `servers/user_app.py`, which adds the worker header and the ready signal and
changes nothing else. There is no expected body: an answer is ok when its status is
2xx, and, when the user says the endpoint is deterministic (`--same-body`), when its
body's SHA-256 is the one the first verification answer had.

Before the sweep a probe at one user estimates the app's own wait D and CPU c per
request (c from the server's CPU seconds per answer, D from the median latency minus
c); every point's model figures then use them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass, replace

from echobench.commands import ASYNC_APP, FLASK_APP
from echobench.configs import ServerConfig

WRAPPERS = {"wsgi": "servers.user_app:wsgi", "asgi": "servers.user_app:asgi"}
TARGET_ENV = "ECHOBENCH_APP"


class AppError(ValueError):
    """An app that cannot be benchmarked, said in one line."""


@dataclass(frozen=True)
class AppRequest:
    """What every request of a point asks of the user's app, and how its answer is judged."""

    target: str  # module:attr
    interface: str  # wsgi or asgi
    path: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body_b64: str = ""  # the request body, base64 (run.json and locust carry it as text)
    same_body: bool = False  # the endpoint is deterministic: every body must hash alike
    body_sha256: str = ""  # the first verification answer's, when same_body

    @property
    def body(self) -> bytes:
        return base64.b64decode(self.body_b64) if self.body_b64 else b""

    def judged_by(self, sha256: str) -> AppRequest:
        return replace(self, body_sha256=sha256 if self.same_body else "")


def detect(target: str) -> str:
    """ "wsgi" or "asgi" for `module:attr`, checked in a child Python; AppError if not."""
    if ":" not in target or not all(target.partition(":")[::2]):
        raise AppError(f"--app must look like module:attribute, got {target!r}")
    try:
        done = subprocess.run([sys.executable, "-m", "servers.user_app", "--detect", target],
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise AppError(f"{target}: importing it took over 60 s") from None
    try:
        said = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise AppError(f"{target}: checking it failed: {tail}") from None
    if "error" in said:
        raise AppError(said["error"])
    return said["interface"]


def interface_of(config: ServerConfig) -> str | None:
    """Which kind of app a config's server runs: the echo app's WSGI or ASGI target in its
    command (the thread-pool and blocking variants run other endpoints: neither)."""
    argv = config.argv("127.0.0.1", 1)
    if FLASK_APP in argv:
        return "wsgi"
    if ASYNC_APP in argv:
        return "asgi"
    return None


def swap(argv: list[str], interface: str) -> list[str]:
    """The server command with the echo app replaced by the wrapped user app."""
    echo = FLASK_APP if interface == "wsgi" else ASYNC_APP
    return [WRAPPERS[interface] if a == echo else a for a in argv]


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def probe_figures(row: dict) -> tuple[float, float]:
    """(D in s, c in ms) from a one-user probe row: c is the server's CPU per answer, D
    the median latency less c; both rounded (0.1 ms, 0.01 ms) to keep point ids short."""
    ok = row.get("ok") or 0
    if not ok or row.get("p50_ms") is None:
        raise AppError("the probe got no ok answer from the app")
    cpu_ms = 1000.0 * (row.get("server_cpu_s") or 0.0) / ok
    wait_s = max(0.0, row["p50_ms"] - cpu_ms) / 1000.0
    return round(wait_s, 4), round(cpu_ms, 2)
