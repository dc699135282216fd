"""`echobench advise`: your workload and machine in, configs ranked by what they cost."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from echobench.cli.common import UsageError


def _int_at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def add(sub) -> None:
    p = sub.add_parser(
        "advise",
        help="rank server configs for your workload and machine (model and measured costs)",
        description="Given how long a request waits (--wait) and computes (--cpu), how many "
        "users at once (--users), optionally a database pool behind the wait (--pool and "
        "--max-connections) and a p99 target, and the machine (--cores, --memory; this "
        "machine's by default): every config family at the sizes that make sense for it, "
        "with the model's throughput and latency and the memory from the measured, fitted "
        "costs; the cheapest config that does the job first. Durations: 80ms, 0.08s, "
        "500us. Sizes: 4GiB, 4096MB, 512MiB.",
    )
    p.add_argument("--wait", required=True, help="time a request waits (I/O), e.g. 80ms")
    p.add_argument("--cpu", default="0ms", help="CPU a request computes, e.g. 12ms (default 0)")
    p.add_argument("--users", required=True, type=_int_at_least_one, help="users at once (C)")
    p.add_argument("--pool", type=_int_at_least_one, help="database connections per process")
    p.add_argument("--max-connections", type=_int_at_least_one,
                   help="the database's connection limit (with --pool)")  # fmt: skip
    p.add_argument("--p99", help="latency target, e.g. 500ms")
    p.add_argument("--cores", type=_int_at_least_one, help="cores (default: this machine's)")
    p.add_argument("--memory", help="memory, e.g. 4GiB (default: this machine's)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument(
        "--verify",
        nargs="?",
        const="advice-profile.toml",
        metavar="PROFILE",
        help="also write a profile measuring the top 3 picks at this workload scaled to "
        "this machine's cores (default file advice-profile.toml); then run it with "
        "`python -m echobench run --profile PROFILE`",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from echobench import advise, results, units
    from echobench.configs import ConfigError

    try:
        workload = advise.Workload(
            wait_s=units.duration_s(args.wait, "--wait"),
            cpu_s=units.duration_s(args.cpu, "--cpu"),
            users=args.users,
            cores=args.cores or advise.here_cores(),
            memory_mb=units.size_mb(args.memory, "--memory") if args.memory
            else advise.here_memory_mb(),
            p99_s=units.duration_s(args.p99, "--p99") if args.p99 else None,
            pool=args.pool,
            max_connections=args.max_connections,
        )  # fmt: skip
    except ValueError as exc:  # units.UnitError is one
        raise UsageError(str(exc)) from None
    target = Path(args.verify).resolve() if args.verify else None
    if target is not None and (target.is_dir() or not target.parent.is_dir()):
        raise UsageError(f"--verify {args.verify}: not a file in an existing folder")
    source, summary = advise.memory_source()
    picks = advise.rank(workload, summary)
    near = advise.nearest_cell(workload)
    if args.json:
        answer = advise.as_json(workload, picks, source, near)
        print(json.dumps(answer, indent=2, default=str, allow_nan=False))
    else:
        print(advise.text(workload, picks, source, near, advise.here_cores()))
    if args.verify:
        try:
            text = advise.verify_profile(workload, picks, advise.here_cores())
        except (ValueError, ConfigError) as exc:
            raise UsageError(f"--verify: {exc}") from None
        try:
            results.atomic_write(target, text)
        except OSError as exc:
            raise UsageError(f"--verify {args.verify}: {exc.strerror}") from None
        print(f"\nwrote {args.verify}: measure the advice with "
              f"`python -m echobench run --profile {args.verify}`", file=sys.stderr)  # fmt: skip
    return 0
