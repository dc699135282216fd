"""`python -m echobench`: list configs, serve one, run the bench, write a report.

Usage mistakes exit 2 with one line on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import difflib
import ipaddress
import re
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

from echobench import __version__, database, processes, profiles, results, scenarios
from echobench.configs import (
    DEFAULT_POOL_MAX,
    FAMILIES,
    MAX_POOL,
    ConfigError,
    get_config,
    require_installed,
)
from echobench.loadgen import MASTER_PORT, WORKERS_WAIT_S, Loadgen
from echobench.profiles import ProfileError
from echobench.results import ResultsError
from echobench.server import LOOPBACK_V4, ExternalServer, Server, ServerError, port_in_use
from servers import contract
from servers.database import DEFAULT_POOL_TIMEOUT_S, IO_MODES, Settings


class UsageError(Exception):
    """A mistake in how echobench was called: exit 2, one line."""


class Parser(argparse.ArgumentParser):
    """argparse that suggests the option meant when one is misspelt (`--profle`)."""

    def error(self, message: str):
        unknown = re.search(r"unrecognized arguments: (--?[\w-]+)", message)
        if unknown:
            parsers = [self] + [
                sub
                for action in self._actions
                if isinstance(action, argparse._SubParsersAction)
                for sub in action.choices.values()
            ]
            options = sorted({o for p in parsers for a in p._actions for o in a.option_strings})
            guess = difflib.get_close_matches(unknown.group(1), options, n=1, cutoff=0.6)
            if guess:
                message += f" (did you mean {guess[0]}?)"
        super().error(message)


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


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"port must be from 1 to 65535, got {text!r}")
    return int(text)


def _ranged(kind: type, low: float, high: float, what: str, open_low=False, open_high=False):
    """An argparse type: a `kind` from low to high, refused in one line otherwise."""

    def parse(text: str):
        try:
            value = kind(text)
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


_positive = _ranged(int, 1, 100, "a whole number")
_count = _ranged(int, 1, 100_000, "a whole number")
_seconds = _ranged(float, 0, 7 * 86400, "seconds", open_low=True)
_fraction = _ranged(float, 0, 1, "a fraction", open_high=True)


def cmd_servers(_args: argparse.Namespace) -> int:
    width = max(map(len, FAMILIES))
    print(f"{'config':<{width}}  {'model':<10}  {'K':<10}  {'P':<3}  {'pool':<10}  what")
    for name, fam in FAMILIES.items():
        print(
            f"{name:<{width}}  {fam.model:<10}  {fam.slots.text:<10}  {fam.parallel.text:<3}  "
            f"{fam.pool:<10}  {fam.description}"
        )
    print("K: requests held at once; P: processes computing at once (one GIL each)")
    print(
        "pool: io = db connections per process by default (--pool N sets it); behind a "
        f"database K = min(K, N x pool, max_connections: {database.DEFAULT_MAX_CONNECTIONS} "
        "embedded)"
    )
    return 0


def _stop_on_signals() -> None:
    """SIGINT or SIGTERM become one KeyboardInterrupt; later signals cannot cut the cleanup."""

    def handler(signum, _frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def exposed(host: str) -> bool:
    """True unless host is a loopback address (127.0.0.0/8, ::1) or localhost."""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def cmd_serve(args: argparse.Namespace) -> int:
    config = get_config(args.config)
    require_installed(config)
    if args.io != "db" and (args.pool or args.db_url):
        raise UsageError("--pool and --db-url set the database of --io db")
    if exposed(args.host):
        print(f"warning: binding {args.host}: reachable beyond this machine", file=sys.stderr)
    processes.raise_open_files_limit()
    _stop_on_signals()
    db = None
    if args.io == "db":
        db = database.ExternalPostgres(args.db_url) if args.db_url else database.EmbeddedPostgres()
    server = Server(config, host=args.host, port=args.port, delay_s=args.delay, work_ms=args.work)
    try:
        if db is not None:
            db.start()
            server.db = Settings(db.url, args.pool or config.default_pool, args.pool_timeout)
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


def _check_distribution(args: argparse.Namespace) -> None:
    if args.loadgen_workers and args.loadgen_processes > 1:
        raise UsageError(
            "--loadgen-workers and --loadgen-processes cannot be combined; "
            "run `echobench loadgen-worker` on this machine too for local workers"
        )
    if args.target and args.bind:
        raise UsageError("--bind sets where echobench's own servers listen; not with --target")
    for option, host in (("--bind", args.bind), ("--loadgen-bind", args.loadgen_bind)):
        if host and exposed(host):
            print(f"warning: {option} {host}: reachable beyond this machine", file=sys.stderr)
    if args.loadgen_workers and port_in_use(args.loadgen_bind, args.loadgen_port):
        raise UsageError(f"--loadgen-port {args.loadgen_port} is already in use")


def cmd_run(args: argparse.Namespace) -> int:
    from echobench import runner, terminal

    _check_distribution(args)
    profile = profiles.load_profile(
        args.profile,
        args.configs,
        args.scenarios,
        args.repeat,
        seed=args.seed,
    )
    if not args.target:  # every server this run starts must be installed, before any starts
        for config in {p.config.id: p.config for p in profile.points}.values():
            require_installed(config)
    uses_db = any(p.io == "db" for p in profile.points)
    if args.db_url and not uses_db:
        raise UsageError("--db-url is for io = db points, and this profile has none")
    if args.dry_run:
        terminal.print_plan(profile, terminal.console())
        return 0
    db = None
    if uses_db and not args.target:  # the user's database is checked before anything runs
        db = database.ExternalPostgres(args.db_url) if args.db_url else database.EmbeddedPostgres()
        profile.points = [
            replace(p, db_connections=db.max_connections) if p.io == "db" else p
            for p in profile.points
        ]
    run_id = runner.new_run_id(profile)
    run_dir = Path(args.out) if args.out else results.RUNS_DIR / run_id
    results.check_writable(run_dir)
    processes.raise_open_files_limit()
    _stop_on_signals()
    console = terminal.console()
    if args.target:
        if not args.configs or len(args.configs) != 1:
            raise UsageError(
                "--target needs --configs naming the one config the target runs "
                "(the model needs its K)"
            )
        ExternalServer(get_config(args.configs[0]), args.target)  # refuses a malformed URL
    run = runner.Run(
        run_id,
        profile,
        results.create_run_dir(run_dir),
        target=args.target,
        bind=args.bind or LOOPBACK_V4,
        loadgen=Loadgen(
            args.loadgen_processes,
            args.loadgen_workers,
            args.loadgen_bind,
            args.loadgen_port,
            args.loadgen_wait,
        ),
        database=db,
        pool_timeout_s=args.pool_timeout,
    )
    console.print(
        f"echobench run [bold]{run_id}[/]: {len(profile.points)} points, "
        f"expected about {terminal.fmt_duration(profile.expected_s)} -> {run_dir}"
    )
    if args.loadgen_workers:
        console.print(
            f"each point waits for {args.loadgen_workers} locust workers: on each load host run "
            f"`python -m echobench loadgen-worker --master {args.loadgen_bind} "
            f"--port {args.loadgen_port}`"
        )
    try:
        runner.execute(run, console)
    except KeyboardInterrupt:
        console.print(
            f"[red]interrupted[/]: {len(run.rows)} completed points kept in {run_dir}; "
            f"their report: `python -m echobench report {run_dir}`"
        )
        return 130
    finally:
        if run_dir.resolve().parent == results.RUNS_DIR.resolve():
            results.point_latest(run_dir)
    terminal.print_summary(run, console)
    from echobench import report

    try:
        path = report.write_report(run_dir)
        console.print(f"report: {path}, charts in {path.parent / 'charts'}")
    except Exception as exc:  # the measurements are saved; a report failure must not hide them
        console.print(
            f"[red]report not written[/] ({type(exc).__name__}: {exc}); the results are in "
            f"{run_dir}; `python -m echobench report {run_dir}` tries again"
        )
    return 0 if all(row["valid"] for row in run.rows) else 3


def cmd_loadgen_worker(args: argparse.Namespace) -> int:
    from echobench import agent

    processes.raise_open_files_limit()
    _stop_on_signals()
    print(
        f"locust worker for the master at {args.master}:{args.port}, "
        f"up to {args.points} points or {args.max_time:g} s; logs in {args.log_dir}",
        flush=True,
    )
    try:
        result = agent.serve(
            args.master,
            args.port,
            args.points,
            args.max_time,
            Path(args.log_dir),
            say=lambda text: print(text, flush=True),
        )
    except KeyboardInterrupt:
        print("stopped", flush=True)
        return 130
    print(f"{result.points} points; {result.reason}", flush=True)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from echobench import stats, terminal

    run_a, run_b = (results.resolve_run(d) for d in (args.run_a, args.run_b))
    meta_a, meta_b = results.load_run(run_a), results.load_run(run_b)
    differs = stats.same_machine(meta_a, meta_b)
    if differs and not args.force:
        raise UsageError(
            f"runs come from different machines ({'; '.join(differs)}); "
            "--force compares them anyway"
        )
    table = stats.compare(
        results.load_summary(run_a), results.load_summary(run_b), threshold=args.threshold
    )
    if table.empty:
        raise UsageError("the two runs have no valid point in common")
    single = (table["a_repeats"] < 2) | (table["b_repeats"] < 2)
    if single.any():
        print(
            f"warning: {int(single.sum())} of {len(table)} points were measured once in a "
            "run: their verdicts compare two single samples (run both with --repeat 3 or "
            "more to see the spread)",
            file=sys.stderr,
        )
    terminal.print_comparison(table, meta_a["run_id"], meta_b["run_id"], terminal.console())
    if args.csv:
        results.atomic_write(Path(args.csv), table.to_csv(index=False))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from echobench import report

    path = report.write_report(args.run_dir)
    print(f"report: {path}\ncharts: {path.parent / 'charts'}")
    return 0


def _database_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db-url",
        metavar="URL",
        help="io = db: your own PostgreSQL (a libpq URL), checked first and never written "
        "to; default: an embedded PostgreSQL started for the run and stopped after it",
    )
    p.add_argument(
        "--pool-timeout",
        type=_ranged(float, 0, 600, "seconds", open_low=True),
        default=DEFAULT_POOL_TIMEOUT_S,
        metavar="SECONDS",
        help="io = db: how long a request may wait for a connection before its 503 "
        f"(default {DEFAULT_POOL_TIMEOUT_S:g}, psycopg_pool's)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m echobench", description=__doc__)
    parser.add_argument("--version", action="version", version=f"echobench {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Parser
    )

    p = sub.add_parser("servers", help="list every server config family with its model, K and P")
    p.set_defaults(func=cmd_servers)

    p = sub.add_parser("serve", help="run one server config in the foreground")
    p.add_argument("config", help="a config id, e.g. flask-sync-4 or fastapi-async")
    p.add_argument("--host", default=LOOPBACK_V4, help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="port to bind (default 8000)")
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
        type=_ranged(int, 1, MAX_POOL, "connections"),
        metavar="N",
        help="--io db: connections per server process (default: one per slot, at most "
        f"{DEFAULT_POOL_MAX})",
    )
    _database_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "run",
        help="run a benchmark profile and write results/runs/<run-id>/",
        description="Run every point of a profile: a fresh server per point, locust load, "
        "memory and CPU sampling, one summary.csv row per point. Exit 0 when every point "
        "is valid, 3 when some are not (see their note), 130 when interrupted.",
    )
    p.add_argument(
        "--profile",
        default="standard",
        help=f"built-in profile ({', '.join(profiles.available())}) or a .toml path "
        "(default standard)",
    )
    p.add_argument("--out", help="run folder to create (default results/runs/<run-id>)")
    p.add_argument(
        "--configs",
        nargs="+",
        metavar="CONFIG",
        help="run these configs in every group instead of the profile's",
    )
    p.add_argument(
        "--scenarios",
        nargs="+",
        metavar="SCENARIO",
        choices=scenarios.names(),
        help="only the profile's groups of these scenarios",
    )
    p.add_argument(
        "--repeat", type=_positive, help="repeat every point N times, in a shuffled order"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of that order (default 0)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="list the points and the expected time, then stop (nothing is started or written)",
    )
    p.add_argument(
        "--target",
        metavar="URL",
        help="benchmark a server already running at http://HOST:PORT instead of starting one "
        "per point (needs --configs with its one config; memory and CPU are not sampled). "
        "Only target servers you run yourself.",
    )
    p.add_argument(
        "--loadgen-processes",
        type=_positive,
        default=1,
        metavar="N",
        help="run locust as a master and N forked worker processes (default 1: "
        "one process); each worker records its own requests",
    )
    p.add_argument(
        "--loadgen-workers",
        type=_positive,
        default=0,
        metavar="N",
        help="send the load from N locust workers on other hosts, each running "
        "`echobench loadgen-worker --master THIS_HOST`; the master waits for them",
    )
    p.add_argument(
        "--loadgen-bind",
        default=LOOPBACK_V4,
        metavar="HOST",
        help="address the locust master listens on for those workers (default 127.0.0.1)",
    )
    p.add_argument(
        "--loadgen-port",
        type=_port,
        default=MASTER_PORT,
        metavar="PORT",
        help=f"port the locust master listens on (default {MASTER_PORT})",
    )
    p.add_argument(
        "--loadgen-wait",
        type=_ranged(int, 1, 3600, "seconds"),
        default=WORKERS_WAIT_S,
        metavar="SECONDS",
        help=f"how long each point waits for its workers (default {WORKERS_WAIT_S:g})",
    )
    p.add_argument(
        "--bind",
        metavar="HOST",
        help="address echobench's servers listen on (default 127.0.0.1); workers on "
        "other hosts need one they can reach",
    )
    _database_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "loadgen-worker",
        help="lend this host to a distributed run: a locust worker per point",
        description="Keep a locust worker connected to a run's master (`run "
        "--loadgen-workers`), starting a fresh one for every point. Stops after --points "
        "points, after --max-time seconds, or when no master has answered for about five "
        "minutes. Records go to the master; only logs stay here. Connect only to a master "
        "you run: it decides where the load goes.",
    )
    p.add_argument("--master", required=True, metavar="HOST", help="the master's address")
    p.add_argument(
        "--port", type=_port, default=MASTER_PORT, help=f"the master's port (default {MASTER_PORT})"
    )
    p.add_argument(
        "--points",
        type=_count,
        default=1000,
        help="stop after this many points (default 1000)",
    )
    p.add_argument(
        "--max-time",
        type=_seconds,
        default=86400.0,
        metavar="SECONDS",
        help="stop after this long (default 86400)",
    )
    p.add_argument(
        "--log-dir",
        default="echobench-worker-logs",
        help="where worker logs go (default ./echobench-worker-logs)",
    )
    p.set_defaults(func=cmd_loadgen_worker)

    p = sub.add_parser("report", help="write charts/ and report.md into a run folder")
    p.add_argument(
        "run_dir", nargs="?", help="run folder (default $ECHOBENCH_RESULTS or results/latest)"
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "compare",
        help="compare two runs point by point (ratio B/A and a significance verdict)",
        description="For every point both runs measured validly: the median of its headline "
        "figure (burst makespan, steady rps, mixed fast-page p50, open p99) in each run, the "
        "ratio B/A, and a verdict: 'not significant' when the change is under --threshold or "
        "the runs' interquartile ranges overlap. Runs from different machines are refused.",
    )
    p.add_argument("run_a", help="baseline run folder")
    p.add_argument("run_b", help="run folder to compare against it")
    p.add_argument(
        "--threshold",
        type=_fraction,
        default=0.02,
        help="smallest relative change that can count (default 0.02)",
    )
    p.add_argument("--force", action="store_true", help="compare runs from different machines")
    p.add_argument("--csv", help="also write the comparison to this CSV file")
    p.set_defaults(func=cmd_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, UsageError, ServerError, ProfileError, ResultsError,
            database.DatabaseError) as exc:  # fmt: skip
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2 if not isinstance(exc, ServerError) else 1
