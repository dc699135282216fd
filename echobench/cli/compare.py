"""`echobench compare A B`: two runs point by point, with a significance verdict."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from echobench import results
from echobench.cli.common import UsageError
from echobench.options import fraction


def add(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="compare two runs point by point (ratio B/A and a significance verdict)",
        description="For every point both runs measured validly: the median of its headline "
        "figure (burst makespan, steady rps, mixed fast-page p50, open p99) in each run, the "
        "ratio B/A, and a verdict decided by the medians' intervals (docs/methodology.md, "
        "section 6): 'better' or 'worse' only when B's interval clears A's, 'not significant' "
        "when they overlap, 'too few repeats' below 3 repeats in either run. Runs from "
        "different machines are refused.",
    )
    p.add_argument("run_a", help="baseline run folder")
    p.add_argument("run_b", help="run folder to compare against it")
    p.add_argument(
        "--threshold",
        type=fraction,
        default=None,
        help="also ignore changes smaller than this fraction, even with disjoint intervals "
        "(default 0: the intervals alone decide)",
    )
    p.add_argument("--force", action="store_true", help="compare runs from different machines")
    p.add_argument("--csv", help="also write the comparison to this CSV file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
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
        results.load_summary(run_a),
        results.load_summary(run_b),
        threshold=stats.DEFAULT_THRESHOLD if args.threshold is None else args.threshold,
    )
    if table.empty:
        raise UsageError("the two runs have no valid point in common")
    few = table["verdict"] == "too few repeats"
    if few.any():
        print(
            f"warning: {int(few.sum())} of {len(table)} points have fewer than "
            f"{stats.MIN_REPEATS} repeats in a run, so no verdict (run both with --repeat "
            f"{stats.MIN_REPEATS} or more)",
            file=sys.stderr,
        )
    terminal.print_comparison(table, meta_a["run_id"], meta_b["run_id"], terminal.console())
    if args.csv:
        results.atomic_write(Path(args.csv), table.to_csv(index=False))
    return 0
