"""echobench's closed loop beside wrk's, on the same server in the same session.

    python -m tests.wrk_check fastapi-async --users 64 --delay 0.01 --loadgen-processes 2

measures one steady point as `echobench run` does (a fresh server, locust, the window),
then runs wrk (Debian's package: optional tooling; without it this says so and stops)
with as many connections against a fresh server of the same config, and prints both
rates, their ratio and the CPU echobench's client spent per request: what its client
costs at a high rate on a shared machine. `--repeats N` alternates the two N times
(`nox -s client` runs three), so a drift of the machine falls on both alike.

    python -m tests.wrk_check fastapi-async --against results/reference-crossover --repeats 3

checks a run's calibration instead: wrk at zero delay on fresh connections
(`Connection: close`, as the calibrating clients send it) against the R0 that run's
run.json gives the config, and says whether they agree within 15% (a client-bound R0
is only a lower bound, and is said so).
"""

from __future__ import annotations

import argparse
import json
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

AGREE_WITHIN = 0.15  # how far a run's R0 may sit from wrk's before the check says so


def wrk_rate(url: str, users: int, seconds: int, fresh: bool = False) -> float:
    """wrk's requests per second over `seconds`, every answer counted (it checks none);
    `fresh` sends each request on a new connection."""
    close = ["-H", "Connection: close"] if fresh else []
    done = subprocess.run(
        ["wrk", f"-c{users}", "-t2", f"-d{seconds}s", *close, url],
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
    parser.add_argument("--against", type=Path, metavar="RUN",
                        help="check RUN's calibrated R0 of CONFIG against wrk's")  # fmt: skip
    args = parser.parse_args(argv)
    if not 1 <= args.repeats <= 10 or not 1 <= args.window <= 60:
        parser.error("--repeats must be 1 to 10 and --window 1 to 60 s")
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk): nothing to compare with")
        return 0
    processes.raise_open_files_limit()
    config = get_config(args.config)
    if args.against is not None:
        return check_r0(config, args)
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


def run_r0(run: Path, config: str) -> tuple[float, bool]:
    """The R0 `run`'s run.json gives `config`, and whether it is only a lower bound."""
    calibration = json.loads((run / "run.json").read_text()).get("calibration") or {}
    if config in calibration.get("r0_rps", {}):
        return calibration["r0_rps"][config], False
    if config in calibration.get("r0_rps_lower_bound", {}):
        return calibration["r0_rps_lower_bound"][config], True
    raise SystemExit(f"{run}/run.json has no calibrated R0 for {config}")


def check_r0(config, args) -> int:
    """wrk at zero delay, fresh connections, `--repeats` times, against the run's R0."""
    if not (args.against / "run.json").is_file():
        raise SystemExit(f"{args.against} holds no run.json")
    r0, bound = run_r0(args.against, config.id)
    rates = []
    for _ in range(args.repeats):
        with Server(config, delay_s=0.0) as server:
            url = f"{server.url}/?field=x&delay=0"
            rates.append(wrk_rate(url, args.users, args.window, fresh=True))
    theirs = statistics.median(rates)
    ratio = r0 / theirs
    said = "R0 >= " if bound else "R0 "
    agree = abs(ratio - 1.0) <= AGREE_WITHIN
    verdict = "agree" if agree else "disagree"
    print(f"{config.id}: {args.against.name}'s {said}{r0:.0f} req/s; wrk on fresh "
          f"connections, C = {args.users}, {args.window} s windows: median {theirs:.0f} "
          f"req/s of {args.repeats} (range {min(rates):.0f} to {max(rates):.0f}); "
          f"ratio {ratio:.3f}: {verdict} within {AGREE_WITHIN:.0%}"
          + (" (the run's R0 is a lower bound)" if bound else ""))  # fmt: skip
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
