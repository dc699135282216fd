"""S slow clients of one kind, held open beside a point's fast stream (the slow scenario).

Run as its own process (`python -m echobench.slowclients`), started and stopped by PID
by echobench.faults, to loopback only, at most MAX_CLIENTS connections for at most
MAX_HOLD_S. The kinds, each as a client that does it on purpose:

- headers: sends its request line, then its headers a byte every TRICKLE_S (slowloris);
- body: sends whole headers of a POST with a body, then the body a byte every TRICKLE_S;
- read: asks for a large answer (`size=`) with a small receive buffer and reads it a
  little every TRICKLE_S;
- idle: sends one whole request on a keep-alive connection, reads its answer, goes idle.

It writes what it saw to a JSON file: connections made and refused, the most open at
once, how many the server closed and how long after they opened, and the server's own
count of connections on its port (ESTABLISHED sockets, sampled every SAMPLE_S).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import sys
import time
from ipaddress import ip_address
from pathlib import Path

KINDS = ("headers", "body", "read", "idle")
MAX_CLIENTS = 5000  # well under the 20,000 open files a process may hold here
MAX_HOLD_S = 600.0
# They hold on this long past their point's longest load; echobench stops them before.
HOLD_SLACK_S = 60.0
TRICKLE_S = 1.0
SAMPLE_S = 0.5
READ_SIZE = 1024 * 1024  # the contract's largest answer
READ_CHUNK = 1024
RECEIVE_BUFFER = 4096
BODY_BYTES = 60_000  # declared, under the contract's 64 KiB bound
CONNECT_AT_ONCE = 100


def opening(kind: str) -> bytes:
    """What a client of this kind sends first."""
    if kind == "headers":
        return b"GET /?field=slow&delay=0 HTTP/1.1\r\nHost: echobench\r\nX-Slow: "
    if kind == "body":
        return (b"POST /?delay=0 HTTP/1.1\r\nHost: echobench\r\nContent-Type: "
                b"application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\nfield="
                % BODY_BYTES)  # fmt: skip
    if kind == "read":
        return b"GET /?field=slow&delay=0&size=%d HTTP/1.1\r\nHost: echobench\r\n\r\n" % READ_SIZE
    return b"GET /?field=idle&delay=0 HTTP/1.1\r\nHost: echobench\r\n\r\n"


class Watch:
    """Every client's life, for the JSON the point keeps."""

    def __init__(self) -> None:
        self.made = self.refused = self.open = self.most_open = 0
        self.closed_after_s: list[float] = []
        self.server_connections: list[int] = []
        self.stopping = False


async def client(kind: str, host: str, port: int, watch: Watch, gate: asyncio.Semaphore) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    if kind == "read":  # set before connect, so the window it advertises is small
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    async with gate:
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (host, port)), 10.0)
        except (OSError, TimeoutError):
            watch.refused += 1
            sock.close()
            return
    opened = time.monotonic()
    watch.made += 1
    watch.open += 1
    watch.most_open = max(watch.most_open, watch.open)
    try:
        await _hold(kind, sock, loop, watch)
        if not watch.stopping:
            watch.closed_after_s.append(time.monotonic() - opened)
    except OSError:
        if not watch.stopping:
            watch.closed_after_s.append(time.monotonic() - opened)
    finally:
        watch.open -= 1
        sock.close()


async def _hold(kind: str, sock: socket.socket, loop, watch: Watch) -> None:
    """Do this kind's slow thing until the server closes the connection (return) or the
    driver stops (cancelled)."""
    await loop.sock_sendall(sock, opening(kind))
    if kind == "idle":  # read the one answer, then wait for the server to close
        while await loop.sock_recv(sock, 65536):
            pass
        return
    if kind == "read":
        while True:
            if not await loop.sock_recv(sock, READ_CHUNK):
                return
            await asyncio.sleep(TRICKLE_S)
    sent = 0
    while kind == "headers" or sent < BODY_BYTES - 10:
        await asyncio.sleep(TRICKLE_S)
        try:
            await loop.sock_sendall(sock, b"a")
        except OSError:
            return
        sent += 1
        if _closed(sock):
            return


def _closed(sock: socket.socket) -> bool:
    """The server hung up (EOF or an answer waiting: a refusal such as a 408 or 413)."""
    try:
        sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)  # b"" (EOF) or a refusal's bytes
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


ESTABLISHED = "01"  # the state column of /proc/net/tcp


def server_connections(port: int) -> int:
    """ESTABLISHED sockets whose local port is the server's: the connections it holds,
    from the kernel's own tables (cheap beside walking every process's descriptors)."""
    local = f":{port:04X}"
    count, read = 0, False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as lines:
                next(lines, None)  # the heading
                for line in lines:
                    fields = line.split()
                    if len(fields) > 3 and fields[3] == ESTABLISHED and fields[1].endswith(local):
                        count += 1
            read = True
        except OSError:
            continue
    return count if read else -1


async def main(args: argparse.Namespace) -> dict:
    watch = Watch()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    tasks = [asyncio.create_task(client(args.kind, args.host, args.port, watch, gate))
             for _ in range(args.count)]  # fmt: skip
    deadline = time.monotonic() + args.hold_s
    ready_said = False
    while not stop.is_set() and time.monotonic() < deadline:
        if not ready_said and watch.made + watch.refused >= args.count:
            Path(args.ready).write_text(str(time.time()))
            ready_said = True
        watch.server_connections.append(server_connections(args.port))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_S)
    watch.stopping = True
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    closed = watch.closed_after_s
    counted = [n for n in watch.server_connections if n >= 0]
    return {
        "kind": args.kind,
        "count": args.count,
        "made": watch.made,
        "refused": watch.refused,
        "most_open": watch.most_open,
        "closed_by_server": len(closed),
        "closed_after_s_median": statistics.median(closed) if closed else None,
        "server_connections_max": max(counted) if counted else None,
    }


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m echobench.slowclients", description=__doc__)
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--kind", choices=KINDS, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--hold-s", type=float, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--ready", required=True)
    args = p.parse_args(argv)
    if not ip_address(args.host).is_loopback:
        p.error(f"slow clients go to loopback only, not {args.host}")
    if not 0 <= args.count <= MAX_CLIENTS:
        p.error(f"--count must be from 0 to {MAX_CLIENTS}")
    if not 0 < args.hold_s <= MAX_HOLD_S:
        p.error(f"--hold-s must be above 0 and at most {MAX_HOLD_S:g}")
    return args


if __name__ == "__main__":
    arguments = parse(sys.argv[1:])
    said = asyncio.run(main(arguments))
    tmp = f"{arguments.out}.{os.getpid()}.tmp"
    Path(tmp).write_text(json.dumps(said, indent=1))
    os.replace(tmp, arguments.out)
