"""Samples the server's and the load generator's process trees while a point runs.

Memory is PSS summed over the tree (shared pages split fairly between forked
workers, so N workers are not counted N times), falling back to RSS where PSS
cannot be read. CPU is cumulative user+system seconds over the tree; rates are
derived later from the series.
"""

from __future__ import annotations

import csv
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from echobench import processes

INTERVAL_S = 0.25
MB = 1024 * 1024


@dataclass
class Sample:
    t: float
    phase: str
    server_alive: bool
    server_procs: int
    server_pss_mb: float | None
    server_rss_mb: float | None
    server_cpu_s: float | None
    loadgen_cpu_s: float | None
    db_cpu_s: float | None = None  # io = db: PostgreSQL's postmaster and backends (ns clock)


def _memory(proc: psutil.Process) -> tuple[float, float]:
    try:
        info = proc.memory_full_info()
        return info.pss, info.rss
    except (psutil.AccessDenied, AttributeError):
        rss = proc.memory_info().rss
        return rss, rss


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def measure_tree(
    tree: list[psutil.Process],
) -> tuple[int, float | None, float | None, float | None]:
    """(process count, PSS MB, RSS MB, CPU seconds) summed over a process tree."""
    count, pss, rss, cpu = 0, 0.0, 0.0, 0.0
    for proc in tree:
        try:
            p_pss, p_rss = _memory(proc)
            cpu += _cpu(proc)
        except psutil.Error:
            continue
        count += 1
        pss += p_pss
        rss += p_rss
    if not count:
        return 0, None, None, None
    return count, pss / MB, rss / MB, cpu


def tree_cpu_ns(tree: list[psutil.Process]) -> float | None:
    """CPU seconds summed over a tree from each process's /proc/<pid>/schedstat (the
    scheduler's nanosecond count; the clock-tick figure psutil reads moves in 10 ms steps,
    coarser than a PostgreSQL backend's whole window). Falls back to those ticks."""
    if not tree:
        return None
    total = 0.0
    for proc in tree:
        try:
            with open(f"/proc/{proc.pid}/schedstat") as stat:
                total += int(stat.read().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            try:
                total += _cpu(proc)
            except psutil.Error:
                continue
    return total


class Sampler:
    """A background thread writing one Sample every INTERVAL_S."""

    def __init__(self, server_pid: int, database=None, beside: tuple[int, ...] = ()) -> None:
        self.server_pid = server_pid
        # processes sampled as part of the server: nginx in front of it (a `+nginx` config)
        self.beside = beside
        self.database = database  # io = db: an EmbeddedPostgres, sampled like the server
        self.loadgen_pid: int | None = None
        self.phase = "idle"
        self.samples: list[Sample] = []
        self.pids_seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def _tree(self, pid: int | None) -> list[psutil.Process]:
        tree = processes.tree(pid) if pid is not None else []
        self.pids_seen.update(p.pid for p in tree)
        return tree

    def sample(self) -> Sample:
        server = [p for pid in (self.server_pid, *self.beside) for p in self._tree(pid)]
        count, pss, rss, cpu = measure_tree(server)
        loadgen_cpu = measure_tree(self._tree(self.loadgen_pid))[3]
        db_cpu = tree_cpu_ns(self.database.members()) if self.database else None
        sample = Sample(time.time(), self.phase, count > 0, count, pss, rss, cpu, loadgen_cpu,
                        db_cpu)  # fmt: skip
        self.samples.append(sample)
        return sample

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.sample()
            self._stop.wait(max(0.0, INTERVAL_S - (time.monotonic() - started)))

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join(timeout=5)
        return self.samples


def write_samples(samples: list[Sample], path: Path) -> None:
    with open(path, "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(Sample.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(asdict(s) for s in samples)
