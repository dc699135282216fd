"""echobench's minimal client: the least a client can do, to measure with headroom.

asyncio streams on raw sockets sending the very bytes locust's users send
(`loadtests.answers.request_bytes`), each answer read to its end and checked byte for
byte; nothing else of echobench's load path (locust, its users, its records). Two uses:

- `burst`: n requests on a connection each, all written but their last byte, then every
  last byte in one loop (the protocol of echobench's bursts); `tests/minimal_client.py`
  sets its makespan beside echobench's.
- `closed_loop`: a calibration's second opinion. After locust's zero-delay point a
  calibration runs this in its own process (`measure_r0`) against the same server for
  R0_SECONDS with R0_CONNECTIONS users, each request on a fresh connection as locust's
  calibrating users send it, and keeps its rate and its own CPU share in
  `raw/<point>/r0_minimal.json`: R0 from a client that is not the bottleneck, checked
  against locust's. Bounded in connections, time and requests; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path

from echobench import processes
from loadtests.answers import request_bytes
from servers import contract

CONNECT_AT_ONCE = 1000  # connects in flight at once: more only overflows the accept queue
R0_CONNECTIONS = 64
R0_SECONDS = 3.0
R0_FILE = "r0_minimal.json"
MAX_CONNECTIONS = 1000
MAX_SECONDS = 60.0
# A client process at this share of one core or more may itself have set the pace.
BOUND_PCT = 90.0


@dataclass(frozen=True)
class Burst:
    makespan_s: float
    send_spread_ms: float  # first request written to last
    ok: int
    failed: int


async def burst(host: str, port: int, n: int, delay_s: float) -> Burst:
    """n echo requests, one connection each: all connected and written but their last
    byte, then every last byte in one loop; timed from the first last byte to the last
    answer, as echobench times its bursts."""
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def connect(i: int):
        async with gate:
            reader, writer = await asyncio.open_connection(host, port)
        request = request_bytes(f"{host}:{port}", f"/?field=m{i}&delay={delay_s!r}")
        writer.write(request[:-1])
        await writer.drain()
        return reader, writer, request[-1:]

    conns = await asyncio.gather(*(connect(i) for i in range(n)))
    sent = []
    for _, writer, last in conns:
        writer.write(last)
        sent.append(time.perf_counter())

    async def answer(i: int, reader, writer) -> tuple[float, bool]:
        data = await reader.read()
        done = time.perf_counter()
        writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        return done, head.startswith(b"HTTP/1.1 200") and body == contract.render_page(f"m{i}")

    answers = await asyncio.gather(
        *(answer(i, r, w) for i, (r, w, _) in enumerate(conns)), return_exceptions=True
    )
    finished = [a for a in answers if not isinstance(a, BaseException)]
    ok = sum(good for _, good in finished)
    last = max((t for t, _ in finished), default=sent[0])
    return Burst(last - sent[0], 1000.0 * (sent[-1] - sent[0]), ok, n - ok)


async def closed_loop(host: str, port: int, connections: int, seconds: float) -> dict:
    """`connections` users sending zero-delay echoes back to back for `seconds`, each on a
    fresh connection (`Connection: close`), each answer checked byte for byte: the
    answers per second, and this process's CPU share of one core meanwhile."""
    deadline = time.monotonic() + seconds
    counts = {"ok": 0, "failed": 0}

    async def user(index: int) -> None:
        sequence = 0
        while time.monotonic() < deadline:
            sequence += 1
            text = f"r{index}n{sequence}"
            request = request_bytes(f"{host}:{port}", f"/?field={text}&delay=0", close=True)
            try:
                reader, writer = await asyncio.open_connection(host, port)
                writer.write(request)
                data = await asyncio.wait_for(reader.read(), timeout=max(0.1, seconds))
                writer.close()
            except (OSError, TimeoutError):
                counts["failed"] += 1
                continue
            head, _, body = data.partition(b"\r\n\r\n")
            good = head.startswith(b"HTTP/1.1 200") and body == contract.render_page(text)
            counts["ok" if good else "failed"] += 1

    cpu, wall = time.process_time(), time.monotonic()
    await asyncio.gather(*(user(i) for i in range(connections)))
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    return {"rps": counts["ok"] / wall, "ok": counts["ok"], "failed": counts["failed"],
            "cpu_pct": 100.0 * cpu / wall, "connections": connections,
            "seconds": round(wall, 3)}  # fmt: skip


def measure_r0(host: str, port: int, raw: Path, connections: int = R0_CONNECTIONS,
               seconds: float = R0_SECONDS) -> dict:  # fmt: skip
    """`closed_loop` in its own process (its CPU apart from echobench's), stopped by PID
    if it overruns; what it wrote to raw/R0_FILE, or {"error": ...}."""
    out = raw / R0_FILE
    argv = [
        sys.executable,
        "-m",
        "echobench.rawclient",
        "--host",
        host,
        "--port",
        str(port),
        "--connections",
        str(connections),
        "--seconds",
        str(seconds),
        "--out",
        str(out),
    ]
    try:
        proc = processes.spawn(argv, raw / "rawclient.log")
    except OSError as exc:  # the calibration goes on with locust's figure alone
        said = {"error": f"the minimal client could not start: {exc}"}
        out.write_text(json.dumps(said))
        return said
    try:
        proc.wait(timeout=seconds + 20.0)
    except subprocess.TimeoutExpired:
        pass  # stopped below, and said as writing nothing
    finally:
        processes.stop(proc)
    if not out.exists():
        said = {"error": f"the minimal client exited with {proc.returncode}, writing nothing"}
        out.write_text(json.dumps(said))
        return said
    return json.loads(out.read_text())


def read(raw: Path) -> dict:
    """What a calibration's minimal client measured, or {} (a point without one)."""
    path = raw / R0_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m echobench.rawclient", description=__doc__)
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--connections", type=int, default=R0_CONNECTIONS)
    p.add_argument("--seconds", type=float, default=R0_SECONDS)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if not ip_address(args.host).is_loopback:
        p.error(f"the minimal client sends to loopback only, not {args.host}")
    if not 1 <= args.connections <= MAX_CONNECTIONS or not 0 < args.seconds <= MAX_SECONDS:
        p.error(f"--connections 1 to {MAX_CONNECTIONS}, --seconds above 0 and at most "
                f"{MAX_SECONDS:g}")  # fmt: skip
    said = asyncio.run(closed_loop(args.host, args.port, args.connections, args.seconds))
    tmp = f"{args.out}.{os.getpid()}.tmp"
    Path(tmp).write_text(json.dumps(said, indent=1))
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
