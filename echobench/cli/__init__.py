"""`python -m echobench`: list configs, serve one, run the bench, write a report.

Each subcommand is one module of this package that owns its parser (`add`) and its
work (`run`). Usage mistakes exit 2 with one line on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import sys

from echobench import __version__, database
from echobench.cli import advise, compare, loadgen_worker, report, run, serve, servers
from echobench.cli.common import Parser, UsageError, exposed
from echobench.configs import ConfigError
from echobench.profiles import ProfileError
from echobench.results import ResultsError
from echobench.server import ServerError
from echobench.userapp import AppError

__all__ = ["build_parser", "exposed", "main"]
SUBCOMMANDS = (servers, serve, run, loadgen_worker, report, compare, advise)
DESCRIPTION = """`python -m echobench`: list configs, serve one, run the bench, write a report.

Usage mistakes exit 2 with one line on stderr and no traceback.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m echobench", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"echobench {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Parser
    )
    for command in SUBCOMMANDS:
        command.add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, UsageError, ServerError, ProfileError, ResultsError,
            database.DatabaseError, AppError) as exc:  # fmt: skip
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2 if not isinstance(exc, ServerError) else 1
