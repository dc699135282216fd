"""The server command lines: how each server program is started for a config.

Each builder returns `argv(bind) -> list[str]` for a bind address (`host:port`, or
`[::1]:port`); configs.py's families call them with their workers and threads. Every
server gets the same listen backlog, no access log, a short graceful shutdown and a
worker timeout past the contract's longest delay.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

LISTEN_BACKLOG = 4096
GEVENT_WORKER_CONNECTIONS = 1000
# gunicorn's ASGI worker and granian's ASGI workers: requests held at once per worker,
# set like gevent's so the three event-loop-per-worker servers have the same K.
ASGI_WORKER_CONNECTIONS = 1000
# waitress: connections it keeps open at once (its default, 100, would refuse a C = 256
# closed loop before its threads are the limit).
WAITRESS_CONNECTION_LIMIT = 4096
# Longer than the largest delay the contract allows (60 s), so no sleeping worker is killed.
GUNICORN_WORKER_TIMEOUT_S = 120

FLASK_APP = "servers.flask_app:app"
ASYNC_APP = "servers.fastapi_app:async_app"

Argv = Callable[[str], list[str]]


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _host_port(bind: str) -> tuple[str, str]:
    host, _, port = bind.rpartition(":")
    return host.strip("[]"), port


def gunicorn(worker_class: str, workers: int, *extra: str, app: str = FLASK_APP) -> Argv:
    def argv(bind: str) -> list[str]:
        return [
            sys.executable, "-m", "gunicorn",
            "--bind", bind,
            "--worker-class", worker_class,
            "--workers", str(workers),
            "--backlog", str(LISTEN_BACKLOG),
            "--timeout", str(GUNICORN_WORKER_TIMEOUT_S),
            "--graceful-timeout", "2",
            "--log-level", "warning",
            *extra,
            app,
        ]  # fmt: skip

    return argv


def granian(interface: str, app: str, workers: int, *extra: str) -> Argv:
    def argv(bind: str) -> list[str]:
        host, port = _host_port(bind)
        return [
            sys.executable, "-m", "granian",
            "--interface", interface,
            "--host", host,
            "--port", port,
            "--workers", str(workers),
            "--http", "1",
            "--no-ws",
            "--backlog", str(LISTEN_BACKLOG),
            "--log-level", "warning",
            "--workers-kill-timeout", "2",
            *extra,
            app,
        ]  # fmt: skip

    return argv


def uvicorn(app: str, workers: int = 1) -> Argv:
    def argv(bind: str) -> list[str]:
        host, port = _host_port(bind)
        return [
            sys.executable, "-m", "uvicorn",
            "--host", host,
            "--port", port,
            "--loop", "uvloop",
            "--http", "httptools",
            "--backlog", str(LISTEN_BACKLOG),
            "--no-access-log",
            "--log-level", "warning",
            "--timeout-graceful-shutdown", "2",
            *(["--workers", str(workers)] if workers > 1 else []),
            f"servers.fastapi_app:{app}",
        ]  # fmt: skip

    return argv


def hypercorn() -> Argv:
    def argv(bind: str) -> list[str]:
        return [
            sys.executable, "-m", "hypercorn",
            "--bind", bind,
            "--workers", "1",
            "--worker-class", "uvloop",
            "--backlog", str(LISTEN_BACKLOG),
            "--graceful-timeout", "2",
            "--log-level", "warning",
            ASYNC_APP,
        ]  # fmt: skip

    return argv


def waitress(threads: int) -> Argv:
    def argv(bind: str) -> list[str]:
        host, port = _host_port(bind)
        return [
            sys.executable, "-m", "waitress",
            "--host", host,
            "--port", port,
            "--threads", str(threads),
            "--backlog", str(LISTEN_BACKLOG),
            "--connection-limit", str(WAITRESS_CONNECTION_LIMIT),
            FLASK_APP,
        ]  # fmt: skip

    return argv
