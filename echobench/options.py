"""The run's options, defined once: each field of `RunOptions` carries its flag, default,
check and help, the `run` parser is generated from them, and the run and each point get
the one object (nox's `_options.py` is the model). The checks here are argparse types:
a bad value is refused in one line (exit 2).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields

from echobench.loadgen import MASTER_PORT, WORKERS_WAIT_S, LoadSetup
from echobench.server import LOOPBACK_V4
from servers.database import DEFAULT_POOL_TIMEOUT_S


def ranged(convert: type, low: float, high: float, what: str, open_low=False, open_high=False):
    """A check: a `convert` from low to high, refused in one line otherwise."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if (
            value is None
            or value != value  # NaN
            or not low <= value <= high
            or (open_low and value == low)
            or (open_high and value == high)
        ):
            raise argparse.ArgumentTypeError(
                f"must be {what} from {low:g} to {high:g}, got {text!r}"
            )
        return value

    return parse


def port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"port must be from 1 to 65535, got {text!r}")
    return int(text)


one_to_hundred = ranged(int, 1, 100, "a whole number")
count = ranged(int, 1, 100_000, "a whole number")
seconds = ranged(float, 0, 7 * 86400, "seconds", open_low=True)
fraction = ranged(float, 0, 1, "a fraction", open_high=True)


def option(flag: str, default, help: str, check=None, metavar: str | None = None):
    """A field of RunOptions: its default, and how the command line sets it."""
    meta = {"flag": flag, "check": check, "help": help, "metavar": metavar}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class RunOptions:
    """How a run reaches its servers and sends its load, the same for every point."""

    target: str | None = option(
        "--target", None, metavar="URL",
        help="benchmark a server already running at http://HOST:PORT instead of starting "
        "one per point (needs --configs with its one config; memory and CPU are not "
        "sampled). Only target servers you run yourself.",
    )  # fmt: skip
    loadgen_processes: int = option(
        "--loadgen-processes", 1, check=one_to_hundred, metavar="N",
        help="run locust as a master and N forked worker processes (default 1: one "
        "process); each worker records its own requests",
    )  # fmt: skip
    loadgen_workers: int = option(
        "--loadgen-workers", 0, check=one_to_hundred, metavar="N",
        help="send the load from N locust workers on other hosts, each running "
        "`echobench loadgen-worker --master THIS_HOST`; the master waits for them",
    )  # fmt: skip
    loadgen_bind: str = option(
        "--loadgen-bind", LOOPBACK_V4, metavar="HOST",
        help="address the locust master listens on for those workers (default 127.0.0.1)",
    )  # fmt: skip
    loadgen_port: int = option(
        "--loadgen-port", MASTER_PORT, check=port, metavar="PORT",
        help=f"port the locust master listens on (default {MASTER_PORT})",
    )  # fmt: skip
    loadgen_wait: float = option(
        "--loadgen-wait", WORKERS_WAIT_S, check=ranged(int, 1, 3600, "seconds"),
        metavar="SECONDS",
        help=f"how long each point waits for its workers (default {WORKERS_WAIT_S:g})",
    )  # fmt: skip
    bind: str | None = option(  # None: not given (then loopback; never with --target)
        "--bind", None, metavar="HOST",
        help="address echobench's servers listen on (default 127.0.0.1); workers on "
        "other hosts need one they can reach",
    )  # fmt: skip
    db_url: str | None = option(
        "--db-url", None, metavar="URL",
        help="io = db: your own PostgreSQL (a libpq URL), checked first and never written "
        "to; default: an embedded PostgreSQL started for the run and stopped after it",
    )  # fmt: skip
    pool_timeout_s: float = option(
        "--pool-timeout", DEFAULT_POOL_TIMEOUT_S,
        check=ranged(float, 0, 600, "seconds", open_low=True), metavar="SECONDS",
        help="io = db: how long a request may wait for a connection before its 503 "
        f"(default {DEFAULT_POOL_TIMEOUT_S:g}, psycopg_pool's)",
    )  # fmt: skip

    @property
    def server_host(self) -> str:
        """Where echobench's own servers listen: --bind, else loopback ("" too)."""
        return self.bind or LOOPBACK_V4

    @property
    def loadgen(self) -> LoadSetup:
        """The load generator every point uses."""
        return LoadSetup(self.loadgen_processes, self.loadgen_workers, self.loadgen_bind,
                       self.loadgen_port, self.loadgen_wait)  # fmt: skip

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser, names: tuple[str, ...] = ()) -> None:
        """Every option (or those `names`) as a command-line flag."""
        for f in fields(cls):
            if names and f.name not in names:
                continue
            meta = f.metadata
            extra = {"type": meta["check"]} if meta["check"] else {}
            parser.add_argument(meta["flag"], dest=f.name, default=f.default,
                                metavar=meta["metavar"], help=meta["help"], **extra)  # fmt: skip

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RunOptions:
        given = {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
        return cls(**given)
