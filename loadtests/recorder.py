"""Per-request records of one locust process, and its clock.

Every request is recorded twice: a `send` row before it leaves and a `done` row when
it ends (ok, failed or timeout). A request cut off when the point ends has a `send`
and no `done`, so it counts as unfinished: nothing sent vanishes, whatever locust's
own stats keep. `mark` rows carry the release, a `tick` each second and the end, with
this process's CPU clock. A local run keeps its rows in memory and writes them to its
file at each mark (so at least once a second) and when it quits, never one system call
per request on the hot path; a locust process killed outright loses at most its last
second, and the point's `end` mark is then missing, which the point reports. A
distributed worker keeps its rows and ships them to the master, stamped in its clock.
"""

from __future__ import annotations

import csv
import resource
import time

from echobench.records import REQUEST_FIELDS


class Recorder:
    """This process's rows, request numbers and clock offset to the master."""

    def __init__(self) -> None:
        self.file = None
        self.writer = None
        self.rows: list[list] | None = None  # a worker: kept for the master
        self.pending: list[list] = []  # a local run: rows not yet written
        self.shipped = False  # a worker's share is over: later answers stay unfinished
        self.clock_offset = 0.0
        self.clock_rtt: float | None = None
        self.next_id = 0

    def write_to(self, path: str) -> None:
        self.file = open(path, "w", newline="")  # noqa: SIM115 (closed by close())
        self.writer = csv.writer(self.file)
        self.writer.writerow(REQUEST_FIELDS)
        self.file.flush()

    def keep_rows(self) -> None:
        self.rows = []

    def now(self) -> float:
        """Wall-clock time, in the master's clock on a worker."""
        return time.time() + self.clock_offset

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def record(self, event: str, **fields) -> None:
        if self.shipped:
            return
        row = [event, *(fields.get(name, "") for name in REQUEST_FIELDS[1:])]
        (self.rows if self.rows is not None else self.pending).append(row)

    def write_pending(self) -> None:
        """A local run's rows so far, to its file in one write."""
        if self.writer is not None and self.pending and not self.file.closed:
            rows, self.pending = self.pending, []
            self.writer.writerows(rows)
            self.file.flush()

    def mark(self, name: str, error: str = "") -> None:
        """A point in time, with this process's CPU seconds so far (exact load-generator cost)."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu_s = f"{usage.ru_utime + usage.ru_stime:.6f}"
        self.record("mark", kind=name, sent_at=self.now(), error=error, cpu_s=cpu_s)
        self.write_pending()

    def take_rows(self) -> list[list]:
        """A worker's rows, once: nothing recorded after this is kept."""
        rows, self.shipped = self.rows or [], True
        return rows

    def close(self) -> None:
        if self.file is not None and not self.file.closed:
            self.write_pending()
            self.file.close()


RECORDER = Recorder()
