"""docs/findings.md and the README quote the committed reference runs: each figure, recomputed.

Every quoted number is formatted here from the reference summaries exactly as the docs
write it, so an edited number, a remade run or a rounding slip fails this test; the
README's decision summary must be the one generated from the reference runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from echobench import advice, costs, decision, derived, findings, model, results, stats

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
FINDINGS = (ROOT / "docs" / "findings.md").read_text()
STANDARD = results.load_summary(ROOT / "results" / "reference")
OPEN = results.load_summary(ROOT / "results" / "reference-open")
SCALE = results.load_summary(ROOT / "results" / "reference-scale")
CROSS = results.load_summary(ROOT / "results" / "reference-crossover")
SERVERS = results.load_summary(ROOT / "results" / "reference-servers")
DB = results.load_summary(ROOT / "results" / "reference-db")
FAULTS = results.load_summary(ROOT / "results" / "reference-faults")


def flat(text: str) -> str:
    """Text with every run of whitespace one space: a quote may wrap anywhere."""
    return " ".join(text.split())


def rows_of(summary, scenario, config, **where):
    """Every repeat of one point (one row per repeat)."""
    rows = summary[(summary["scenario"] == scenario) & (summary["config"] == config)]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    assert len(rows) and rows["repeat"].is_unique, (scenario, config, where, len(rows))
    return rows


def span(summary, scenario, config, figure, scale=1.0, **where) -> stats.Interval:
    """A point's figure over its repeats: their median and its interval (stats.py)."""
    return stats.median_interval(rows_of(summary, scenario, config, **where)[figure] * scale)


def med(summary, scenario, config, figure, scale=1.0, **where) -> float:
    return span(summary, scenario, config, figure, scale, **where).median


def standard_quotes() -> list[str]:
    """The standard profile's bullets: the classic burst, the steady point of the table,
    memory, CPU work, head-of-line blocking and gthread's caveat, each over 3 repeats."""

    def burst(config, figure, fmt):
        return span(STANDARD, "burst", config, figure, users=200).text(fmt)

    def steady(config, figure="rps", fmt="{:.1f}", users=32, work_ms=0.0):
        return span(STANDARD, "steady", config, figure, users=users, work_ms=work_ms).text(fmt)

    def mixed(config):
        return span(STANDARD, "mixed", config, "fast_p50_ms").text("{:.0f}")

    def alike(config):  # a rate every repeat measured to the same tenth: quoted once
        rate = span(STANDARD, "steady", config, "rps", users=32, work_ms=0.0)
        assert f"{rate.low:.1f}" == f"{rate.high:.1f}" and rate.n == 3, config
        return f"{rate.median:.1f}"

    sync = STANDARD[STANDARD["config"].str.startswith("flask-sync-")]
    idle = sync[sync["scenario"] == "steady"].groupby("workers")["server_pss_idle_mb"].median()
    worker = costs.per_worker(STANDARD)["flask-sync-N"]
    per_request = costs.per_request(STANDARD)
    loops = ("fastapi-async", "flask-gevent-1", "fastapi-threadpool", "flask-gthread-4x8")
    fast = [med(STANDARD, "mixed", c, "fast_p50_ms") for c in loops]
    return [
        f"answered all in {burst('fastapi-async', 'makespan_s', '{:.3f}')} s",
        f"(efficiency {burst('fastapi-async', 'efficiency', '{:.3f}')}",
        f"`flask-gevent-1` (one worker, no code\n  change) in "
        f"{burst('flask-gevent-1', 'makespan_s', '{:.3f}')} s",
        f"`flask-sync-16` took {burst('flask-sync-16', 'makespan_s', '{:.3f}')} s, efficiency "
        f"{burst('flask-sync-16', 'efficiency', '{:.3f}')}",
        "`flask-sync-1`, `-2`, `-4`, `-8` and `-16` answered "
        + ", ".join(alike(f"flask-sync-{n}") for n in (1, 2, 4, 8, 16))
        + " req/s",
        f"`fastapi-async` {steady('fastapi-async')} of\n  320",
        f"{steady('fastapi-async', users=128)} of 1,280 at 128 users",
        f"(`fastapi-threadpool`, {steady('fastapi-threadpool', users=128)} of 400 at 128",
        f"`flask-gthread-4x8` (K = 32 = C) reached\n  "
        f"{steady('flask-gthread-4x8', 'efficiency', '{:.2f}')} of its ideal",
        f"Each sync worker adds {worker.text()} of idle\n  PSS",
        f"(a least-squares fit over {worker.loads} worker counts: 1 worker {idle[1]:.0f} MB, 16 "
        f"workers {idle[16]:.0f} MB)",
        f"each request in flight adds {per_request['fastapi-async'].text()} to one\n  "
        f"`fastapi-async` process",
        f"{per_request['flask-gevent-1'].text()} to `flask-gevent-1`",
        f"held 128 requests in "
        f"{steady('fastapi-async', 'server_pss_peak_mb', '{:.1f}', users=128)} MB",
        f"`fastapi-async` answered {steady('fastapi-async', work_ms=25.0)} of its 40 req/s",
        f"`fastapi-async-2` {steady('fastapi-async-2', work_ms=25.0)} and `flask-sync-16` "
        f"{steady('flask-sync-16', work_ms=25.0)} of 80",
        f"`flask-sync-4` {steady('flask-sync-4', work_ms=25.0)} of 32",
        f"took {mixed('flask-sync-4')} ms at the median on\n  `flask-sync-4` (the model, "
        f"(C - K + 1) x D / K for the last in line: "
        f"{1000 * model.head_of_line_wait_s(8, 4, 0.5):.0f} ms)",
        f"{mixed('fastapi-blocking')} ms on the `async def`",
        f"{min(fast):.2f}-{max(fast):.2f} ms on every non-blocking config",
        f"`flask-gthread-4x8` took {burst('flask-gthread-4x8', 'makespan_s', '{:.2f}')} s",
        "busiest worker held "
        f"{rows_of(STANDARD, 'burst', 'flask-gthread-4x8')['busiest_share'].max():.0%} of the "
        "requests",
    ]


def scale_fit(config: str) -> costs.Fit:
    """The scale run's MB per request in flight: peak PSS over its bursts' requests held."""
    held = derived.with_in_flight(
        SCALE[(SCALE["scenario"] == "burst") & (SCALE["config"] == config)]
    )
    return costs.fit(held["in_flight"], held["server_pss_peak_mb"])


def quoted() -> list[str]:
    sync_open = lambda r: span(OPEN, "open", "flask-sync-4", "p99_ms", 1e-3, offered_rps=r)  # noqa: E731
    scale_burst = lambda c, f, fmt, s=1.0: span(SCALE, "burst", c, f, s, users=10_000).text(fmt)  # noqa: E731
    calibration = results.load_run(ROOT / "results" / "reference-scale")["calibration"]
    r0, r0_range = calibration["r0_rps"], calibration["r0_rps_range"]["fastapi-async"]
    floor = 2 + 10_000 / r0["fastapi-async"]
    bursts = SCALE[(SCALE["scenario"] == "burst") & (SCALE["users"] == 10_000)]
    assert (bursts[["failed", "timeouts", "unfinished"]].sum() == 0).all(), "no failure"
    everything = [STANDARD, OPEN, SCALE, CROSS, SERVERS, DB, FAULTS]
    return [
        f"All {sum(len(s) for s in everything)} points valid",
        *standard_quotes(),
        f"p99\n  of {sync_open(8).text('{:.2f}')} s at 8 req/s, then "
        f"{sync_open(12).text('{:.1f}')} s at 12, {sync_open(16).text('{:.1f}')} s at 16",
        f"{sync_open(90).text('{:.0f}')} s at 90",
        "`fastapi-threadpool` keeps "
        + span(OPEN, "open", "fastapi-threadpool", "p99_ms", 1e-3, offered_rps=70).text("{:.3f}")
        + " s at 70 req/s; at 90 it answers its 40 / D = "
        + span(OPEN, "open", "fastapi-threadpool", "rps", offered_rps=90).text("{:.1f}")
        + " req/s and the p99 grows to "
        + span(OPEN, "open", "fastapi-threadpool", "p99_ms", 1e-3, offered_rps=90).text("{:.2f}")
        + " s",
        "stays at\n  "
        + span(OPEN, "open", "fastapi-async", "p99_ms", 1e-3, offered_rps=90).text("{:.3f}")
        + " s up to 90 req/s",
        f"failure in {scale_burst('fastapi-async', 'makespan_s', '{:.2f}')} s",
        f"floor D + n/R0 = {floor:.2f} s with R0 = {r0['fastapi-async']:,.0f} req/s",
        f"spread from {r0_range[0]:,.0f} to {r0_range[1]:,.0f} req/s",
        f"at up to {SCALE.loc[SCALE['users'] == 10_000, 'loadgen_cpu_peak_pct'].max():.0f}% of "
        "a core",
        f"left within {scale_burst('fastapi-async', 'send_spread_ms', '{:.0f}')} ms",
        f"took {scale_burst('flask-gevent-2', 'makespan_s', '{:.2f}')} s against its model's 10 s",
        f"got {span(SCALE, 'steady', 'fastapi-async', 'rps').text('{:.0f}')} of the ideal "
        "1,000 req/s",
        f"{scale_fit('fastapi-async').text()} per request on `fastapi-async`",
        f"{scale_fit('flask-gevent-2').text()} on `flask-gevent-2`",
        f"held 10,000 in {scale_burst('fastapi-async', 'server_pss_peak_mb', '{:.0f}')} MB",
        *crossover_quotes(),
        *servers_quotes(),
        *db_quotes(),
        *faults_quotes(),
    ]


def _faults(scenario: str, config: str, figure: str, **where) -> stats.Interval:
    """One fault point's figure over its repeats: the median and its interval."""
    return span(FAULTS, scenario, config, figure, **where)


def _share(config: str, **where) -> str:
    """The fast stream's share answered in time, as the docs write it (an interval at
    3 repeats, "(n = 1)" for a single sample)."""
    return _faults("slow", config, "answered_in_bound_share", **where).text("{:.0%}")


def _over(config: str, figure: str) -> stats.Interval:
    """An overload figure at the config's highest offered rate (3 x capacity)."""
    top = FAULTS.loc[FAULTS["config"] == config, "offered_rps"].max()
    return _faults("overload", config, figure, offered_rps=top)


def _growth(config: str) -> str:
    """How much longer the admitted waited every second of the window, in s per s."""
    top = FAULTS.loc[FAULTS["config"] == config, "offered_rps"].max()
    return span(FAULTS, "overload", config, "latency_growth_ms_per_s", 1e-3,
                offered_rps=top).text("{:.2f}")  # fmt: skip


def _lost(config: str) -> stats.Interval:
    return _faults("crash", config, "lost_requests")


SLOWLORIS = {"slow_clients": 40, "slow_kind": "headers"}


def faults_quotes() -> list[str]:
    """The faults bullet of docs/findings.md (its README paragraph: readme_faults_quotes)."""
    sync, behind, limited = "flask-sync-4", "flask-sync-4+nginx", "fastapi-async+limit6"
    idle_after = _faults("slow", sync, "slow_closed_after_s", slow_kind="idle").median
    nginx_limit = "flask-sync-4+nginx+limit4"
    return [
        f"left `flask-sync-4` answering {_share(sync, **SLOWLORIS)} of the stream in time",
        f"({_share(sync, slow_clients=0)} with none, {_share(sync, slow_clients=2)} at S = 2, "
        f"{_share(sync, slow_clients=4)} at S = 4 = K)",
        f"it kept {_share(behind, **SLOWLORIS)}",
        f"`fastapi-async` alone {_share('fastapi-async', **SLOWLORIS)}",
        f"closed them, {1000 * idle_after:.1f} ms after they connected",
        f"({_faults('steady', sync, 'rps').text()} req/s alone, "
        f"{_faults('steady', behind, 'rps').text()} behind nginx)",
        f"{_growth('fastapi-async')} and {_growth(sync)} s longer every second",
        f"refused {_over(limited, 'refused_share').text('{:.0%}')} in "
        f"{_over(limited, 'refused_p50_ms').text('{:.1f}')} ms and kept "
        f"{_over(limited, 'goodput_rps').text('{:.0f}')} of its 100 req/s",
        f"refused {_over(nginx_limit, 'refused_share').text('{:.0%}')} and kept "
        f"{_over(nginx_limit, 'goodput_rps').text('{:.0f}')} of 36",
        f"lost {_lost(sync).text('{:.0f}')} requests in flight on `flask-sync-4`",
        f"served {_faults('crash', sync, 'respawn_s').text('{:.2f}')} s later",
        f"{_lost('fastapi-async-2').text('{:.0f}')} on `fastapi-async-2`",
        f"back within {_faults('crash', 'fastapi-async-2', 'recovery_s').text('{:.1f}')} s",
        f"{_lost('fastapi-async').text('{:.0f}')} of 16 on one `fastapi-async` process",
    ]


def readme_faults_quotes() -> list[str]:
    sync, limited = "flask-sync-4", "fastapi-async+limit6"
    return [
        f"`flask-sync-4` alone answered {_share(sync, **SLOWLORIS)} of them in time, where it "
        f"answered {_share(sync, slow_clients=0)} with none",
        f"behind Debian's nginx it answered {_share('flask-sync-4+nginx', **SLOWLORIS)}",
        f"waited {_growth('fastapi-async')} and {_growth(sync)} s longer every second",
        f"shed {_over(limited, 'refused_share').text('{:.0%}')} in "
        f"{_over(limited, 'refused_p50_ms').text('{:.1f}')} ms and kept "
        f"{_over(limited, 'goodput_rps').text('{:.0f}')} req/s",
        f"took {_lost(sync).text('{:.0f}')} requests with it on `flask-sync-4`, "
        f"{_lost('fastapi-async-2').text('{:.0f}')} of the 16 on `fastapi-async-2`",
    ]


@pytest.mark.parametrize("text", readme_faults_quotes())
def test_the_readme_quotes_the_faults_reference(text):
    assert flat(text) in flat(README)


def db_quotes() -> list[str]:
    """The database bullet: rates through each pool, the bursts, the CPU a query costs."""

    def at(scenario, config, io, figure, fmt, pool=None):
        where = {"io": io} if pool is None else {"io": io, "pool": pool}
        return span(DB, scenario, config, figure, **where).text(fmt)

    cpu = derived.with_cpu_per_request(DB[DB["scenario"] == "steady"])
    cpu = cpu.groupby(["config", cpu["pool"].fillna(0)]).median(numeric_only=True)
    modelled = DB[(DB["io"] == "db") & DB["efficiency"].notna() & DB["valid"]]
    per_point = modelled.groupby(["scenario", "config", "pool"])["efficiency"].median()
    within = ((per_point - 1).abs() <= 0.10).sum()
    gevent = [medians(DB[DB["pool"] == p], "burst", io="db").loc["flask-gevent-2"]
              for p in (10, 25)]  # fmt: skip
    rate = lambda config, io, pool=None: at("steady", config, io, "rps", "{:.1f}", pool)  # noqa: E731
    return [
        f"`fastapi-async` answered {rate('fastapi-async', 'sleep')} req/s sleeping, "
        f"{rate('fastapi-async', 'db', 10)} through its default pool",
        f"and {rate('fastapi-async', 'db', 64)} through 64",
        f"threads answered {rate('fastapi-threadpool', 'db', 10)} through 10 connections and "
        f"{rate('fastapi-threadpool', 'db', 40)} through 40",
        f"{rate('flask-gevent-2', 'db', 10)} through 2 x 10",
        f"({rate('flask-sync-4', 'sleep')} and {rate('flask-sync-4', 'db', 1)} req/s)",
        f"took {at('burst', 'fastapi-async', 'sleep', 'makespan_s', '{:.2f}')} s sleeping, "
        f"{at('burst', 'fastapi-async', 'db', 'makespan_s', '{:.2f}', 10)} s through 10 "
        f"connections (model 5 s) and "
        f"{at('burst', 'fastapi-async', 'db', 'makespan_s', '{:.2f}', 50)} s through 50",
        f"fell {1 - gevent[0]['efficiency']:.0%} and {1 - gevent[1]['efficiency']:.0%} short",
        f"took {gevent[0]['busiest_share']:.0%} and {gevent[1]['busiest_share']:.0%} of the "
        "requests",
        f"{within} of the {len(per_point)} db points with a model",
        f"rose from {cpu.loc[('fastapi-async', 0), 'server_cpu_ms_per_request']:.2f} ms to "
        f"{cpu.loc[('fastapi-async', 64), 'server_cpu_ms_per_request']:.2f} ms",
        f"PostgreSQL spent {cpu.loc[('fastapi-async', 64), 'db_cpu_ms_per_request']:.3f} ms more",
        f"fell from {med(DB, 'calibrate', 'fastapi-async', 'rps', io='sleep'):,.0f} to "
        f"{med(DB, 'calibrate', 'fastapi-async', 'rps', io='db'):,.0f} req/s",
    ]


def medians(summary, scenario, **where):
    """Per config, the median over its repeats of each figure of one scenario's point."""
    rows = summary[summary["scenario"] == scenario]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    return rows.groupby("config").median(numeric_only=True)


def servers_quotes() -> list[str]:
    """The servers bullet: bursts, the 256-user points, gthread with and without
    SO_REUSEPORT, memory; every range over the configs' medians it names."""
    burst = medians(SERVERS, "burst")
    loops = burst[burst["capacity"] >= 1000].drop(index="fastapi-gunicorn-asgi-2")
    threads = burst[burst["capacity"] == 64]
    at = medians(SERVERS, "steady", users=256)
    loops_256 = at[at["capacity"] >= 1000].drop(index="fastapi-hypercorn")
    two = at[at["workers"] == 2]
    r0 = results.load_run(ROOT / "results" / "reference-servers")["calibration"]["r0_rps"]
    assert r0["fastapi-hypercorn"] == min(r0.values())

    def at_64(config, figure, fmt):
        return span(SERVERS, "steady", config, figure, users=64).text(fmt)

    plain, spread = "flask-gthread-2x32", "flask-gthread-2x32-reuseport"
    for figure, higher in (("efficiency", True), ("busiest_share", False)):  # "apart on both"
        evened = span(SERVERS, "steady", spread, figure, users=64)
        assert evened.clears(span(SERVERS, "steady", plain, figure, users=64), higher), figure
    return [
        f"answered in {loops['makespan_s'].min():.2f}-{loops['makespan_s'].max():.2f} s",
        "`asgi` worker, "
        + span(SERVERS, "burst", "fastapi-gunicorn-asgi-2", "makespan_s").text("{:.2f}")
        + " s",
        f"took {threads['makespan_s'].min():.2f}-{threads['makespan_s'].max():.2f} s",
        f"reached {loops_256['efficiency'].min():.2f}-{loops_256['efficiency'].max():.2f} of "
        "the ideal 2,560 req/s",
        "hypercorn at "
        + span(SERVERS, "steady", "fastapi-hypercorn", "efficiency", users=256).text("{:.2f}"),
        f"here, {r0['fastapi-hypercorn']:,.0f} req/s",
        "reached "
        + span(SERVERS, "steady", "flask-waitress-64", "efficiency", users=256).text("{:.2f}")
        + " of its 640",
        f"reached {at_64(plain, 'efficiency', '{:.2f}')} of its ideal with its busiest worker "
        f"answering {at_64(plain, 'busiest_share', '{:.2f}')}, with `--reuse-port` "
        f"{at_64(spread, 'efficiency', '{:.2f}')} and {at_64(spread, 'busiest_share', '{:.2f}')}",
        f"waitress {at.at['flask-waitress-64', 'server_pss_peak_mb']:.0f} MB, one uvicorn "
        f"{at.at['fastapi-async', 'server_pss_peak_mb']:.0f} MB, the two-process servers "
        f"{two['server_pss_peak_mb'].min():.0f}-{two['server_pss_peak_mb'].max():.0f} MB",
    ]


def crossover_quotes() -> list[str]:
    """The crossover bullet: the generated findings verbatim, and the map's figures."""
    said = findings.crossover(CROSS)
    lines = [line for line in said if line.startswith(("At D =", "Decision map:"))]
    cells = decision.decide(CROSS)
    steady = CROSS[CROSS["scenario"] == "steady"]
    repeats = steady.groupby(["config", "delay_s", "work_ms"])["repeat"].nunique()
    assert repeats.min() >= 3, "every cell of the map measured at least 3 times"
    assert all(c.model_agrees for c in cells if c.decided), "each sole winner is the model's"
    gthread = steady[(steady["config"] == "flask-gthread-2x8") & (steady["work_ms"] > 0)]
    return [
        *lines,
        f"took up to {gthread['busiest_share'].max():.0%} of a repeat's requests",
        f"as low as {gthread['efficiency'].min():.2f} of its model",
    ]


def test_the_decision_summary_is_generated_from_the_reference_runs():
    assert advice.markdown(STANDARD, CROSS, DB, FAULTS) in README


@pytest.mark.parametrize("text", quoted())
def test_the_findings_quote_the_reference_runs(text):
    assert flat(text) in flat(FINDINGS)


def test_every_reference_point_is_valid():
    assert all(s["valid"].all() for s in (STANDARD, OPEN, SCALE, CROSS, SERVERS, DB, FAULTS))


def test_the_reference_folders_readme_lists_every_run_as_its_data_has_it():
    import json

    text = (ROOT / "results" / "reference" / "README.md").read_text()
    folders = sorted(p.name for p in (ROOT / "results").glob("reference*") if p.is_dir())
    rows = [line for line in text.splitlines() if line.startswith("| `reference")]
    assert sorted(r.split("`")[1].rstrip("/") for r in rows) == folders
    numbers = {1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven"}
    assert text.split("\n")[2].startswith(f"{numbers[len(folders)]} real runs")
    commits = {c.strip() for r in rows for c in [r.strip("|").split("|")[3]]}
    flat = " ".join(text.split())
    if len(commits) == 1:
        assert f"all at commit {commits.pop()}, made together by `nox -s reference`" in flat
    else:
        assert f"({numbers[len(commits)].lower()} commits in all" in flat
    for line in rows:
        folder = line.split("`")[1].rstrip("/")
        summary = results.load_summary(ROOT / "results" / folder)
        meta = json.loads((ROOT / "results" / folder / "run.json").read_text())
        cells = [c.strip() for c in line.strip("|").split("|")]
        valid = "all valid" if summary["valid"].all() else f"{int(summary['valid'].sum())} valid"
        assert cells[2] == f"{len(summary)}, {valid}", folder
        assert cells[3] == meta["git"]["commit"][:7], folder
        assert f"--profile {meta['profile']['name']}" in cells[1] or folder == "reference"
