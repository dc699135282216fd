"""Several locust processes, here or on other hosts: the worker's link and the master's roll call.

Each worker keeps its rows and ships them to the master when its share is done; the
master writes them to `requests.w<index>.csv` and a roll call, `workers.json`, so
locust's own stats play no part. The master releases every worker's users together
once all have spawned theirs. Workers stamp their rows in the master's clock, its
offset measured by ping (the shortest of five round trips).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import socket
import time
from pathlib import Path

import gevent
from gevent.event import AsyncResult, Event

from echobench import clock, records
from echobench.records import REQUEST_FIELDS
from loadtests.recorder import Recorder
from servers import contract

CLOCK_PINGS = 5
SHIP_ROWS = 5000  # rows per message from a worker to the master
STOP_GRACE_S = 15.0  # after a worker is lost, the others' time to ship their rows


def fingerprint() -> str:
    """What a worker and its master must share: the load code, record format and contract."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for path in (*sorted(here.glob("*.py")), Path(records.__file__), Path(contract.__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# --- a worker's side ----------------------------------------------------------------------


class WorkerLink:
    """A worker's conversation with its master: clock pings, the go, shipping rows."""

    def __init__(self) -> None:
        self.pong = AsyncResult()

    def register(self, runner, on_go, on_stop) -> None:
        runner.register_message("eb_clock_reply", lambda msg, **_: self.pong.set(msg.data))
        runner.register_message("eb_go", lambda **_: on_go())
        runner.register_message("eb_stop", lambda **_: on_stop())

    def sync_clock(self, runner, recorder: Recorder) -> None:
        """Set the recorder's clock to the master's, by ping."""
        pings = []
        for _ in range(CLOCK_PINGS):
            self.pong = AsyncResult()
            t0 = time.time()
            runner.send_message("eb_clock", {"t0": t0})
            try:
                reply = self.pong.get(timeout=2.0)
            except gevent.Timeout:
                continue
            if reply["t0"] == t0:
                pings.append((t0, reply["master_time"], time.time()))
        found = clock.offset_from_pings(pings)
        if found is not None:
            recorder.clock_rtt, recorder.clock_offset = found

    def ship(self, runner, recorder: Recorder) -> None:
        """Send every row in chunks, then say done with what was sent."""
        rows = recorder.take_rows()
        for start in range(0, len(rows), SHIP_ROWS):
            runner.send_message("eb_records", rows[start : start + SHIP_ROWS])
        runner.send_message(
            "eb_done",
            {
                "rows_sent": len(rows),
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "clock_offset_s": recorder.clock_offset,
                "clock_rtt_s": recorder.clock_rtt,
                "fingerprint": fingerprint(),
            },
        )


# --- the master's side --------------------------------------------------------------------


class RollCall:
    """The master: who took part, what each shipped, and when the point may end."""

    def __init__(self) -> None:
        self.environment = None
        self.records = "requests.csv"
        self.workers: dict[str, dict] = {}  # by locust node id
        self.files: dict[str, tuple] = {}
        self.released = Event()
        self.ending = False

    def register(self, environment, records: str) -> None:
        self.environment, self.records = environment, records
        runner = environment.runner
        runner.register_message("eb_clock", self.clock_ping)
        runner.register_message("eb_ready", self.worker_ready)
        runner.register_message("eb_records", self.worker_records)
        runner.register_message("eb_done", self.worker_done)

    def worker(self, node_id: str) -> dict:
        index = self.environment.runner.get_worker_index(node_id)
        return self.workers.setdefault(node_id, {"index": index, "done": False})

    def clock_ping(self, environment, msg, **_kwargs) -> None:
        reply = {"t0": msg.data["t0"], "master_time": time.time()}
        environment.runner.send_message("eb_clock_reply", reply, client_id=msg.node_id)

    def worker_ready(self, environment, msg, **_kwargs) -> None:
        """Release every worker's users together, once all of them have spawned theirs."""
        self.worker(msg.node_id)["ready"] = True
        ready = sum(1 for w in self.workers.values() if w.get("ready"))
        if ready >= environment.runner.worker_count and not self.released.is_set():
            self.released.set()
            environment.runner.send_message("eb_go")

    def worker_records(self, environment, msg, **_kwargs) -> None:
        """Write a worker's shipped rows to its own requests.w<index>.csv."""
        worker = self.worker(msg.node_id)
        if msg.node_id not in self.files:
            base = Path(self.records)
            path = base.with_name(f"{base.stem}.w{worker['index']}{base.suffix}")
            file = open(path, "w", newline="")  # noqa: SIM115 (closed in write_roll)
            writer = csv.writer(file)
            writer.writerow(REQUEST_FIELDS)
            self.files[msg.node_id] = (file, writer)
            worker["file"] = path.name
        file, writer = self.files[msg.node_id]
        writer.writerows(msg.data)
        file.flush()
        worker["rows_received"] = worker.get("rows_received", 0) + len(msg.data)

    def worker_done(self, environment, msg, **_kwargs) -> None:
        """End the run once every worker has shipped its share of the point.

        Workers never quit on their own: the master would hand their users to the others.
        """
        self.worker(msg.node_id).update(msg.data, done=True)
        self.quit_when_all_done()

    def quit_when_all_done(self) -> None:
        runner = self.environment.runner
        expected = self.environment.parsed_options.expect_workers
        if len(self.workers) < max(runner.worker_count, expected):
            return
        if all(w["done"] or w.get("lost") for w in self.workers.values()):
            runner.quit()

    def watch(self) -> None:
        """End the point when a worker goes missing: its share can no longer arrive."""
        runner = self.environment.runner
        while True:
            gevent.sleep(1.0)
            lost = {c.id for c in runner.clients.missing}
            lost |= {
                n for n, w in self.workers.items() if not w["done"] and n not in runner.clients
            }
            lost -= {n for n, w in self.workers.items() if w.get("lost")}
            if lost:
                for node_id in lost:
                    self.worker(node_id)["lost"] = True
                self.end_early(f"load-generator worker lost mid-point: {sorted(lost)}")

    def joined(self, client_id, **_kwargs) -> None:
        """A worker that joins once the users are out makes locust move users between workers."""
        if self.released.is_set():
            self.worker(client_id)["late"] = True
            self.end_early(f"load-generator worker joined mid-point: {client_id}")

    def end_early(self, reason: str) -> None:
        """The others stop and ship what they have, then the master quits: the point is invalid."""
        logging.error(reason)
        if self.ending:
            return
        self.ending = True
        runner = self.environment.runner
        for node_id, worker in self.workers.items():
            if not worker.get("lost") and not worker["done"]:
                runner.send_message("eb_stop", client_id=node_id)
        gevent.spawn_later(STOP_GRACE_S, runner.quit)
        self.quit_when_all_done()

    def write_roll(self) -> None:
        """workers.json: who took part, what each said it sent and what arrived."""
        for file, _writer in self.files.values():
            file.close()
        roll = {
            "expected": self.environment.parsed_options.expect_workers,
            "fingerprint": fingerprint(),
            "workers": self.workers,
        }
        path = Path(self.records).with_name("workers.json")
        path.write_text(json.dumps(roll, indent=2, sort_keys=True) + "\n")


LINK = WorkerLink()
ROLL = RollCall()
