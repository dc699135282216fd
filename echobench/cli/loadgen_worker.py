"""`echobench loadgen-worker`: lend this host to a distributed run."""

from __future__ import annotations

import argparse
from pathlib import Path

from echobench import processes
from echobench.cli.common import stop_on_signals
from echobench.loadgen import MASTER_PORT
from echobench.options import count, port, seconds


def add(sub) -> None:
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
        "--port", type=port, default=MASTER_PORT, help=f"the master's port (default {MASTER_PORT})"
    )
    p.add_argument(
        "--points",
        type=count,
        default=1000,
        help="stop after this many points (default 1000)",
    )
    p.add_argument(
        "--max-time",
        type=seconds,
        default=86400.0,
        metavar="SECONDS",
        help="stop after this long (default 86400)",
    )
    p.add_argument(
        "--log-dir",
        default="echobench-worker-logs",
        help="where worker logs go (default ./echobench-worker-logs)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from echobench import agent

    processes.raise_open_files_limit()
    stop_on_signals()
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
