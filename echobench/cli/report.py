"""`echobench report [RUN]`: charts/, report.md and report.html in a run folder."""

from __future__ import annotations

import argparse


def add(sub) -> None:
    p = sub.add_parser("report", help="write charts/ and report.md into a run folder")
    p.add_argument(
        "run_dir", nargs="?", help="run folder (default $ECHOBENCH_RESULTS or results/latest)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from echobench import report

    path = report.write_report(args.run_dir)
    print(f"report: {path}\ncharts: {path.parent / 'charts'}")
    return 0
