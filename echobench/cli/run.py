"""`echobench run`: measure every point of a profile, then write its report.

The steps, in order: `validate` (the options and the profile, before anything
starts), `plan` (the database, the run folder, the Run), `execute` (every point, saved
after each) and `report` (the summary table, report.md and charts).
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import sys
from dataclasses import replace
from pathlib import Path

from echobench import database, processes, profiles, results, scenarios
from echobench.cli.common import UsageError, exposed, stop_on_signals
from echobench.configs import get_config, require_installed
from echobench.options import RunOptions, one_to_hundred
from echobench.server import ExternalServer, port_in_use


def add(sub) -> None:
    p = sub.add_parser(
        "run",
        help="run a benchmark profile and write results/runs/<run-id>/",
        description="Run every point of a profile: a fresh server per point, locust load, "
        "memory and CPU sampling, one summary.csv row per point. Exit 0 when every point "
        "is valid, 3 when some are not (see their note), 130 when interrupted.",
    )
    p.add_argument(
        "--profile",
        default=None,
        help=f"built-in profile ({', '.join(profiles.available())}) or a .toml path "
        "(default standard; with --app, app)",
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
        "--repeat", type=one_to_hundred, help="repeat every point N times, in a shuffled order"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of that order (default 0)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="list the points and the expected time, then stop (nothing is started or written)",
    )
    RunOptions.add_arguments(p)
    mine = p.add_argument_group("your own app (instead of the echo app)")
    mine.add_argument(
        "--app",
        metavar="MODULE:ATTR",
        help="a WSGI or ASGI callable, run under every family that can serve it",
    )
    mine.add_argument("--path", help='the request every user sends, e.g. "/notes?limit=10"')
    mine.add_argument("--method", default="GET", help="its method (default GET)")
    mine.add_argument("--body-file", help="its body, read from this file")
    mine.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME: VALUE",
        help="a request header (repeatable)",
    )
    mine.add_argument("--same-body", action="store_true",
                      help="the endpoint is deterministic: every answer's body must hash as "
                      "the first one's")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from echobench import terminal

    options = RunOptions.from_args(args)
    stop_on_signals()  # before validate: it may start a server (--app), stopped on any signal
    profile = validate(args, options)
    if args.dry_run:
        terminal.print_plan(profile, terminal.console())
        return 0
    planned = plan(args, options, profile)
    console = terminal.console()
    if (code := execute(planned, console)) is not None:
        return code
    return report(planned, console)


def validate(args: argparse.Namespace, options: RunOptions) -> profiles.Profile:
    """The options and the profile, refused in one line before anything starts."""
    _check_distribution(options)
    request = app_request(args)
    name = args.profile or ("app" if request else "standard")
    profile = profiles.load_profile(name, args.configs, args.scenarios, args.repeat,
                                    seed=args.seed)  # fmt: skip
    if request:
        profile.points = app_points(profile, request, options, started=not args.dry_run)
    if not options.target:  # every server this run starts must be installed, before any starts
        for config in {p.config.id: p.config for p in profile.points}.values():
            require_installed(config)
    if options.db_url and not any(p.io == "db" for p in profile.points):
        raise UsageError("--db-url is for io = db points, and this profile has none")
    faulted = sorted({p.scenario for p in profile.points if p.scenario_def.companion})
    if faulted and options.target:
        raise UsageError(f"the {' and '.join(faulted)} points make faults on a server "
                         "echobench starts: not with --target")  # fmt: skip
    if faulted and not ipaddress.ip_address(options.server_host).is_loopback:
        raise UsageError(f"the {' and '.join(faulted)} points send their slow clients and "
                         "probes to loopback only: drop --bind")  # fmt: skip
    if options.target:
        if not args.configs or len(args.configs) != 1:
            raise UsageError("--target needs --configs naming the one config the target runs "
                             "(the model needs its K)")  # fmt: skip
        ExternalServer(get_config(args.configs[0]), options.target)  # refuses a malformed URL
    return profile


# Headers a request's framing depends on: echobench writes them, a user may not.
FRAMING_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


def app_request(args: argparse.Namespace):
    """The user's app and request (`--app`), checked in a child Python; None without."""
    from echobench import userapp

    given = [f for f in ("path", "body_file", "same_body") if getattr(args, f)]
    if not args.app:
        if given or args.header or args.method != "GET":
            raise UsageError("--path, --method, --body-file, --header and --same-body are "
                             "for --app")  # fmt: skip
        return None
    if args.target:
        raise UsageError("--app starts your app under echobench's servers; not with --target")
    if not args.path or not args.path.startswith("/"):
        raise UsageError('--app needs --path, the request to send, starting with "/" '
                         '(for example --path "/notes?limit=10")')  # fmt: skip
    if not all(33 <= ord(c) <= 126 for c in args.path):
        raise UsageError(f"--path {args.path!r}: printable ASCII without spaces only "
                         "(percent-encode the rest, as a URL does)")  # fmt: skip
    headers = []
    for text in args.header:
        name, sep, value = text.partition(":")
        name, value = name.strip(), value.strip()
        if (
            not sep
            or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name)
            or not all(32 <= ord(c) <= 126 for c in value)
        ):
            raise UsageError(f"--header must look like 'Name: value', got {text!r}")
        if name.lower() in FRAMING_HEADERS:
            raise UsageError(f"--header {name}: echobench sets it itself (framing and Host)")
        headers.append((name, value))
    body = b""
    if args.body_file:
        try:
            body = Path(args.body_file).read_bytes()
        except OSError as exc:
            raise UsageError(f"--body-file {args.body_file}: {exc.strerror}") from None
    method = args.method.upper()
    if method == "HEAD":
        raise UsageError("--method HEAD: its answers have no body to judge; use GET")
    if not method.isascii() or not method.isalpha():
        raise UsageError(
            f"--method must be an HTTP method such as GET or POST, got {args.method!r}"
        )
    try:
        interface = userapp.detect(args.app)
    except userapp.AppError as exc:
        raise UsageError(str(exc)) from None
    import base64

    return userapp.AppRequest(args.app, interface, args.path, method, tuple(headers),
                              base64.b64encode(body).decode(), args.same_body)  # fmt: skip


def app_points(profile, request, options: RunOptions, started: bool = True) -> list:
    """The profile's points that the app can answer (its interface's families, scenarios
    whose requests are any app's), each asking the app; the app checked once first under
    the first of them: it must answer 2xx (and gives the body hash --same-body keeps);
    not `started` (a dry run), nothing is."""
    from echobench import userapp
    from echobench.server import Server, ServerError

    served = {c.id for c in {p.config for p in profile.points}
              if userapp.interface_of(c) == request.interface}  # fmt: skip
    kept = [p for p in profile.points if p.config.id in served and p.scenario_def.any_app]
    if not kept:
        raise UsageError(f"the profile has no point a {request.interface.upper()} app can "
                         "answer (steady or open points of its families)")  # fmt: skip
    dropped = sorted({p.config.id for p in profile.points} - served)
    skipped = sorted({p.scenario for p in profile.points if not p.scenario_def.any_app})
    if dropped or skipped:
        kind = request.interface.upper()
        parts = [", ".join(dropped)] if dropped else []
        if skipped:
            parts.append(f"the echo app's own {', '.join(skipped)} points")
        print(f"--app {request.target} is {kind}: left out {'; '.join(parts)}",
              file=sys.stderr)  # fmt: skip
    first = kept[0].config
    require_installed(first)
    if not started:
        return [replace(p, app=request) for p in kept]
    try:
        with Server(first, host=options.server_host, app=request) as server:
            sha = server.verify()
    except ServerError as exc:
        raise UsageError(str(exc)) from None
    judged = request.judged_by(sha)
    return [replace(p, app=judged) for p in kept]


def _check_distribution(options: RunOptions) -> None:
    if options.loadgen_workers and options.loadgen_processes > 1:
        raise UsageError(
            "--loadgen-workers and --loadgen-processes cannot be combined; "
            "run `echobench loadgen-worker` on this machine too for local workers"
        )
    if options.target and options.bind is not None:
        raise UsageError("--bind sets where echobench's own servers listen; not with --target")
    for option, host in (("--bind", options.bind), ("--loadgen-bind", options.loadgen_bind)):
        if host and exposed(host):
            print(f"warning: {option} {host}: reachable beyond this machine", file=sys.stderr)
    if options.loadgen_workers and port_in_use(options.loadgen_bind, options.loadgen_port):
        raise UsageError(f"--loadgen-port {options.loadgen_port} is already in use")


def plan(args: argparse.Namespace, options: RunOptions, profile: profiles.Profile):
    """The run: its database (the user's checked first), its folder, its Run object."""
    from echobench import runner

    db = None
    if any(p.io == "db" for p in profile.points) and not options.target:
        db = (database.ExternalPostgres(options.db_url) if options.db_url
              else database.EmbeddedPostgres())  # fmt: skip
        profile.points = [replace(p, db_connections=db.max_connections) if p.io == "db" else p
                          for p in profile.points]  # fmt: skip
    run_id = runner.new_run_id(profile)
    run_dir = Path(args.out) if args.out else results.RUNS_DIR / run_id
    results.check_writable(run_dir)
    processes.raise_open_files_limit()
    stop_on_signals()
    return runner.Run(run_id, profile, results.create_run_dir(run_dir), options=options,
                      database=db)  # fmt: skip


def execute(run, console) -> int | None:
    """Every point, saved after each; 130 when interrupted (the points measured are kept)."""
    from echobench import runner, terminal

    console.print(f"echobench run [bold]{run.run_id}[/]: {len(run.profile.points)} points, "
                  f"expected about {terminal.fmt_duration(run.profile.expected_s)} -> "
                  f"{run.run_dir}")  # fmt: skip
    options = run.options
    if options.loadgen_workers:
        console.print(
            f"each point waits for {options.loadgen_workers} locust workers: on each load host "
            f"run `python -m echobench loadgen-worker --master {options.loadgen_bind} "
            f"--port {options.loadgen_port}`"
        )
    try:
        runner.execute(run, console)
    except KeyboardInterrupt:
        console.print(
            f"[red]interrupted[/]: {len(run.rows)} completed points kept in {run.run_dir}; "
            f"their report: `python -m echobench report {run.run_dir}`"
        )
        return 130
    finally:
        if run.run_dir.resolve().parent == results.RUNS_DIR.resolve():
            results.point_latest(run.run_dir)
    return None


def report(run, console) -> int:
    """The summary table and the report; 0 when every point is valid, else 3."""
    from echobench import report, terminal

    terminal.print_summary(run, console)
    try:
        path = report.write_report(run.run_dir)
        console.print(f"report: {path}, charts in {path.parent / 'charts'}")
    except Exception as exc:  # the measurements are saved; a report failure must not hide them
        console.print(
            f"[red]report not written[/] ({type(exc).__name__}: {exc}); the results are in "
            f"{run.run_dir}; `python -m echobench report {run.run_dir}` tries again"
        )
    return 0 if all(row["valid"] for row in run.rows) else 3
