"""`echobench serve CONFIG`: one server config in the foreground, until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import time

from echobench import database, processes
from echobench.cli.common import UsageError, exposed, stop_on_signals
from echobench.configs import DEFAULT_POOL_MAX, MAX_POOL, get_config, require_installed
from echobench.options import RunOptions, port, ranged
from echobench.server import LOOPBACK_V4, Server
from servers import contract
from servers.database import IO_MODES, PoolSettings


def _delay(text: str) -> float:
    try:
        return contract.parse_delay(text)
    except contract.BadRequest as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _work(text: str) -> float:
    try:
        return contract.parse_work(text)
    except contract.BadRequest as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add(sub) -> None:
    p = sub.add_parser("serve", help="run one server config in the foreground")
    p.add_argument("config", help="a config id, e.g. flask-sync-4 or fastapi-async")
    p.add_argument("--host", default=LOOPBACK_V4, help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=8000, help="port to bind (default 8000)")
    p.add_argument(
        "--delay",
        type=_delay,
        default=contract.DEFAULT_DELAY_S,
        help="seconds each echo waits unless a request says delay=S (default 2)",
    )
    p.add_argument(
        "--work",
        type=_work,
        default=0.0,
        metavar="MS",
        help="milliseconds of CPU each echo burns after its wait, unless a request says "
        "work=MS (default 0)",
    )
    p.add_argument(
        "--io",
        choices=IO_MODES,
        default="sleep",
        help="how an echo waits: sleep, or db: one query on PostgreSQL through a "
        "connection pool (default sleep)",
    )
    p.add_argument(
        "--pool",
        type=ranged(int, 1, MAX_POOL, "connections"),
        metavar="N",
        help="--io db: connections per server process (default: one per slot, at most "
        f"{DEFAULT_POOL_MAX})",
    )
    RunOptions.add_arguments(p, ("db_url", "pool_timeout_s"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = get_config(args.config)
    require_installed(config)
    if args.io != "db" and (args.pool or args.db_url):
        raise UsageError("--pool and --db-url set the database of --io db")
    if exposed(args.host):
        print(f"warning: binding {args.host}: reachable beyond this machine", file=sys.stderr)
    processes.raise_open_files_limit()
    stop_on_signals()
    db = None
    if args.io == "db":
        db = database.ExternalPostgres(args.db_url) if args.db_url else database.EmbeddedPostgres()
    server = Server(config, host=args.host, port=args.port, delay_s=args.delay, work_ms=args.work)
    try:
        if db is not None:
            db.start()
            server.db = PoolSettings(db.url, args.pool or config.default_pool, args.pool_timeout_s)
        server.start()  # with io = db, every worker's pool is open: the database answers
        print(f"ready {server.url}", flush=True)
        while server.alive():
            time.sleep(0.2)
        print(f"error: {config.id} exited with code {server.proc.returncode}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()
        if db is not None:
            db.stop()
