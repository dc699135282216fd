"""A minimal independent burst client, and echobench's burst beside it.

`echobench.rawclient.burst` is the least a client can do for a burst (the package's own
minimal client: asyncio streams on raw sockets, the very bytes echobench's users send,
every answer checked byte for byte); nothing else of echobench's load path is in it, so
the gap between its makespan and echobench's on the same server is echobench's own
client cost.

    python -m tests.minimal_client fastapi-async 5000 --delay 2 --loadgen-processes 2

starts a fresh server for each, measures the burst with echobench (one point, as a run
measures it) and with this client, on the same config in the same session, and prints
both makespans, their ratio and echobench's send spread.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from echobench import processes, runner
from echobench.configs import get_config
from echobench.options import RunOptions
from echobench.point import Point
from echobench.rawclient import Burst, burst
from echobench.server import Server


def echobench_burst(config: str, n: int, delay_s: float, processes: int = 1) -> dict:
    """One burst point measured as `echobench run` measures it; its summary figures."""
    point = Point(1, "burst", get_config(config), n, delay_s, 1)
    with tempfile.TemporaryDirectory(prefix="echobench-side-by-side-") as folder:
        row, problems = runner.measure_point(point, Path(folder) / "raw",
                                             RunOptions(loadgen_processes=processes))  # fmt: skip
    return {**row, "problems": [str(p) for p in problems]}


def minimal_burst(config: str, n: int, delay_s: float) -> Burst:
    with Server(get_config(config), delay_s=delay_s) as server:
        return asyncio.run(burst(server.host, server.port, n, delay_s))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.minimal_client",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("config")
    parser.add_argument("n", type=int)
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--loadgen-processes", type=int, default=1)
    args = parser.parse_args(argv)
    if not 1 <= args.n <= 20_000 or not 0 < args.delay <= 60:
        parser.error("n must be 1 to 20000 and --delay above 0 and at most 60")
    processes.raise_open_files_limit()
    ours = echobench_burst(args.config, args.n, args.delay, args.loadgen_processes)
    theirs = minimal_burst(args.config, args.n, args.delay)
    print(f"{args.config}, {args.n} x {args.delay:g} s")
    print(f"  echobench:      {ours.get('makespan_s') or float('nan'):.3f} s makespan, "
          f"sends spread over {ours.get('send_spread_ms') or float('nan'):.0f} ms, "
          f"{ours.get('ok')} ok, load generator peak {ours.get('loadgen_cpu_peak_pct') or 0:.0f}%"
          + (f" ({'; '.join(ours['problems'])})" if ours["problems"] else ""))  # fmt: skip
    print(f"  minimal client: {theirs.makespan_s:.3f} s makespan, sends spread over "
          f"{theirs.send_spread_ms:.0f} ms, {theirs.ok} ok")  # fmt: skip
    if ours.get("makespan_s"):
        print(f"  ratio: {ours['makespan_s'] / theirs.makespan_s:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
