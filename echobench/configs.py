"""Every server config as data: id, command, concurrency model, slots K, parallelism P.

A config id carries its parameters (`flask-sync-8`, `flask-gthread-4x8`); a family is
one declaration (its id pattern, with named `workers` and `threads`, its K and P as
formulas, its command, packages, pitfall, colour and marker), and `get_config` turns an
id into a full `ServerConfig`. The queueing model (docs/methodology.md) needs two
numbers of each config: K, the requests it can hold at once (`math.inf` for an event
loop), and P, the processes that can compute at once (threads and greenlets of one
process share its GIL: they add 1). Adding a family: one `Family(...)` below (and its
packages in pyproject.toml).
"""

from __future__ import annotations

import difflib
import importlib.util
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from echobench import commands, proxy
from echobench.commands import (
    ASGI_WORKER_CONNECTIONS,
    ASYNC_APP,
    FLASK_APP,
    GEVENT_WORKER_CONNECTIONS,
    LISTEN_BACKLOG,
)

__all__ = ["FAMILIES", "LISTEN_BACKLOG", "ConfigError", "Family", "ServerConfig", "get_config"]

MAX_WORKERS = 64
MAX_THREADS = 256
ANYIO_THREADS = 40
# io = db: connections per process unless a profile or `--pool` says otherwise: one per
# slot of the process, at most 10 (asyncpg's default pool size; SQLAlchemy's is 5 + 10).
DEFAULT_POOL_MAX = 10
MAX_POOL = 1000


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
    # `+nginx`: Debian's nginx in front (echobench/proxy.py), buffering as it does by default
    proxy: str = ""
    # `+limitN`: admit at most N at once: nginx's limit_conn when proxied, else the
    # server's own knob (its family's `limit`); None: no limit beyond the server's defaults
    limit: int | None = None

    def argv(self, host: str, port: int) -> list[str]:
        """The server command; an argument list, never a shell string."""
        return self._argv(commands.bind_address(host, port))

    @property
    def base_id(self) -> str:
        """The id without its `+nginx` and `+limitN` parts: the bare server."""
        return self.id.partition("+")[0]

    @property
    def variant(self) -> str:
        """What its id adds to the bare server (`+nginx+limit4`), or ""."""
        return self.id[len(self.base_id) :]

    @property
    def default_pool(self) -> int:
        """Database connections per process by default: one per slot, at most 10."""
        per_process = self.capacity / self.workers
        return int(min(DEFAULT_POOL_MAX, per_process))


@dataclass(frozen=True)
class Formula:
    """K or P of a family: its value for N workers and T threads, and how a reader sees
    it (`N*T`). `per_process` names what one process holds when that depends on T."""

    text: str
    of: Callable[[int, int | None], float]
    per_process: str = ""


UNBOUNDED = Formula("unbounded", lambda n, t: math.inf)
ONE = Formula("1", lambda n, t: 1)
WORKERS = Formula("N", lambda n, t: n)
THREADS = Formula("T", lambda n, t: t, per_process="T")
WORKERS_X_THREADS = Formula("N*T", lambda n, t: n * t, per_process="T")


def per_worker(connections: int) -> Formula:
    return Formula(f"N*{connections}", lambda n, t: n * connections)


def constant(k: int) -> Formula:
    return Formula(str(k), lambda n, t: k)


@dataclass(frozen=True)
class Limit:
    """A family's own admission limit (`+limitN`): the flags that set it to N per process,
    what a request past it meets, and whether it caps the requests held (K) or only the
    queue in front of the workers."""

    flags: Callable[[int], list[str]]
    beyond: str
    caps_slots: bool
    refuses: bool = False  # a request past it is refused at once (a 503), not left to wait


@dataclass(frozen=True, kw_only=True)
class Family:
    """One kind of server config. `pattern` names its parameters `workers` and
    `threads`; without them a config has `workers` and `threads` as given here."""

    name: str
    pattern: str
    model: str
    server: str
    slots: Formula  # K
    parallel: Formula  # P: its worker processes, one GIL each
    description: str
    command: Callable[[int, int | None], Callable[[str], list[str]]]
    color: str  # in every chart of every run (Okabe-Ito first, then Paul Tol's muted)
    marker: str
    modules: tuple[str, ...] = ()  # the packages its command imports
    pitfall: str = ""  # what to know before choosing it (the decision summary says it)
    workers: int = 1
    threads: int | None = None
    limit: Limit | None = None  # its own admission limit, when it has one

    @property
    def pool(self) -> str:
        """Its default database connections per process (`default_pool`), as a formula."""
        if self.slots.per_process:
            return f"min({self.slots.per_process},{DEFAULT_POOL_MAX})"
        return str(int(min(DEFAULT_POOL_MAX, self.slots.of(1, self.threads))))

    def build(self, config_id: str, match: re.Match) -> ServerConfig:
        found = match.groupdict()
        n = _count(found["workers"], "workers", MAX_WORKERS) if "workers" in found else None
        t = _count(found["threads"], "threads", MAX_THREADS) if "threads" in found else None
        workers, threads = n or self.workers, t or self.threads
        return ServerConfig(
            config_id, self.name, self.model, self.server, workers, threads,
            self.slots.of(workers, threads), int(self.parallel.of(workers, threads)),
            self.description, self.command(workers, threads), self.modules,
        )  # fmt: skip


def _count(text: str, what: str, limit: int) -> int:
    value = int(text)
    if not 1 <= value <= limit:
        raise ConfigError(f"{what} must be from 1 to {limit}, got {value}")
    return value


N, T = r"(?P<workers>\d+)", r"(?P<threads>\d+)"
MAX_LIMIT = 10_000
UVICORN_LIMIT = Limit(lambda n: ["--limit-concurrency", str(n)],
                      "a 503 at once (uvicorn --limit-concurrency, per process; it counts open "
                      "connections too)", caps_slots=True, refuses=True)  # fmt: skip
BACKLOG_LIMIT = Limit(lambda n: ["--backlog", str(n)],
                      "a full listen queue: the kernel drops the connection's handshake, "
                      "and the client retries it a second later (gunicorn --backlog)",
                      caps_slots=False)  # fmt: skip
CONNECTIONS_LIMIT = Limit(lambda n: ["--worker-connections", str(n)],
                          "no accept until a connection frees (gunicorn --worker-connections, "
                          "per worker: gevent, gthread and ASGI workers)",
                          caps_slots=True)  # fmt: skip
BACKPRESSURE_LIMIT = Limit(lambda n: ["--backpressure", str(n)],
                           "no accept until a connection closes (granian --backpressure, "
                           "per worker: it counts connections, kept-alive ones too)",
                           caps_slots=True)  # fmt: skip
PROCESS = "a kept-alive connection stays with one process: the spread can be uneven"
HALF_CLOSE = "a client that half-closes after sending gets no answer"

# In reading order: async first, the blocking mistake last (charts and tables use it).
FAMILIES: dict[str, Family] = {f.name: f for f in [
    Family(
        name="fastapi-async", pattern="fastapi-async", model="async", server="uvicorn",
        slots=UNBOUNDED, parallel=ONE, color="#0072B2", marker="o",
        description="FastAPI async def + await asyncio.sleep, one uvicorn worker (K unbounded)",
        command=lambda n, t: commands.uvicorn("async_app"), modules=("uvicorn",),
        pitfall="one request's CPU stalls all the others; a blocking call stalls the loop",
        limit=UVICORN_LIMIT,
    ),
    Family(
        name="fastapi-async-N", pattern=f"fastapi-async-{N}", model="async", server="uvicorn",
        slots=UNBOUNDED, parallel=WORKERS, color="#E69F00", marker="s",
        description="FastAPI async def, N uvicorn worker processes (uvicorn --workers N)",
        # uvicorn's own --workers: the same server and flags as `fastapi-async`, so the
        # process count is the only difference (gunicorn managing uvicorn is its own family)
        command=lambda n, t: commands.uvicorn("async_app", n), modules=("uvicorn",),
        pitfall=PROCESS,
        limit=UVICORN_LIMIT,
    ),
    Family(
        name="fastapi-granian-N", pattern=f"fastapi-granian-{N}", model="async",
        server="granian", slots=per_worker(ASGI_WORKER_CONNECTIONS), parallel=WORKERS,
        color="#009E73", marker="^",
        description="FastAPI async def under granian's ASGI interface (Rust HTTP), N workers, "
        "backpressure 1000 each",
        command=lambda n, t: commands.granian("asgi", ASYNC_APP, n, "--loop", "uvloop",
                                              "--backpressure", str(ASGI_WORKER_CONNECTIONS)),
        modules=("granian",), pitfall=HALF_CLOSE,
        limit=BACKPRESSURE_LIMIT,
    ),
    Family(
        name="fastapi-gunicorn-uvicorn-N", pattern=f"fastapi-gunicorn-uvicorn-{N}",
        model="async", server="gunicorn", slots=UNBOUNDED, parallel=WORKERS,
        color="#CC79A7", marker="D",
        description="FastAPI async def, gunicorn managing N uvicorn workers "
        "(uvicorn-worker package)",
        command=lambda n, t: commands.gunicorn("uvicorn_worker.UvicornWorker", n, app=ASYNC_APP),
        modules=("gunicorn", "uvicorn_worker"), pitfall=PROCESS,
    ),
    Family(
        name="fastapi-gunicorn-asgi-N", pattern=f"fastapi-gunicorn-asgi-{N}", model="async",
        server="gunicorn", slots=per_worker(ASGI_WORKER_CONNECTIONS), parallel=WORKERS,
        color="#56B4E9", marker="v",
        description="FastAPI async def, gunicorn's own ASGI worker (gasgi), N workers, "
        "1000 connections each",
        command=lambda n, t: commands.gunicorn("asgi", n, "--worker-connections",
                                               str(ASGI_WORKER_CONNECTIONS), app=ASYNC_APP),
        modules=("gunicorn",),
        pitfall="new in gunicorn 27; an absolute-URI request reaches the app as its path",
        limit=CONNECTIONS_LIMIT,
    ),
    Family(
        name="fastapi-hypercorn", pattern="fastapi-hypercorn", model="async",
        server="hypercorn", slots=UNBOUNDED, parallel=ONE, color="#D55E00", marker="P",
        description="FastAPI async def under hypercorn, one worker, uvloop",
        command=lambda n, t: commands.hypercorn(), modules=("hypercorn",),
        pitfall="HTTP parsed in pure Python (h11): more CPU per request",
    ),
    Family(
        name="flask-gevent-N", pattern=f"flask-gevent-{N}", model="gevent", server="gunicorn",
        slots=per_worker(GEVENT_WORKER_CONNECTIONS), parallel=WORKERS, color="#000000",
        marker="X",
        description="Flask, time.sleep monkey-patched by gevent, N workers "
        "(K = N*1000 connections)",
        command=lambda n, t: commands.gunicorn("gevent", n, "--worker-connections",
                                               str(GEVENT_WORKER_CONNECTIONS)),
        modules=("gunicorn", "gevent"),
        pitfall="CPU, or a C call that does not yield, blocks the whole worker",
        limit=CONNECTIONS_LIMIT,
    ),
    Family(
        name="fastapi-threadpool", pattern="fastapi-threadpool", model="threadpool",
        server="uvicorn", slots=constant(ANYIO_THREADS), parallel=ONE, color="#F0E442",
        marker="*", threads=ANYIO_THREADS,
        description="FastAPI plain def + time.sleep in AnyIO's 40-thread pool (K = 40)",
        command=lambda n, t: commands.uvicorn("threadpool_app"), modules=("uvicorn",),
        pitfall="the 41st request waits for a thread; all 40 share one GIL",
        limit=UVICORN_LIMIT,
    ),
    Family(
        name="flask-gthread-NxT", pattern=f"flask-gthread-{N}x{T}", model="threads",
        server="gunicorn", slots=WORKERS_X_THREADS, parallel=WORKERS, color="#332288",
        marker="<",
        description="Flask, blocking time.sleep, N gunicorn gthread workers x T threads "
        "(K = N*T)",
        command=lambda n, t: commands.gunicorn("gthread", n, "--threads", str(t)),
        modules=("gunicorn",),
        pitfall="workers accept while all their threads are busy: uneven spread",
        limit=CONNECTIONS_LIMIT,
    ),
    Family(
        name="flask-gthread-NxT-reuseport", pattern=f"flask-gthread-{N}x{T}-reuseport",
        model="threads", server="gunicorn", slots=WORKERS_X_THREADS, parallel=WORKERS,
        color="#882255", marker=">",
        description="gthread with --reuse-port: a listening socket per worker, "
        "connections spread by the kernel (K = N*T)",
        # each worker binds its own socket and the kernel spreads new connections over
        # them, instead of the workers racing to accept on one
        command=lambda n, t: commands.gunicorn("gthread", n, "--threads", str(t),
                                               "--reuse-port"),
        modules=("gunicorn",), pitfall="the kernel spreads connections by hash: even on average",
        limit=CONNECTIONS_LIMIT,
    ),
    Family(
        name="flask-granian-NxT", pattern=f"flask-granian-{N}x{T}", model="threads",
        server="granian", slots=WORKERS_X_THREADS, parallel=WORKERS, color="#44AA99",
        marker="p",
        description="Flask under granian's WSGI interface (Rust HTTP), N workers x T "
        "blocking threads",
        command=lambda n, t: commands.granian("wsgi", FLASK_APP, n, "--blocking-threads",
                                              str(t)),
        modules=("granian",), pitfall=HALF_CLOSE,
        limit=BACKPRESSURE_LIMIT,
    ),
    Family(
        name="flask-waitress-T", pattern=f"flask-waitress-{T}", model="threads",
        server="waitress", slots=THREADS, parallel=ONE, color="#999933", marker="h",
        description="Flask under waitress, one process with T threads (K = T)",
        command=lambda n, t: commands.waitress(t), modules=("waitress",),
        pitfall="one process: all T threads share one GIL",
    ),
    Family(
        name="flask-sync-N", pattern=f"flask-sync-{N}", model="sync", server="gunicorn",
        slots=WORKERS, parallel=WORKERS, color="#AA4499", marker="d",
        description="Flask, blocking time.sleep, N gunicorn sync worker processes (K = N)",
        command=lambda n, t: commands.gunicorn("sync", n), modules=("gunicorn",),
        pitfall="one request per process: a slow client holds a whole worker",
        limit=BACKLOG_LIMIT,
    ),
    Family(
        name="fastapi-blocking", pattern="fastapi-blocking", model="blocking",
        server="uvicorn", slots=constant(1), parallel=ONE, color="#DDCC77", marker="8",
        description="FastAPI async def calling blocking time.sleep: the event loop stalls "
        "(K = 1)",
        command=lambda n, t: commands.uvicorn("blocking_app"), modules=("uvicorn",),
        pitfall="the bug, not a choice: it serializes every request",
        limit=UVICORN_LIMIT,
    ),
]}  # fmt: skip


def require_installed(config: ServerConfig) -> None:
    """ConfigError naming the packages a config's server needs and this Python lacks."""
    if config.proxy and proxy.installed() is None:
        raise ConfigError(f"{config.id} {proxy.MISSING}")
    missing = [m for m in config.modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"{config.id} needs {', '.join(missing)}, not installed here "
            "(`python -m pip install -e .` installs every server)"
        )


VARIANT = re.compile(r"(?P<base>[^+]+)(?P<nginx>\+nginx)?(?:\+limit(?P<limit>\d+))?")


def get_config(config_id: str) -> ServerConfig:
    """The config an id names, or ConfigError with a one-line reason. An id may end in
    `+nginx` (nginx in front) and then `+limitN` (admit at most N at once)."""
    parts = VARIANT.fullmatch(config_id)
    if parts is None:
        raise ConfigError(f"{config_id!r}: after a config id come only +nginx, then +limitN")
    config = _bare(parts["base"])
    if parts["nginx"] is None and parts["limit"] is None:
        return config
    proxy = "nginx" if parts["nginx"] else ""
    family = FAMILIES[config.family]
    limit = None
    if parts["limit"] is not None:
        try:
            limit = _count(parts["limit"], "limit", MAX_LIMIT)
        except ConfigError as exc:
            raise ConfigError(f"{config_id}: {exc}") from None
        if not proxy and family.limit is None:
            raise ConfigError(f"{config_id}: {family.name} has no limit of its own; put nginx "
                              f"in front ({config.id}+nginx+limit{limit})")  # fmt: skip
    slots = config.capacity
    if limit is not None and (proxy or family.limit.caps_slots):
        slots = min(slots, limit if proxy else limit * config.workers)
    argv = config._argv
    if limit is not None and not proxy:  # the server's own flags, before its app argument
        flags = family.limit.flags(limit)
        argv = _with_flags(config._argv, flags)
    return replace(config, id=config_id, capacity=slots, _argv=argv, proxy=proxy, limit=limit)


def _with_flags(argv: Callable[[str], list[str]], flags: list[str]) -> Callable[[str], list[str]]:
    def built(bind: str) -> list[str]:
        base = argv(bind)
        return [*base[:-1], *flags, base[-1]]

    return built


def _bare(config_id: str) -> ServerConfig:
    for family in FAMILIES.values():
        match = re.fullmatch(family.pattern, config_id)
        if match:
            try:
                return family.build(config_id, match)
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
