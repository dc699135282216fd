"""Every server config as data: id, command, concurrency model, slots K, parallelism P.

A config id carries its parameters (`flask-sync-8`, `flask-gthread-4x8`); a family
declares its pattern once, and `get_config` turns an id into a full `ServerConfig`.
The queueing model (docs/methodology.md) needs two numbers of each config: K, the
requests it can hold at once (`math.inf` for an event loop), and P, the processes that
can compute at once (threads and greenlets of one process share its GIL: they add 1).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_WORKERS = 64
MAX_THREADS = 256
LISTEN_BACKLOG = 4096
GEVENT_WORKER_CONNECTIONS = 1000
ANYIO_THREADS = 40
# Longer than the largest delay the contract allows (60 s), so no sleeping worker is killed.
GUNICORN_WORKER_TIMEOUT_S = 120


class ConfigError(ValueError):
    """An id that names no config, or names one with parameters out of range."""


@dataclass(frozen=True)
class ServerConfig:
    id: str
    family: str
    model: str
    server: str
    workers: int
    threads: int | None
    capacity: float
    parallel: int
    description: str
    _argv: Callable[[str], list[str]] = field(compare=False)  # built from the fields above

    def argv(self, host: str, port: int) -> list[str]:
        """The server command; an argument list, never a shell string."""
        return self._argv(_bind(host, port))


@dataclass(frozen=True)
class Family:
    name: str
    pattern: str
    model: str
    server: str
    capacity: str
    parallel: str
    description: str
    build: Callable[..., ServerConfig]


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _gunicorn(worker_class: str, workers: int, *extra: str) -> Callable[[str], list[str]]:
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
            "servers.flask_app:app",
        ]  # fmt: skip

    return argv


def _uvicorn(app: str, workers: int = 1) -> Callable[[str], list[str]]:
    def argv(bind: str) -> list[str]:
        host, _, port = bind.rpartition(":")
        return [
            sys.executable, "-m", "uvicorn",
            "--host", host.strip("[]"),
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


def _count(text: str, what: str, limit: int) -> int:
    value = int(text)
    if not 1 <= value <= limit:
        raise ConfigError(f"{what} must be from 1 to {limit}, got {value}")
    return value


def _config(fam: Family, cid: str, workers: int, threads: int | None, capacity: float,
            argv: Callable[[str], list[str]]) -> ServerConfig:  # fmt: skip
    """Every family's P is its worker processes: one GIL each."""
    return ServerConfig(cid, fam.name, fam.model, fam.server, workers, threads, capacity,
                        workers, fam.description, argv)  # fmt: skip


def _flask_sync(fam: Family, cid: str, n: str) -> ServerConfig:
    workers = _count(n, "workers", MAX_WORKERS)
    return _config(fam, cid, workers, None, workers, _gunicorn("sync", workers))


def _flask_gthread(fam: Family, cid: str, n: str, t: str) -> ServerConfig:
    workers = _count(n, "workers", MAX_WORKERS)
    threads = _count(t, "threads", MAX_THREADS)
    argv = _gunicorn("gthread", workers, "--threads", str(threads))
    return _config(fam, cid, workers, threads, workers * threads, argv)


def _flask_gevent(fam: Family, cid: str, n: str) -> ServerConfig:
    workers = _count(n, "workers", MAX_WORKERS)
    argv = _gunicorn("gevent", workers, "--worker-connections", str(GEVENT_WORKER_CONNECTIONS))
    return _config(fam, cid, workers, None, workers * GEVENT_WORKER_CONNECTIONS, argv)


def _fastapi(app: str, capacity: float, threads: int | None) -> Callable[..., ServerConfig]:
    def build(fam: Family, cid: str) -> ServerConfig:
        return _config(fam, cid, 1, threads, capacity, _uvicorn(app))

    return build


def _fastapi_async_n(fam: Family, cid: str, n: str) -> ServerConfig:
    """uvicorn's own --workers: the same server and flags as `fastapi-async`, so the process
    count is the only difference (gunicorn managing uvicorn workers is its own family)."""
    workers = _count(n, "workers", MAX_WORKERS)
    return _config(fam, cid, workers, None, math.inf, _uvicorn("async_app", workers))


# In reading order: async first, the blocking mistake last (charts and tables use it).
FAMILIES: dict[str, Family] = {f.name: f for f in [
    Family(
        "fastapi-async", r"fastapi-async", "async", "uvicorn", "unbounded", "1",
        "FastAPI async def + await asyncio.sleep, one uvicorn worker (K unbounded)",
        _fastapi("async_app", math.inf, None),
    ),
    Family(
        "fastapi-async-N", r"fastapi-async-(\d+)", "async", "uvicorn", "unbounded", "N",
        "FastAPI async def, N uvicorn worker processes (uvicorn --workers N)",
        _fastapi_async_n,
    ),
    Family(
        "flask-gevent-N", r"flask-gevent-(\d+)", "gevent", "gunicorn", "N*1000", "N",
        "Flask, time.sleep monkey-patched by gevent, N workers (K = N*1000 connections)",
        _flask_gevent,
    ),
    Family(
        "fastapi-threadpool", r"fastapi-threadpool", "threadpool", "uvicorn", "40", "1",
        "FastAPI plain def + time.sleep in AnyIO's 40-thread pool (K = 40)",
        _fastapi("threadpool_app", ANYIO_THREADS, ANYIO_THREADS),
    ),
    Family(
        "flask-gthread-NxT", r"flask-gthread-(\d+)x(\d+)", "threads", "gunicorn", "N*T", "N",
        "Flask, blocking time.sleep, N gunicorn gthread workers x T threads (K = N*T)",
        _flask_gthread,
    ),
    Family(
        "flask-sync-N", r"flask-sync-(\d+)", "sync", "gunicorn", "N", "N",
        "Flask, blocking time.sleep, N gunicorn sync worker processes (K = N)",
        _flask_sync,
    ),
    Family(
        "fastapi-blocking", r"fastapi-blocking", "blocking", "uvicorn", "1", "1",
        "FastAPI async def calling blocking time.sleep: the event loop stalls (K = 1)",
        _fastapi("blocking_app", 1, None),
    ),
]}  # fmt: skip


def get_config(config_id: str) -> ServerConfig:
    """The config an id names, or ConfigError with a one-line reason."""
    for family in FAMILIES.values():
        match = re.fullmatch(family.pattern, config_id)
        if match:
            return family.build(family, config_id, *match.groups())
    names = ", ".join(FAMILIES)
    raise ConfigError(f"unknown config {config_id!r}; known families: {names}")
