"""Every server config as data: id, command, concurrency model, slots K, parallelism P.

A config id carries its parameters (`flask-sync-8`, `flask-gthread-4x8`); a family
declares its pattern once, and `get_config` turns an id into a full `ServerConfig`.
The queueing model (docs/methodology.md) needs two numbers of each config: K, the
requests it can hold at once (`math.inf` for an event loop), and P, the processes that
can compute at once (threads and greenlets of one process share its GIL: they add 1).
"""

from __future__ import annotations

import difflib
import importlib.util
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_WORKERS = 64
MAX_THREADS = 256
LISTEN_BACKLOG = 4096
GEVENT_WORKER_CONNECTIONS = 1000
# gunicorn's ASGI worker and granian's ASGI workers: requests held at once per worker,
# set like gevent's so the three event-loop-per-worker servers have the same K.
ASGI_WORKER_CONNECTIONS = 1000
# waitress: connections it keeps open at once (its default, 100, would refuse a C = 256
# closed loop before its threads are the limit).
WAITRESS_CONNECTION_LIMIT = 4096
ANYIO_THREADS = 40
# io = db: connections per process unless a profile or `--pool` says otherwise: one per
# slot of the process, at most 10 (asyncpg's default pool size; SQLAlchemy's is 5 + 10).
DEFAULT_POOL_MAX = 10
MAX_POOL = 1000
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
    modules: tuple[str, ...] = ()  # the packages its command imports

    def argv(self, host: str, port: int) -> list[str]:
        """The server command; an argument list, never a shell string."""
        return self._argv(_bind(host, port))

    @property
    def default_pool(self) -> int:
        """Database connections per process by default: one per slot, at most 10."""
        per_process = self.capacity / self.workers
        return int(min(DEFAULT_POOL_MAX, per_process))


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
    modules: tuple[str, ...] = ()  # the packages its command imports
    pitfall: str = ""  # what to know before choosing it (the decision summary says it)

    @property
    def pool(self) -> str:
        """Its default database connections per process (`default_pool`), as a formula."""
        per_process = {"N": "1", "N*T": "T", "T": "T", "40": "40", "1": "1"}.get(
            self.capacity, "inf"
        )
        if per_process in ("1", "inf"):
            return "1" if per_process == "1" else str(DEFAULT_POOL_MAX)
        if per_process.isdigit():
            return str(min(DEFAULT_POOL_MAX, int(per_process)))
        return f"min({per_process},{DEFAULT_POOL_MAX})"


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


FLASK_APP = "servers.flask_app:app"
ASYNC_APP = "servers.fastapi_app:async_app"


def _gunicorn(
    worker_class: str, workers: int, *extra: str, app: str = FLASK_APP
) -> Callable[[str], list[str]]:
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


def _host_port(bind: str) -> tuple[str, str]:
    host, _, port = bind.rpartition(":")
    return host.strip("[]"), port


def _granian(interface: str, app: str, workers: int, *extra: str) -> Callable[[str], list[str]]:
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


def _uvicorn(app: str, workers: int = 1) -> Callable[[str], list[str]]:
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


def _count(text: str, what: str, limit: int) -> int:
    value = int(text)
    if not 1 <= value <= limit:
        raise ConfigError(f"{what} must be from 1 to {limit}, got {value}")
    return value


def _config(fam: Family, cid: str, workers: int, threads: int | None, capacity: float,
            argv: Callable[[str], list[str]]) -> ServerConfig:  # fmt: skip
    """Every family's P is its worker processes: one GIL each."""
    return ServerConfig(cid, fam.name, fam.model, fam.server, workers, threads, capacity,
                        workers, fam.description, argv, fam.modules)  # fmt: skip


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


def _hypercorn(fam: Family, cid: str) -> ServerConfig:
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

    return _config(fam, cid, 1, None, math.inf, argv)


def _flask_waitress(fam: Family, cid: str, t: str) -> ServerConfig:
    threads = _count(t, "threads", MAX_THREADS)

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

    return _config(fam, cid, 1, threads, threads, argv)


def _flask_granian(fam: Family, cid: str, n: str, t: str) -> ServerConfig:
    workers = _count(n, "workers", MAX_WORKERS)
    threads = _count(t, "threads", MAX_THREADS)
    argv = _granian("wsgi", FLASK_APP, workers, "--blocking-threads", str(threads))
    return _config(fam, cid, workers, threads, workers * threads, argv)


def _fastapi_granian(fam: Family, cid: str, n: str) -> ServerConfig:
    workers = _count(n, "workers", MAX_WORKERS)
    argv = _granian("asgi", ASYNC_APP, workers, "--loop", "uvloop",
                    "--backpressure", str(ASGI_WORKER_CONNECTIONS))  # fmt: skip
    return _config(fam, cid, workers, None, workers * ASGI_WORKER_CONNECTIONS, argv)


def _fastapi_gunicorn_uvicorn(fam: Family, cid: str, n: str) -> ServerConfig:
    workers = _count(n, "workers", MAX_WORKERS)
    argv = _gunicorn("uvicorn_worker.UvicornWorker", workers, app=ASYNC_APP)
    return _config(fam, cid, workers, None, math.inf, argv)


def _fastapi_gunicorn_asgi(fam: Family, cid: str, n: str) -> ServerConfig:
    workers = _count(n, "workers", MAX_WORKERS)
    argv = _gunicorn("asgi", workers, "--worker-connections", str(ASGI_WORKER_CONNECTIONS),
                     app=ASYNC_APP)  # fmt: skip
    return _config(fam, cid, workers, None, workers * ASGI_WORKER_CONNECTIONS, argv)


def _flask_gthread_reuseport(fam: Family, cid: str, n: str, t: str) -> ServerConfig:
    """gthread with SO_REUSEPORT: each worker binds its own socket and the kernel spreads
    new connections over them, instead of the workers racing to accept on one."""
    workers = _count(n, "workers", MAX_WORKERS)
    threads = _count(t, "threads", MAX_THREADS)
    argv = _gunicorn("gthread", workers, "--threads", str(threads), "--reuse-port")
    return _config(fam, cid, workers, threads, workers * threads, argv)


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
        modules=("uvicorn",),
        pitfall="one request's CPU stalls all the others; a blocking call stalls the loop",
    ),
    Family(
        "fastapi-async-N", r"fastapi-async-(\d+)", "async", "uvicorn", "unbounded", "N",
        "FastAPI async def, N uvicorn worker processes (uvicorn --workers N)",
        _fastapi_async_n,
        modules=("uvicorn",),
        pitfall="a kept-alive connection stays with one process: the spread can be uneven",
    ),
    Family(
        "fastapi-granian-N", r"fastapi-granian-(\d+)", "async", "granian", "N*1000", "N",
        "FastAPI async def under granian's ASGI interface (Rust HTTP), N workers, "
        "backpressure 1000 each",
        _fastapi_granian,
        modules=("granian",),
        pitfall="a client that half-closes after sending gets no answer",
    ),
    Family(
        "fastapi-gunicorn-uvicorn-N", r"fastapi-gunicorn-uvicorn-(\d+)", "async", "gunicorn",
        "unbounded", "N", "FastAPI async def, gunicorn managing N uvicorn workers "
        "(uvicorn-worker package)",
        _fastapi_gunicorn_uvicorn,
        modules=("gunicorn", "uvicorn_worker"),
        pitfall="a kept-alive connection stays with one process: the spread can be uneven",
    ),
    Family(
        "fastapi-gunicorn-asgi-N", r"fastapi-gunicorn-asgi-(\d+)", "async", "gunicorn",
        "N*1000", "N", "FastAPI async def, gunicorn's own ASGI worker (gasgi), N workers, "
        "1000 connections each",
        _fastapi_gunicorn_asgi,
        modules=("gunicorn",),
        pitfall="new in gunicorn 27; an absolute-URI request reaches the app as its path",
    ),
    Family(
        "fastapi-hypercorn", r"fastapi-hypercorn", "async", "hypercorn", "unbounded", "1",
        "FastAPI async def under hypercorn, one worker, uvloop",
        _hypercorn,
        modules=("hypercorn",),
        pitfall="HTTP parsed in pure Python (h11): more CPU per request",
    ),
    Family(
        "flask-gevent-N", r"flask-gevent-(\d+)", "gevent", "gunicorn", "N*1000", "N",
        "Flask, time.sleep monkey-patched by gevent, N workers (K = N*1000 connections)",
        _flask_gevent,
        modules=("gunicorn", "gevent"),
        pitfall="CPU, or a C call that does not yield, blocks the whole worker",
    ),
    Family(
        "fastapi-threadpool", r"fastapi-threadpool", "threadpool", "uvicorn", "40", "1",
        "FastAPI plain def + time.sleep in AnyIO's 40-thread pool (K = 40)",
        _fastapi("threadpool_app", ANYIO_THREADS, ANYIO_THREADS),
        modules=("uvicorn",),
        pitfall="the 41st request waits for a thread; all 40 share one GIL",
    ),
    Family(
        "flask-gthread-NxT", r"flask-gthread-(\d+)x(\d+)", "threads", "gunicorn", "N*T", "N",
        "Flask, blocking time.sleep, N gunicorn gthread workers x T threads (K = N*T)",
        _flask_gthread,
        modules=("gunicorn",),
        pitfall="workers accept while all their threads are busy: uneven spread",
    ),
    Family(
        "flask-gthread-NxT-reuseport", r"flask-gthread-(\d+)x(\d+)-reuseport", "threads",
        "gunicorn", "N*T", "N", "gthread with --reuse-port: a listening socket per worker, "
        "connections spread by the kernel (K = N*T)",
        _flask_gthread_reuseport,
        modules=("gunicorn",),
        pitfall="the kernel spreads connections by hash: even on average",
    ),
    Family(
        "flask-granian-NxT", r"flask-granian-(\d+)x(\d+)", "threads", "granian", "N*T", "N",
        "Flask under granian's WSGI interface (Rust HTTP), N workers x T blocking threads",
        _flask_granian,
        modules=("granian",),
        pitfall="a client that half-closes after sending gets no answer",
    ),
    Family(
        "flask-waitress-T", r"flask-waitress-(\d+)", "threads", "waitress", "T", "1",
        "Flask under waitress, one process with T threads (K = T)",
        _flask_waitress,
        modules=("waitress",),
        pitfall="one process: all T threads share one GIL",
    ),
    Family(
        "flask-sync-N", r"flask-sync-(\d+)", "sync", "gunicorn", "N", "N",
        "Flask, blocking time.sleep, N gunicorn sync worker processes (K = N)",
        _flask_sync,
        modules=("gunicorn",),
        pitfall="one request per process: a slow client holds a whole worker",
    ),
    Family(
        "fastapi-blocking", r"fastapi-blocking", "blocking", "uvicorn", "1", "1",
        "FastAPI async def calling blocking time.sleep: the event loop stalls (K = 1)",
        _fastapi("blocking_app", 1, None),
        modules=("uvicorn",),
        pitfall="the bug, not a choice: it serializes every request",
    ),
]}  # fmt: skip


def require_installed(config: ServerConfig) -> None:
    """ConfigError naming the packages a config's server needs and this Python lacks."""
    missing = [m for m in config.modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"{config.id} needs {', '.join(missing)}, not installed here "
            "(`python -m pip install -e .` installs every server)"
        )


def get_config(config_id: str) -> ServerConfig:
    """The config an id names, or ConfigError with a one-line reason."""
    for family in FAMILIES.values():
        match = re.fullmatch(family.pattern, config_id)
        if match:
            try:
                return family.build(family, config_id, *match.groups())
            except ConfigError as exc:
                raise ConfigError(f"{config_id}: {exc}") from None
    guess = closest_config(config_id)
    hint = f"did you mean {guess}? " if guess else ""
    raise ConfigError(f"unknown config {config_id!r}; {hint}known families: {', '.join(FAMILIES)}")


def closest_config(config_id: str) -> str | None:
    """The id the user probably meant: the nearest family name, with their numbers."""
    numbers = re.findall(r"\d+", config_id)
    shape = re.sub(r"\d+", "N", re.sub(r"(\d+)x(\d+)", "NxT", config_id))
    shapes = {re.sub(r"\bT\b", "N", name): name for name in FAMILIES}
    found = difflib.get_close_matches(shape, shapes, n=1, cutoff=0.75)
    if not found:
        return None
    name = shapes[found[0]]
    slots = re.findall(r"\bN\b|NxT|\bT\b", name)
    if not slots:
        return name
    if len(numbers) != sum(2 if s == "NxT" else 1 for s in slots):
        return name  # the family's pattern: the user's numbers do not fit it
    filled = iter(numbers)
    return re.sub(
        r"NxT|\bN\b|\bT\b",
        lambda m: f"{next(filled)}x{next(filled)}" if m.group() == "NxT" else next(filled),
        name,
    )
