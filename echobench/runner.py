"""The bench pipeline: for each point, spec -> server -> verify -> load -> samples -> row.

Each point gets a freshly started server. Whatever goes wrong inside a point (the
server does not start, answers wrongly, dies, locust hangs) is written into that
point's row and the run goes on; Ctrl-C or SIGTERM stops the current point's
processes, keeps every completed point, and marks the run `interrupted`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from echobench import (
    client_cost,
    database,
    environment,
    faults,
    metrics,
    probe,
    rawclient,
    results,
    stats,
    terminal,
    verdict,
)
from echobench.loadgen import CPU_WARNING, LoadSetup, LocustProcess, worker_problems
from echobench.options import RunOptions
from echobench.point import Point
from echobench.profiles import Profile
from echobench.sampler import Sampler, write_samples
from echobench.server import ExternalServer, Server, ServerError
from echobench.terminal import fmt_duration
from echobench.verdict import Problem, remark
from servers.database import PoolSettings

IDLE_SAMPLE_S = 1.0


@dataclass
class Run:
    run_id: str
    profile: Profile
    run_dir: Path
    rows: list[dict] = field(default_factory=list)
    started: str = field(default_factory=lambda: _now())
    status: str = "running"
    ended: str | None = None
    meta: dict = field(default_factory=environment.describe)
    calibration: dict = field(default_factory=dict)
    options: RunOptions = field(default_factory=RunOptions)
    # io = db points: the user's PostgreSQL (checked), else one embedded for the run
    database: database.ExternalPostgres | database.EmbeddedPostgres | None = None

    def calibrate(self, row: dict) -> None:
        """Keep every valid zero-delay point as a sample: R0 per config is the median of its
        samples, and the load generator's ceiling the median of what each implies."""
        if not row["valid"] or not row.get("rps"):
            return
        self.calibration.setdefault("samples", []).append({
            "point_id": row["point_id"], "config": row["config"], "io": row.get("io", "sleep"),
            "r0_rps": row["rps"], "loadgen_ceiling_rps": verdict.loadgen_ceiling_rps(row),
            "client_bound": bool(row.get("loadgen_bound")),
            "r0_minimal_rps": row.get("r0_minimal_rps"),
            "minimal_bound": (row.get("r0_minimal_cpu_pct") or 0) >= rawclient.BOUND_PCT,
        })  # fmt: skip
        self.calibration.update(verdict.calibration_figures(self.calibration["samples"]))

    def metadata(self) -> dict:
        return {
            "schema_version": results.SCHEMA_VERSION,
            "run_id": self.run_id,
            "profile": {
                "seed": self.profile.seed,
                "name": self.profile.name,
                "source": self.profile.source,
                "description": self.profile.description,
                "repeat": self.profile.repeat,
                **({"advice": self.profile.advice} if self.profile.advice else {}),
            },
            "matrix": [p.describe() for p in self.profile.points],
            "started": self.started,
            "ended": self.ended,
            "status": self.status,
            "points_total": len(self.profile.points),
            "points_done": len(self.rows),
            "calibration": self.calibration,
            "target": self.options.target,
            "bind": self.options.server_host,
            "loadgen": self.options.loadgen.describe(),
            "database": self.database.describe() if self.database else None,
            "pool_timeout_s": self.options.pool_timeout_s if self.database else None,
            **self.meta,
        }

    def save(self) -> None:
        results.write_summary(self.rows, self.run_dir / "summary.csv")
        if self.rows:
            # read back: the CSV round trip gives the same dtypes every reader sees
            summary = results.load_summary(self.run_dir)
            results.atomic_write(
                self.run_dir / "aggregate.csv", stats.aggregate(summary).to_csv(index=False)
            )
        results.write_json(self.metadata(), self.run_dir / "run.json")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id(profile: Profile) -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{profile.name}"


def _base_row(run: Run, point: Point) -> dict:
    cfg = point.config
    return {
        "run_id": run.run_id,
        "point_id": point.point_id,
        "config": cfg.id,
        "model": cfg.model,
        "server": cfg.server,
        "workers": cfg.workers,
        "threads": cfg.threads,
        "capacity": point.slots,
        "parallel": cfg.parallel,
        "io": point.io,
        "pool": point.pool or None,
        "db_max_connections": point.db_connections or None,
        "scenario": point.scenario,
        "users": point.users,
        "delay_s": point.delay_s,
        "work_ms": point.work_ms,
        "cores": point.cores,
        "offered_rps": point.rate,
        "repeat": point.repeat,
    }


def measure_point(
    point: Point,
    raw: Path,
    options: RunOptions | None = None,
    db: database.ExternalPostgres | database.EmbeddedPostgres | None = None,
) -> tuple[dict, list[Problem]]:
    """Run one point; its measured figures and the problems found (empty when clean).

    With a target URL the server is someone else's: verified, not started or sampled.
    An io = db point's server waits on `db`, which is sampled with it.
    """
    options = options or RunOptions()
    loadgen = options.loadgen
    raw.mkdir(parents=True, exist_ok=True)
    results.write_json({**point.describe(), "loadgen": loadgen.describe()}, raw / "point.json")
    uses_db = point.io == "db" and not options.target
    problems = _ready_database(db) if uses_db else []
    if any(p.invalidates for p in problems):
        return {}, problems
    server = _server(point, raw, options, db if uses_db else None)
    sampler: Sampler | None = None
    load: LocustProcess | None = None
    companion = None  # slow clients or a worker's kill, beside the load (faults.py)
    try:
        server.start()
        server.verify()
        sampler = Sampler(server.pid, db if uses_db else None, server.beside).start()
        time.sleep(IDLE_SAMPLE_S)
        sampler.phase = "load"
        companion = faults.for_point(point, server, raw)
        if companion is not None:
            companion.start()
        load = LocustProcess(point, server.url, raw, loadgen)
        sampler.loadgen_pid = load.start()
        problems += _load_problems(load.wait(), loadgen) + worker_problems(raw)
        if point.scenario_def.calibrates and not options.target:  # R0's second opinion
            rawclient.measure_r0(server.host, server.port, raw)
        killed = point.scenario_def.companion == "worker_kill"
        problems += _survival_problems(server, db if uses_db else None, options.target, killed)
    except ServerError as exc:
        problems.append(Problem(verdict.SERVER, str(exc)))
    finally:
        _stop_and_keep(raw, server, sampler, load, companion)
    failed_fault = faults.read(raw).get("error")
    if failed_fault:
        problems.append(Problem(verdict.FAULT, f"the fault was not made: {failed_fault}"))
    if not metrics.record_files(raw):
        return {}, problems
    row = row_from_raw(point, raw, loadgen.local_processes)
    if point.scenario_def.fixed_requests and row.get("requests") not in (None, point.users):
        problems.append(
            Problem(
                verdict.BURST_COUNT, f"a burst of {point.users} sent {row['requests']} requests"
            )
        )
    return row, problems


def _server(point: Point, raw: Path, options: RunOptions, db) -> Server | ExternalServer:
    """The point's fresh server (waiting on `db` for io = db), or the user's target."""
    if options.target:
        return ExternalServer(point.config, options.target)
    settings = PoolSettings(db.url, point.pool, options.pool_timeout_s) if db else None
    return Server(point.config, host=options.server_host, delay_s=point.delay_s,
                  log_path=raw / "server.log", db=settings, app=point.app)  # fmt: skip


def _load_problems(outcome, loadgen: LoadSetup) -> list[Problem]:
    """What locust's run says went wrong: no workers, a hang, an exit code, a CPU warning."""
    found = []
    if outcome.no_workers:
        found.append(
            Problem(
                verdict.LOADGEN,
                f"fewer than {loadgen.workers} locust workers connected within "
                f"{loadgen.wait_s:g} s (is `echobench loadgen-worker` running?)",
            )
        )
    elif outcome.timed_out:
        found.append(Problem(verdict.LOADGEN, "locust did not finish in time and was stopped"))
    elif outcome.returncode not in (0, None):
        found.append(Problem(verdict.LOADGEN, f"locust exited with code {outcome.returncode}"))
    if outcome.cpu_warning:
        found.append(remark(verdict.LOADGEN_CPU, f"locust warned: {CPU_WARNING}"))
    return found


def _survival_problems(server, db, target: str | None, killed: bool = False) -> list[Problem]:
    """Whether the server and the database lived through the point (a server the point
    killed on purpose is a remark); a target's remark."""
    found = []
    if not server.alive():
        said = f"server died mid-point (exit code {server.proc.returncode})"
        found.append(remark(verdict.KILLED, "the kill took the whole server down: " + said)
                     if killed else Problem(verdict.SERVER, said))  # fmt: skip
    if db is not None and not db.alive():
        found.append(
            Problem(verdict.DATABASE, f"PostgreSQL died mid-point (exit code {db.proc.returncode})")
        )
    if target:
        found.append(remark(verdict.EXTERNAL, "external target: server memory and CPU not "
                            "sampled, not restarted between points"))  # fmt: skip
    return found


def _stop_and_keep(raw: Path, server, sampler: Sampler | None, load: LocustProcess | None,
                   companion=None) -> None:  # fmt: skip
    """Stop locust, the point's companion and the server; keep the samples and every PID
    the point had."""
    if load is not None:
        load.stop()
    if companion is not None:
        companion.stop()
    samples = sampler.stop() if sampler else []
    server.stop()
    if samples:
        write_samples(samples, raw / "samples.csv")
    owners = (server, load, companion, getattr(server, "nginx", None))
    pids = sorted((sampler.pids_seen if sampler else set()) | _pids(*owners))
    results.write_json({"pids": pids}, raw / "pids.json")


def _ready_database(db) -> list[Problem]:
    """Problems starting the database of an io = db point; a dead one is restarted."""
    if db is None:
        return [Problem(verdict.DATABASE, "an io = db point, and no database for it")]
    restarted = db.proc is not None and not db.alive()
    code = db.proc.returncode if restarted else None
    try:
        db.start()
    except database.DatabaseError as exc:
        return [Problem(verdict.DATABASE, f"PostgreSQL could not start: {exc}")]
    if restarted:
        said = f"PostgreSQL had died (exit code {code}); restarted for this point"
        return [remark(verdict.DATABASE_RESTART, said)]
    return []


def _pids(*owners) -> set[int]:
    return {o.proc.pid for o in owners if o is not None and o.proc is not None}


def row_from_raw(point: Point, raw: Path, local_processes: int | None = None) -> dict:
    """The measured figures of a point, from its raw folder alone.

    The locust processes on this machine come from its point.json unless given.
    """
    if local_processes is None:
        path = raw / "point.json"
        described = json.loads(path.read_text()) if path.exists() else {}
        setup = described.get("loadgen") or {  # older runs kept it on every point
            "processes": described.get("loadgen_processes", 1),
            "external_workers": described.get("loadgen_workers", 0),
        }
        local_processes = LoadSetup.from_description(setup).local_processes
    samples_path = raw / "samples.csv"
    samples = pd.read_csv(samples_path) if samples_path.exists() else pd.DataFrame()
    requests, marks = metrics.read_point(raw)
    if "error" in marks:
        return {}
    marks["companion"] = faults.read(raw)  # what the slow clients or the kill did
    marks["r0_minimal"] = rawclient.read(raw)  # a calibration's minimal client
    return _figures(point, requests, marks, samples, local_processes)


def _figures(
    point: Point,
    requests: pd.DataFrame,
    marks: dict[str, float],
    samples: pd.DataFrame,
    local_processes: int,
) -> dict:
    """The measured figures of one point; bookkeeping (ids, validity) is added by the runner.

    `local_processes`: the locust processes on this machine, whose CPU the sampler sums.
    """
    row, measured, start, stop = point.scenario_def.summarize(point, requests, marks)
    timed = measured["outcome"].isin(["ok", "ok_censored"])
    row.update(metrics.percentiles(measured[timed]["latency_ms"]))
    answered = measured[measured["outcome"] == "ok"]
    row.update(metrics.worker_figures(answered, point.config.workers))
    row.update(metrics.db_figures(answered))
    if start is not None and stop is not None and len(samples):
        row.update(metrics.server_figures(samples, start, stop))
    row["loadgen_cpu_peak_pct"] = metrics.loadgen_cpu_peak_pct(samples, marks, local_processes)
    row["loadgen_cpu_us_per_request"] = metrics.loadgen_cpu_us_per_request(marks)
    return metrics.none_if_nan(row)


def execute(run: Run, console: Console | None = None) -> Run:
    """Measure every point of the run's profile, saving after each one."""
    console = console or Console(stderr=True)
    points = run.profile.points
    run.save()
    expected_total = sum(p.expected_s for p in points)
    progress = Progress(
        TextColumn("[bold]{task.completed}/{task.total}[/] {task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA {task.fields[eta]}"),
        console=console,
        transient=False,
    )
    started = time.monotonic()
    try:
        if points and run.profile.client_cost:  # inside: an interrupt here still ends the run
            run.meta["client_cost"] = client_cost.measure_or_say(
                run.run_dir / "client-cost", console
            )
            run.save()
        if points and points[0].app is not None:  # the app's own D and c, for the model
            points = run.profile.points = probe.probe(run, console, measure_point)
            run.save()
        with progress:
            task = progress.add_task("", total=len(points), eta=fmt_duration(expected_total))
            for i, point in enumerate(points):
                remaining = sum(p.expected_s for p in points[i:])
                progress.update(
                    task, description=terminal.describe(point), eta=fmt_duration(remaining)
                )
                if not console.is_terminal:  # logs get one line per point instead of a live bar
                    elapsed = fmt_duration(time.monotonic() - started)
                    console.print(
                        f"[{i + 1}/{len(points)}] {terminal.describe(point)} "
                        f"(elapsed {elapsed}, ETA {fmt_duration(remaining)})"
                    )
                raw = run.run_dir / "raw" / point.point_id
                measured, problems = measure_point(point, raw, run.options, run.database)
                row = {**_base_row(run, point), **measured}
                if point.scenario_def.calibrates:
                    row = verdict.judge_calibration(row, problems)
                    run.calibrate(row)
                else:
                    ceiling = run.calibration.get("loadgen_ceiling_rps")
                    samples = run.calibration.get("loadgen_ceiling_samples", 0)
                    gap = verdict.model_gap(row)
                    row = verdict.judge(row, [*problems, *([gap] if gap else [])],
                                        point.timings.demanded_rps, ceiling, samples)  # fmt: skip
                run.rows.append(row)
                run.save()
                line = terminal.point_line(row, point.scenario_def.headline)
                progress.console.print(line if row["valid"] else f"[yellow]{line}")
                progress.advance(task)
        run.status = "complete"
    except KeyboardInterrupt:
        run.status = "interrupted"
        raise
    except BaseException:
        run.status = "failed"
        raise
    finally:
        if run.database is not None:
            run.database.stop()
        run.ended = _now()
        run.meta["elapsed_s"] = round(time.monotonic() - started, 1)
        run.save()
    return run
