"""echobench's closed loop beside wrk's, on the same server in the same session.

    python -m tests.wrk_check fastapi-async --users 64 --delay 0.01 --loadgen-processes 2

measures one steady point as `echobench run` does (a fresh server, locust, the window),
then runs wrk (Debian's package: optional tooling; without it this says so and stops)
with as many connections against a fresh server of the same config, and prints both
rates, their ratio and the CPU echobench's client spent per request: what its client
costs at a high rate on a shared machine. `--repeats N` alternates the two N times
(`nox -s client` runs three), so a drift of the machine falls on both alike.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from echobench import processes, runner
from echobench.configs import get_config
from echobench.options import RunOptions
from echobench.point import Point
from echobench.server import Server


def wrk_rate(url: str, users: int, seconds: int) -> float:
    """wrk's requests per second over `seconds`, every answer counted (it checks none)."""
    done = subprocess.run(
        ["wrk", f"-c{users}", "-t2", f"-d{seconds}s", url],
        capture_output=True, text=True, timeout=seconds + 30, check=True,
    )  # fmt: skip
    found = re.search(r"Requests/sec:\s+([0-9.]+)", done.stdout)
    if not found:
        raise RuntimeError(f"wrk said: {done.stdout[-300:]}")
    return float(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.wrk_check",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("config")
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--delay", type=float, default=0.01)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--loadgen-processes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    if not 1 <= args.repeats <= 10 or not 1 <= args.window <= 60:
        parser.error("--repeats must be 1 to 10 and --window 1 to 60 s")
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk): nothing to compare with")
        return 0
    processes.raise_open_files_limit()
    config = get_config(args.config)
    print(f"{args.config}, C = {args.users}, D = {1000 * args.delay:g} ms, "
          f"{args.loadgen_processes} locust processes, windows of {args.window} s")  # fmt: skip
    ratios, costs = [], []
    for repeat in range(1, args.repeats + 1):
        row, problems = echobench_point(config, args)
        with Server(config, delay_s=args.delay) as server:
            url = f"{server.url}/?field=x&delay={args.delay!r}"
            theirs = wrk_rate(url, args.users, args.window)
        ours = row.get("rps") or float("nan")
        cost = row.get("loadgen_cpu_us_per_request") or float("nan")
        ratios.append(ours / theirs)
        costs.append(cost)
        print(f"  {repeat}: echobench {ours:.0f} req/s, client {cost:.0f} us CPU per request, "
              f"peak {row.get('loadgen_cpu_peak_pct') or 0:.0f}% of a core; wrk {theirs:.0f} "
              f"req/s; ratio {ours / theirs:.3f}"
              + (f" ({'; '.join(map(str, problems))})" if problems else ""))  # fmt: skip
    if args.repeats > 1:
        print(f"  median of {args.repeats}: ratio {statistics.median(ratios):.3f} "
              f"(range {min(ratios):.3f} to {max(ratios):.3f}), client "
              f"{statistics.median(costs):.0f} us per request "
              f"(range {min(costs):.0f} to {max(costs):.0f})")  # fmt: skip
    return 0


def echobench_point(config, args) -> tuple[dict, list]:
    """One steady point, measured as `echobench run` measures it, on a fresh server."""
    point = Point(1, "steady", config, args.users, args.delay, 1, warmup_s=1.0,
                  window_s=float(args.window))  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="echobench-wrk-") as folder:
        options = RunOptions(loadgen_processes=args.loadgen_processes)
        return runner.measure_point(point, Path(folder) / "raw", options)


if __name__ == "__main__":
    sys.exit(main())
