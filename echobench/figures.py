"""Every summary.csv column declared once: its name, its meaning, and how it is shown.

`COLUMNS` (summary.csv's order), the report's headings and digits, the progress line's
headline text, the figures repeats are aggregated over, and the schema table in
results/README.md (`python -m echobench.figures` prints it; a test holds the doc to it)
all read this table, so a figure cannot be in one and missing from another. A
scenario's own figures (its `figures`) are appended after these.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    meaning: str  # its cell in the schema table
    row: str = ""  # the schema row it shares with its group ("" : its own, by name)
    heading: str = ""  # in the report's tables
    digits: int = 0  # decimals there
    says: str = ""  # a headline on the progress line: "{:.1f} req/s"
    short: str = ""  # its heading in the end-of-run table on the terminal
    aggregated: bool = False  # repeats give its median and quartiles (aggregate.csv)
    scenarios: tuple[str, ...] = ()  # the scenarios that have it; () every one

    def shown(self, value) -> str:
        """The value as the report's tables write it ("" when missing)."""
        if value is None or (isinstance(value, float) and value != value):
            return ""
        return f"{value:.{self.digits}f}" if isinstance(value, float) else str(value)


def group(names: tuple[str, ...], meaning: str, row: str = "", each: dict | None = None,
          **shared) -> list[Figure]:  # fmt: skip
    """Figures documented in one schema row; `each` gives a member its own fields."""
    label, each = row or ", ".join(names), each or {}
    return [Figure(name, meaning, row=label, **shared, **each.get(name, {})) for name in names]


FIGURES: list[Figure] = [
    *group(
        ("run_id", "point_id"),
        "identifiers (see above)",
    ),
    *group(
        ("config", "model", "server"),
        "config id (`flask-sync-8`; `+nginx` with nginx in front, `+limitN` admitting at most N "
        "at once: `flask-sync-4+nginx+limit4`), its concurrency model (`sync`, `threads`, "
        "`gevent`, `async`, `threadpool`, `blocking`), the server program (`gunicorn`, "
        "`uvicorn`, `granian`, `hypercorn`, `waitress`)",
    ),
    *group(
        ("workers", "threads"),
        "server processes serving requests; threads per worker where the model has them",
    ),
    Figure(
        "capacity",
        "the model's slot count K at this point (`inf` for an event loop): the config's slots, or "
        "with `io = db` min(slots, workers x pool, db_max_connections)",
    ),
    Figure(
        "parallel",
        "P, the config's processes that can compute at once (threads and greenlets of one process "
        "share its GIL and count 1)",
    ),
    Figure(
        "scenario",
        "`burst`, `steady`, `mixed`, `open`, `overload`, `slow`, `crash` or `calibrate`",
    ),
    Figure(
        "users",
        "burst: n simultaneous requests; steady/mixed/crash/calibrate: C closed-loop users; open, "
        "overload and slow: the pool of senders",
    ),
    Figure(
        "delay_s",
        "D, the echo's wait (0 for calibrate)",
    ),
    Figure(
        "work_ms",
        "c, the CPU each echo burns after its wait (the contract's `work=`; 0: none)",
    ),
    Figure(
        "cores",
        "M, the machine's logical cores, which the model's CPU bound uses",
    ),
    Figure(
        "io",
        "how the echo waits D: `sleep`, or `db`, one `SELECT <field>::text FROM pg_sleep(D)` on "
        "PostgreSQL through a connection pool (runs made before it are read as `sleep`)",
    ),
    Figure(
        "pool",
        "`io = db`: database connections in each server process's pool (fixed size, opened before "
        "the server is ready); empty for sleep",
    ),
    Figure(
        "db_max_connections",
        "`io = db`: the connections the database accepts for echobench's role (the embedded "
        "server's `max_connections`, 100, or what `--db-url`'s server reported); empty for sleep",
    ),
    Figure(
        "offered_rps",
        "open-loop scenarios: λ, the scheduled arrival rate (overload: a multiple of the bare "
        "config's capacity)",
        scenarios=("open", "overload", "slow"),
        heading="offered rps",
        digits=1,
    ),
    Figure(
        "repeat",
        "1..N",
    ),
    Figure(
        "requests",
        "burst: all n requests; steady/mixed/calibrate: echoes *sent* inside the measurement "
        "window; open: arrivals *scheduled* inside it, sent or not",
    ),
    *group(
        ("ok", "failed", "timeouts", "unfinished"),
        "outcome of those requests: answered with the exact expected bytes; wrong status, wrong "
        "body or connection error; client timeout; still in flight when the point ended",
    ),
    Figure(
        "duration_s",
        "burst: the makespan; steady/mixed: the window length",
    ),
    Figure(
        "rps",
        "burst: ok / makespan; steady/mixed: ok answers *completed* inside the window / window",
        says="{:.1f} req/s",
        aggregated=True,
        heading="rps",
        digits=1,
        short="rps",
    ),
    Figure(
        "ideal_rps",
        "burst: n / ideal makespan; steady/mixed: min( min(C, K) / (D + c), min(P, M) / c ) (the "
        "second term only when c > 0); open: min(λ, that capacity with C unbounded); calibrate: "
        "empty (it measures what the model takes as given)",
        heading="ideal rps",
        digits=1,
        short="ideal",
    ),
    *group(
        ("makespan_s", "ideal_makespan_s"),
        "burst only: first request sent (its last byte, at the release) to last answer; the larger"
        " of ceil(n / K) x (D + c) and, with CPU work, D + max(ceil(n / P) x c, n x c / M)",
        scenarios=("burst",),
        each={
            "makespan_s": {
                "heading": "makespan s",
                "digits": 3,
                "aggregated": True,
                "says": "{:.3f} s makespan",
                "short": "makespan s",
            },
            "ideal_makespan_s": {"heading": "ideal s", "digits": 3},
        },
    ),
    Figure(
        "send_spread_ms",
        'burst only: first to last send of its n requests, in ms: how much of a "simultaneous" '
        "burst (and of its makespan) was the client's own. Since the last-byte release, a send is "
        "its request's last byte, so this is the length of the release loop (runs before it timed "
        "each user's whole request, connect included)",
        heading="send spread ms",
        scenarios=("burst",),
    ),
    Figure(
        "send_lag_p99_ms",
        "open only: the p99 over the window's sent arrivals of how late each left against its "
        "schedule (sent_at - intended_at), in ms: the open loop's send spread. It grows with the "
        "client's own cost, and when every sender is busy waiting on a slow server (the pool of "
        "senders is 3 x the ideal requests in flight + 10). Added to the committed "
        "`reference-open` summary from its raw records",
        heading="send lag p99 ms",
        digits=1,
        scenarios=("open",),
    ),
    Figure(
        "efficiency",
        "measured / ideal rate (burst: ideal makespan / makespan); 1.0 is the model's ideal",
        aggregated=True,
        heading="efficiency",
        digits=3,
        short="eff",
    ),
    *group(
        ("p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"),
        "latency percentiles (linear interpolation) of the ok requests counted in `requests`, from"
        " per-request timings (microseconds), never locust's buckets. Open loop: from each "
        "request's intended send time, and a request still unanswered at the end counts at its age"
        " then (a lower bound)",
        row="p50_ms ... max_ms",
        each={
            "p50_ms": {"aggregated": True, "heading": "p50 ms", "short": "p50 ms"},
            "p99_ms": {
                "aggregated": True,
                "says": "p99 {:.0f} ms",
                "heading": "p99 ms",
                "short": "p99 ms",
            },
        },
    ),
    Figure(
        "ideal_latency_ms",
        "steady/mixed: C / ideal_rps and at least D + c (without work: D x max(1, C / K)); open: D"
        " + c while λ is within the capacity, else empty (the queue grows without bound)",
    ),
    Figure(
        "answered_in_bound_share",
        "open only: the share of the window's arrivals answered (ok) within 2 x (D + c) of their "
        "intended send time; what an open loop is judged by (its rate sits at capacity when "
        "overloaded). Added to the committed `reference-open` summary from its raw records",
        heading="in 2(D+c)",
        digits=2,
        scenarios=("open", "overload", "slow"),
        aggregated=True,
        says="{:.2f} answered in time",
    ),
    *group(
        ("goodput_rps", "refused_share", "refused_p50_ms", "latency_growth_ms_per_s"),
        "open-loop scenarios (open, overload, slow): the window's arrivals answered within 2 x (D "
        "+ c) per second of the window; the share refused (a 503, or a connection refused, reset "
        "or closed before any answer) and the median time, from the intended send, that a "
        "refusal took; the least-squares slope of the ok answers' latency against their "
        "intended send time, in ms per s (about 0 for a steady queue; a queue that grows "
        "without bound shows as a rise)",
        scenarios=("open", "overload", "slow"),
        each={
            "goodput_rps": {
                "heading": "goodput rps",
                "digits": 1,
                "aggregated": True,
                "says": "goodput {:.1f} req/s",
            },
            "refused_share": {"heading": "refused", "digits": 2},
            "refused_p50_ms": {"heading": "refused p50 ms", "digits": 1},
            "latency_growth_ms_per_s": {"heading": "latency growth ms/s", "digits": 0},
        },
    ),
    Figure(
        "ideal_growth_ms_per_s",
        "overload only: the model's growth of that latency, 1000 x (λ - μ) / μ ms per s with μ "
        "the capacity, when every arrival is admitted; 0 when the config's `+limitN` refuses the "
        "excess",
        scenarios=("overload",),
    ),
    *group(
        ("slow_kind", "slow_clients"),
        "slow only: the kind of the slow clients (`headers`: a byte of headers a second; "
        "`body`: a POST body a byte a second; `read`: a 1 MiB answer read 1 KiB a second; "
        "`idle`: one request on a kept-alive connection, then nothing; empty with none) and S, "
        "how many were held through the point",
        scenarios=("slow",),
        each={"slow_clients": {"heading": "S"}},
    ),
    *group(
        ("slow_open", "slow_refused", "slow_closed", "slow_closed_after_s", "server_connections"),
        "slow only: the most slow connections open at once; those the server refused; those it "
        "closed before the point ended, and the median seconds they lasted; the most ESTABLISHED "
        "sockets on the port the clients connect to (the server's, or nginx's in front), sampled "
        "every 0.5 s by the slow clients' driver",
        scenarios=("slow",),
        each={
            "slow_open": {"heading": "slow open"},
            "server_connections": {"heading": "server sockets"},
        },
    ),
    Figure(
        "held_ideal_rps",
        "slow only: the model's rate for the fast stream if every slow client held a slot: "
        "min(λ, (K - S) / (D + c)), 0 when S >= K (an event loop: λ)",
        scenarios=("slow",),
    ),
    *group(
        ("lost_requests", "failed_after_kill", "recovery_s", "respawn_s", "killed_whole_server"),
        "crash only: requests in flight at the kill that failed, timed out or never ended; "
        "requests sent after it, in the window, that did; seconds from the kill until a bin of "
        "answers (0.5 s, or 2 x (D + c) if longer) reached 0.9 of the median bin before it "
        "(empty: not within the window); seconds until the server had its number of serving "
        "workers again, each announced once its app is loaded (empty: not within 5 s); true "
        "when the killed process was the whole server (one uvicorn process)",
        scenarios=("crash",),
        each={
            "lost_requests": {"heading": "lost", "aggregated": True, "says": "{:.0f} lost"},
            "recovery_s": {"heading": "recovery s", "digits": 2},
        },
    ),
    *group(
        ("fast_requests", "fast_ok", "fast_p50_ms", "fast_p99_ms", "fast_max_ms"),
        "mixed only: the fast `GET /` stream sent inside the window",
        scenarios=("mixed",),
        each={
            "fast_p50_ms": {
                "heading": "fast p50 ms",
                "aggregated": True,
                "says": "fast page p50 {:.1f} ms",
            },
            "fast_p99_ms": {"heading": "fast p99 ms"},
        },
    ),
    *group(
        ("r0_minimal_rps", "r0_minimal_cpu_pct"),
        "calibrate only: the zero-delay rate the package's minimal client (echobench/"
        "rawclient.py: 64 users on fresh connections for 3 s, right after locust's window, "
        "against the same server) measured, and its own CPU in % of one core (at 90% or more "
        "it may have set the pace itself); R0 is the faster of the two clients that was not "
        "bound (run.json `calibration`)",
        scenarios=("calibrate",),
        each={"r0_minimal_rps": {"heading": "minimal client rps", "digits": 0}},
    ),
    Figure(
        "server_pss_idle_mb",
        "median PSS of the server's process tree over 1 s before load",
    ),
    Figure(
        "server_pss_peak_mb",
        "highest PSS of the tree during the measured phase",
        aggregated=True,
        short="PSS peak MB",
    ),
    Figure(
        "server_cpu_s",
        "CPU seconds (user + system) the server tree used from the start of the measured phase to "
        "its end",
    ),
    Figure(
        "server_cores",
        "server_cpu_s over the time between the two samples it is taken from: the cores the server"
        " had on average, to hold against min(P, M)",
    ),
    Figure(
        "loadgen_cores",
        "the same for this machine's locust processes (the sampler's whole-tree figure): the cores"
        " the load generator took from the server",
    ),
    Figure(
        "workers_seen",
        "distinct server processes named by the `X-Echobench-Worker` header of the ok answers "
        "counted in `requests` (empty for records made before the header)",
    ),
    *group(
        ("busiest_share", "idlest_share"),
        "the share of those answers from the busiest process, and from the idlest of the config's "
        "`workers` (0 when one answered nothing): 0.5 and 0.5 is an even spread over two",
    ),
    *group(
        ("pool_wait_p50_ms", "pool_wait_p99_ms"),
        "`io = db`: how long the ok answers counted in `requests` waited for a pool connection, "
        "median and p99, from each answer's `Server-Timing: pool;dur=` (measured in the server "
        "process)",
    ),
    Figure(
        "query_p50_ms",
        "`io = db`: the median time of their query, from `Server-Timing: db;dur=` (at least D: "
        "`pg_sleep` never ends early)",
    ),
    *group(
        ("db_cpu_s", "db_cores"),
        "`io = db` with the embedded database: CPU seconds PostgreSQL's postmaster and backends "
        "used over the measured phase (from each process's `/proc/<pid>/schedstat`, in "
        "nanoseconds: a backend's whole window is often under the 10 ms tick the server's figure "
        "moves in), and the cores that is on average (empty with `--db-url`: another machine's or "
        "user's processes are not sampled)",
    ),
    Figure(
        "loadgen_cpu_peak_pct",
        "the load generator's CPU in % of one core per locust process from release to end of the "
        "load: the largest of its exact mean (its own CPU clock at the `release` and `end` marks),"
        " its busiest 1 s between its `tick` marks, and its peak over 1 s sampler windows inside "
        "that phase (the sampler sees this machine's locust processes only)",
    ),
    Figure(
        "loadgen_cpu_us_per_request",
        "what the client spent per request it sent, in CPU microseconds: the locust processes' own"
        " CPU clocks (their `release` and `end` marks) summed, over the `send` rows they wrote "
        "with a send time; it includes recording each request. A distributed master sends nothing "
        "and is not counted. It is the CPU taken from the server on a shared machine: multiply by "
        "`rps` for the cores the client took",
    ),
    Figure(
        "loadgen_bound",
        "true when that peak reached 90%, locust warned about its CPU, or a steady, mixed or open "
        "point demanded 80% or more of the calibrated load-generator ceiling (a burst asks no "
        "sustained rate of the client: its requests are written before the release, and its client"
        " cost is the measured peak alone; once that ceiling rests on two calibration samples or "
        "more; on one the note says so, and it decides nothing): the client, not the server, may "
        "have set the pace",
    ),
    Figure(
        "valid",
        "false when the load generator was bound, the server failed to start, answered wrongly, or"
        " died, PostgreSQL could not start or died mid-point (`io = db`), locust failed or hung, a"
        " locust worker was lost, joined mid-point, lost records in transit or ran another "
        "echobench version, a burst sent other than n requests, or nothing was measured (calibrate"
        " points are not invalidated by a busy load generator: their note says R0 is then a lower "
        "bound)",
    ),
    Figure(
        "note",
        "every reason behind `valid`, plus counts of failed / timed-out / unfinished requests; on "
        "a steady or mixed point more than 10% off the model, why, from what was measured (the "
        "busiest worker's share and the rate it caps, the cores the server had, with `io = db` a "
        "query slower than D, an unexpected wait for a connection or PostgreSQL's CPU, the median "
        "latency against the model's); with `io = db`, PostgreSQL dying mid-point (invalid) or "
        "having been restarted for the point",
    ),
]


def by_name(extra: tuple[Figure, ...] = ()) -> dict[str, Figure]:
    return {f.name: f for f in (*FIGURES, *extra)}


def columns(extra: tuple[Figure, ...] = ()) -> list[str]:
    """summary.csv's columns: these, then any scenario's own."""
    return [f.name for f in (*FIGURES, *extra)]


def schema_table(extra: tuple[Figure, ...] = ()) -> str:
    """The schema table of results/README.md, one row per figure or group."""
    lines = ["| column | meaning |", "| --- | --- |"]
    for f in (*FIGURES, *extra):
        label = f.row or f.name
        if lines[-1].startswith(f"| {label} |"):
            continue
        lines.append(f"| {label} | {f.meaning} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(schema_table() + "\n")
