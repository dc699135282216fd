"""The database wait of `io = db`: one query on PostgreSQL through a connection pool.

With `io = db` an echo waits its D as `SELECT <field>::text FROM pg_sleep(D)` and renders
the value PostgreSQL sends back, so every answer is a real round trip through a driver
and a pool, and its bytes are the `sleep` mode's. Every serving process opens its own
fixed-size pool before it announces it is ready (at import for WSGI, at lifespan startup
for ASGI): a pool is never shared across a fork, and the first request never pays for a
connection.

One driver for every app, psycopg 3: `ConnectionPool` for blocking code (gevent makes it
cooperative on its own since psycopg 3.1.14), `AsyncConnectionPool` for `async def`. With
the same driver everywhere, a difference between configs is the server's, not asyncpg's
faster protocol against psycopg's.

How long a request waited for a connection and how long its query took are sent back in
a standard `Server-Timing` header (`pool;dur=MS, db;dur=MS`), which echobench records per
request. Connections are opened read-only: echobench writes nothing to a database.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass

IO_ENV = "ECHOBENCH_IO"
DB_URL_ENV = "ECHOBENCH_DB_URL"
POOL_ENV = "ECHOBENCH_POOL"
POOL_TIMEOUT_ENV = "ECHOBENCH_POOL_TIMEOUT"
IO_MODES = ("sleep", "db")
# psycopg_pool's own default: how long a request may wait for a connection.
DEFAULT_POOL_TIMEOUT_S = 30.0
# A pool's connections must all be open within this, or the process does not start.
OPEN_TIMEOUT_S = 20.0
QUERY = "SELECT %s::text FROM pg_sleep(%s)"
TIMING_HEADER = "Server-Timing"
READ_ONLY = "-c default_transaction_read_only=on"


class Unavailable(Exception):
    """No answer from the database: the reason is sent with a 503."""


@dataclass(frozen=True)
class PoolSettings:
    url: str
    pool: int  # connections per serving process
    timeout_s: float = DEFAULT_POOL_TIMEOUT_S

    @classmethod
    def from_env(cls) -> PoolSettings | None:
        """This process's database settings, or None in `sleep` mode."""
        if os.environ.get(IO_ENV, "sleep") != "db":
            return None
        timeout = float(os.environ.get(POOL_TIMEOUT_ENV, DEFAULT_POOL_TIMEOUT_S))
        return cls(os.environ[DB_URL_ENV], int(os.environ[POOL_ENV]), timeout)

    def pool_args(self) -> dict:
        """The same pool for sync and async code: fixed size, read-only, autocommit."""
        return {
            "conninfo": self.url,
            "min_size": self.pool,
            "max_size": self.pool,
            "timeout": self.timeout_s,
            "open": False,
            "kwargs": {"autocommit": True, "options": READ_ONLY},
            "name": f"echobench-{os.getpid()}",
        }


def timing(pool_wait_s: float, query_s: float) -> str:
    return f"pool;dur={pool_wait_s * 1000:.3f}, db;dur={query_s * 1000:.3f}"


def parse_timing(header: str) -> tuple[float | None, float | None]:
    """(pool wait ms, query ms) from a Server-Timing header; None where absent."""
    found: dict[str, float] = {}
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "dur":
                with contextlib.suppress(ValueError):
                    found[name.strip()] = float(value)
    return found.get("pool"), found.get("db")


def _reason(exc: Exception, timeout_s: float) -> str:
    from psycopg_pool import PoolTimeout

    if isinstance(exc, PoolTimeout):
        return f"no database connection within {timeout_s:g} s (pool exhausted)"
    return f"database error: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"


class SyncDatabase:
    """A blocking pool: Flask in every worker kind, FastAPI's `def` endpoints."""

    def __init__(self, settings: PoolSettings) -> None:
        from psycopg_pool import ConnectionPool

        self.settings = settings
        self.pool = ConnectionPool(**settings.pool_args())
        self.pool.open(wait=True, timeout=OPEN_TIMEOUT_S)

    def query(self, said: str, delay_s: float) -> tuple[str, str]:
        """(the value PostgreSQL sent back, its Server-Timing), or Unavailable."""
        import psycopg
        from psycopg_pool import PoolTimeout

        asked = time.perf_counter()
        try:
            with self.pool.connection() as conn:
                got = time.perf_counter()
                (back,) = conn.execute(QUERY, (said, delay_s)).fetchone()
                done = time.perf_counter()
        except (PoolTimeout, psycopg.Error) as exc:
            raise Unavailable(_reason(exc, self.settings.timeout_s)) from None
        return back, timing(got - asked, done - got)

    def close(self) -> None:
        self.pool.close()


class AsyncDatabase:
    """An asyncio pool for `async def` endpoints; open it inside the event loop."""

    def __init__(self, settings: PoolSettings) -> None:
        from psycopg_pool import AsyncConnectionPool

        self.settings = settings
        self.pool = AsyncConnectionPool(**settings.pool_args())

    async def open(self) -> AsyncDatabase:
        await self.pool.open(wait=True, timeout=OPEN_TIMEOUT_S)
        return self

    async def query(self, said: str, delay_s: float) -> tuple[str, str]:
        import psycopg
        from psycopg_pool import PoolTimeout

        asked = time.perf_counter()
        try:
            async with self.pool.connection() as conn:
                got = time.perf_counter()
                cursor = await conn.execute(QUERY, (said, delay_s))
                (back,) = await cursor.fetchone()
                done = time.perf_counter()
        except (PoolTimeout, psycopg.Error) as exc:
            raise Unavailable(_reason(exc, self.settings.timeout_s)) from None
        return back, timing(got - asked, done - got)

    async def close(self) -> None:
        await self.pool.close()
