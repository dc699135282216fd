"""Probes of the locust side's own logic (loadtests/), run as a child process by
test_locust_side.py.

Importing locust monkey-patches the whole process with gevent, which the test process
must not be, so the probes run here and print their findings as JSON on stdout.
Usage: python -m tests.locust_probe PROBE FOLDER
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import gevent
from locust.runners import WorkerRunner

from echobench.records import REQUEST_FIELDS
from loadtests import conductor
from loadtests.distributed import LINK, ROLL
from loadtests.recorder import RECORDER
from loadtests.users import base as users


def arrivals(_folder: Path) -> dict:
    """Open loop: the intended send times the schedule hands out, steady and Poisson."""
    found = {}
    for poisson, rate, seconds in ((False, 40.0, 1.0), (True, 200.0, 2.0)):
        conductor.CONDUCTOR = conductor.Conductor()
        started = RECORDER.now()
        conductor.CONDUCTOR.send_until = started + seconds
        conductor.schedule_arrivals(SimpleNamespace(seed=3, poisson=poisson), rate, stream=0)
        gevent.sleep(seconds + 0.3)
        queue, due = conductor.CONDUCTOR.arrivals, []
        while queue.qsize():
            due.append(queue.get_nowait())
        found["poisson" if poisson else "steady"] = {
            "rate": rate, "seconds": seconds, "started": started, "due": due
        }  # fmt: skip
    return found


class FakeWorker(WorkerRunner):
    """A worker runner that keeps what it sends; the master's clock is `skew` s ahead."""

    def __init__(self, skew: float) -> None:  # locust's own __init__ would connect
        self.skew = skew
        self.sent: list[tuple[str, object]] = []

    def send_message(self, msg_type, data=None, client_id=None) -> None:
        self.sent.append((msg_type, data))
        if msg_type == "eb_clock":  # the master answers after 2 ms, stamping its own time
            reply = {"t0": data["t0"], "master_time": time.time() + self.skew + 0.001}
            gevent.spawn_later(0.002, LINK.pong.set, reply)


def shipping(folder: Path) -> dict:
    """A worker with more rows than one message carries, on a skewed clock, and its master."""
    rows, skew = 12_345, 123.456
    RECORDER.keep_rows()
    worker = FakeWorker(skew)
    LINK.sync_clock(worker, RECORDER)
    RECORDER.mark("release")
    wall = time.time()
    for i in range(rows - 2):
        RECORDER.record("send", req_id=i, kind="echo", user=0, sent_at=RECORDER.now())
    RECORDER.mark("end")
    LINK.ship(worker, RECORDER)
    RECORDER.record("send", req_id=-1, kind="echo")  # after shipping: must not be kept

    chunks = [data for kind, data in worker.sent if kind == "eb_records"]
    done = next(data for kind, data in worker.sent if kind == "eb_done")
    master = SimpleNamespace(
        worker_count=1, get_worker_index=lambda _node: 3, quit=lambda: None, clients={}
    )
    options = SimpleNamespace(expect_workers=1)
    ROLL.environment = environment = SimpleNamespace(runner=master, parsed_options=options)
    ROLL.records = str(folder / "requests.csv")
    for chunk in chunks:
        ROLL.worker_records(environment, SimpleNamespace(node_id="n1", data=chunk))
    ROLL.worker_done(environment, SimpleNamespace(node_id="n1", data=done))
    ROLL.write_roll()
    return {
        "rows": rows,
        "skew": skew,
        "wall": wall,
        "chunk_sizes": [len(chunk) for chunk in chunks],
        "sent": [row for chunk in chunks for row in chunk],
        "clock_offset": done["clock_offset_s"],
        "clock_rtt": done["clock_rtt_s"],
    }


def never_sent(_folder: Path) -> dict:
    """Arrivals still queued when the point ends become sends that never left."""
    RECORDER.keep_rows()
    for due in (5.0, 5.5, 6.0):
        conductor.CONDUCTOR.arrivals.put(due)
    conductor.never_sent()
    return {"rows": [dict(zip(REQUEST_FIELDS, row, strict=True)) for row in RECORDER.rows]}


def classify(_folder: Path) -> dict:
    errors = {
        "TimeoutError": TimeoutError(),
        "gevent.Timeout": gevent.Timeout(1),
        "socket timed out": OSError("timed out"),
        "ConnectionRefusedError": ConnectionRefusedError(),
        "ConnectionResetError": ConnectionResetError("reset by peer"),
    }
    return {name: users.classify(error) for name, error in errors.items()}


PROBES = {f.__name__: f for f in (arrivals, shipping, never_sent, classify)}

if __name__ == "__main__":
    name, folder = sys.argv[1], Path(sys.argv[2])
    print(json.dumps(PROBES[name](folder)))
