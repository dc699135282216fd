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
        + ", ".join(alike(f"flask-sync-{n}") for n in (1, 2, 4, 8, 16)) + " req/s",
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
    ]


def quoted() -> list[str]:
    sync_open = lambda r: span(OPEN, "open", "flask-sync-4", "p99_ms", 1e-3, offered_rps=r)  # noqa: E731
    scale_burst = lambda c, f, fmt, s=1.0: span(SCALE, "burst", c, f, s, users=10_000).text(fmt)  # noqa: E731
    r0 = results.load_run(ROOT / "results" / "reference-scale")["calibration"]["r0_rps"]
    floor = 2 + 10_000 / r0["fastapi-async"]
    everything = [STANDARD, OPEN, SCALE, CROSS, SERVERS, DB, FAULTS]
    return [
        f"All {sum(len(s) for s in everything)} points valid",
        *standard_quotes(),
        f"p99\n  of {sync_open(8).text('{:.2f}')} s at 8 req/s, then "
        f"{sync_open(12).text('{:.1f}')} s at 12, {sync_open(16).text('{:.1f}')} s at 16",
        f"{sync_open(90).text('{:.0f}')} s at 90",
        "holds 80 req/s (`fastapi-threadpool`: "
        + span(OPEN, "open", "fastapi-threadpool", "p99_ms", 1e-3, offered_rps=70).text("{:.3f}")
        + " s p99 at 70)",
        "stays at\n  "
        + span(OPEN, "open", "fastapi-async", "p99_ms", 1e-3, offered_rps=90).text("{:.3f}")
        + " s up to 90 req/s",
        f"failure in {scale_burst('fastapi-async', 'makespan_s', '{:.2f}')} s",
        f"floor D + n/R0 = {floor:.2f} s with R0 = {r0['fastapi-async']:,.0f} req/s",
        f"at up to {SCALE.loc[SCALE['users'] == 10_000, 'loadgen_cpu_peak_pct'].max():.0f}% of "
        "a core",
        f"left within {scale_burst('fastapi-async', 'send_spread_ms', '{:.0f}')} ms",
        f"took {scale_burst('flask-gevent-2', 'makespan_s', '{:.2f}')} s against its model's 10 s",
        f"got {span(SCALE, 'steady', 'fastapi-async', 'rps').text('{:.0f}')} of the ideal "
        "1,000 req/s",
        *crossover_quotes(),
        *servers_quotes(),
        *db_quotes(),
        *faults_quotes(),
    ]


def _faults(scenario: str, config: str, figure: str, **where) -> float:
    """The median over repeats of one fault point's figure."""
    rows = FAULTS[(FAULTS["scenario"] == scenario) & (FAULTS["config"] == config)]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    assert len(rows), (scenario, config, where)
    return float(rows[figure].median())


def _share(config: str, **where) -> float:
    return _faults("slow", config, "answered_in_bound_share", **where)


def _over(config: str, figure: str) -> float:
    """An overload figure at the config's highest offered rate (3 x capacity)."""
    top = FAULTS.loc[FAULTS["config"] == config, "offered_rps"].max()
    return _faults("overload", config, figure, offered_rps=top)


def _lost():
    return FAULTS[FAULTS["scenario"] == "crash"].groupby("config")["lost_requests"]


def faults_quotes() -> list[str]:
    """The faults bullet of docs/findings.md (its README paragraph: readme_faults_quotes)."""
    sync, behind, limited = "flask-sync-4", "flask-sync-4+nginx", "fastapi-async+limit6"
    slowloris = {"slow_clients": 40, "slow_kind": "headers"}
    idle_after = _faults("slow", sync, "slow_closed_after_s", slow_kind="idle")
    lost = _lost()
    return [
        f"left `flask-sync-4` answering {_share(sync, **slowloris):.0%} of the stream",
        f"({_share(sync, slow_clients=0):.0%} with none, {_share(sync, slow_clients=2):.0%} "
        f"at S = 2, {_share(sync, slow_clients=4):.0%} from S = 4 = K)",
        f"it kept\n  {_share(behind, **slowloris):.0%}",
        f"closed them, {1000 * idle_after:.1f} ms after they connected",
        f"({_faults('steady', sync, 'rps'):.1f} req/s both ways, a tie)",
        f"{_over('fastapi-async', 'latency_growth_ms_per_s') / 1000:.2f} and "
        f"{_over(sync, 'latency_growth_ms_per_s') / 1000:.2f} s longer",
        f"refused {_over(limited, 'refused_share'):.0%} in {_over(limited, 'refused_p50_ms'):.1f}"
        f" ms and kept {_over(limited, 'goodput_rps'):.0f} of its 100 req/s",
        f"refused {_over('flask-sync-4+nginx+limit4', 'refused_share'):.0%} and kept "
        f"{_over('flask-sync-4+nginx+limit4', 'goodput_rps'):.0f} of 36",
        f"lost {lost.median()[sync]:.0f} request in flight on\n  `flask-sync-4`",
        f"served {_faults('crash', sync, 'respawn_s'):.2f} s later",
        f"{lost.median()['fastapi-async-2']:.0f} on\n  `fastapi-async-2` "
        f"({lost.min()['fastapi-async-2']:.0f} to {lost.max()['fastapi-async-2']:.0f}",
        f"back within {_faults('crash', 'fastapi-async-2', 'recovery_s'):.1f} s",
        f"all {lost.median()['fastapi-async']:.0f} on one `fastapi-async` process",
    ]


def readme_faults_quotes() -> list[str]:
    sync, limited = "flask-sync-4", "fastapi-async+limit6"
    slowloris = {"slow_clients": 40, "slow_kind": "headers"}
    lost = _lost()
    return [
        f"`flask-sync-4` alone answered\n{_share(sync, **slowloris):.0%} of them in time, where "
        f"it answered {_share(sync, slow_clients=0):.0%} with none",
        f"behind Debian's nginx it\nanswered {_share('flask-sync-4+nginx', **slowloris):.0%}",
        f"waited {_over('fastapi-async', 'latency_growth_ms_per_s') / 1000:.2f} and\n"
        f"{_over(sync, 'latency_growth_ms_per_s') / 1000:.2f} s longer",
        f"shed {_over(limited, 'refused_share'):.0%} in {_over(limited, 'refused_p50_ms'):.1f} "
        f"ms and kept {_over(limited, 'goodput_rps'):.0f} req/s",
        f"took {lost.median()[sync]:.0f}\nrequest with it on `flask-sync-4`, "
        f"{lost.min()['fastapi-async-2']:.0f} to {lost.max()['fastapi-async-2']:.0f} of the 16",
    ]


@pytest.mark.parametrize("text", readme_faults_quotes())
def test_the_readme_quotes_the_faults_reference(text):
    assert text in README


def db_quotes() -> list[str]:
    """The database bullet: rates through each pool, the bursts, the CPU a query costs."""

    def at(scenario, config, io, pool=None):
        rows = DB[(DB["scenario"] == scenario) & (DB["config"] == config) & (DB["io"] == io)]
        if pool is not None:
            rows = rows[rows["pool"] == pool]
        (found,) = rows.to_dict("records")
        return found

    cpu = derived.with_cpu_per_request(DB[DB["scenario"] == "steady"])
    cpu = cpu.set_index(["config", cpu["pool"].fillna(0)])
    modelled = DB[(DB["io"] == "db") & DB["efficiency"].notna() & DB["valid"]]
    within = ((modelled["efficiency"] - 1).abs() <= 0.10).sum()
    gevent = [at("burst", "flask-gevent-2", "db", p) for p in (10, 25)]
    return [
        f"`fastapi-async` answered {at('steady', 'fastapi-async', 'sleep')['rps']:.1f} req/s "
        f"sleeping, {at('steady', 'fastapi-async', 'db', 10)['rps']:.1f} through its default pool",
        f"and {at('steady', 'fastapi-async', 'db', 64)['rps']:.1f} through 64",
        f"threads answered {at('steady', 'fastapi-threadpool', 'db', 10)['rps']:.1f} through 10 "
        f"connections and {at('steady', 'fastapi-threadpool', 'db', 40)['rps']:.1f} through 40",
        f"{at('steady', 'flask-gevent-2', 'db', 10)['rps']:.1f} through 2 x 10",
        f"({at('steady', 'flask-sync-4', 'sleep')['rps']:.1f} and "
        f"{at('steady', 'flask-sync-4', 'db', 1)['rps']:.1f} req/s)",
        f"took {at('burst', 'fastapi-async', 'sleep')['makespan_s']:.2f} s",
        f"sleeping, {at('burst', 'fastapi-async', 'db', 10)['makespan_s']:.2f} s through 10 "
        f"connections (model 5 s) and {at('burst', 'fastapi-async', 'db', 50)['makespan_s']:.2f} "
        "s through 50",
        f"fell {1 - gevent[0]['efficiency']:.0%} and {1 - gevent[1]['efficiency']:.0%} short",
        f"took {gevent[0]['busiest_share']:.0%} and {gevent[1]['busiest_share']:.0%} of the "
        "requests",
        f"{within} of the {len(modelled)} db points with a model",
        f"rose from {cpu.loc[('fastapi-async', 0), 'server_cpu_ms_per_request']:.2f} ms to "
        f"{cpu.loc[('fastapi-async', 64), 'server_cpu_ms_per_request']:.2f} ms",
        f"PostgreSQL spent {cpu.loc[('fastapi-async', 64), 'db_cpu_ms_per_request']:.3f} ms more",
        f"fell from {at('calibrate', 'fastapi-async', 'sleep')['rps']:,.0f} to "
        f"{at('calibrate', 'fastapi-async', 'db')['rps']:,.0f}\n  req/s",
    ]


def servers_quotes() -> list[str]:
    """The servers bullet: bursts, the 256-user points, gthread with and without
    SO_REUSEPORT, memory; every range over the rows it names."""
    burst = SERVERS[SERVERS["scenario"] == "burst"].set_index("config")
    loops = burst[burst["capacity"] >= 1000].drop(index="fastapi-gunicorn-asgi-2")
    threads = burst[burst["capacity"] == 64]
    at = SERVERS[(SERVERS["scenario"] == "steady") & (SERVERS["users"] == 256)]
    at = at.set_index("config")
    loops_256 = at[at["capacity"] >= 1000].drop(index="fastapi-hypercorn")
    two = at[at["workers"] == 2]
    r0 = results.load_run(ROOT / "results" / "reference-servers")["calibration"]["r0_rps"]
    assert r0["fastapi-hypercorn"] == min(r0.values())
    g = lambda c: row(SERVERS, "steady", c, users=64)  # noqa: E731
    plain, spread = g("flask-gthread-2x32"), g("flask-gthread-2x32-reuseport")
    return [
        f"answered in {loops['makespan_s'].min():.2f}-{loops['makespan_s'].max():.2f} s",
        f"`asgi` worker, {burst.at['fastapi-gunicorn-asgi-2', 'makespan_s']:.2f} s",
        f"took {threads['makespan_s'].min():.2f}-{threads['makespan_s'].max():.2f} s",
        f"reached {loops_256['efficiency'].min():.2f}-{loops_256['efficiency'].max():.2f} of "
        "the ideal 2,560 req/s",
        f"hypercorn at {at.at['fastapi-hypercorn', 'efficiency']:.2f}",
        f"here, {r0['fastapi-hypercorn']:,.0f} req/s",
        f"reached {at.at['flask-waitress-64', 'efficiency']:.2f} of its 640",
        f"reached {plain['efficiency']:.2f} of its ideal with\n  its busiest worker answering "
        f"{plain['busiest_share']:.0%}, with `--reuse-port` {spread['efficiency']:.2f} and "
        f"{spread['busiest_share']:.0%}",
        f"waitress {at.at['flask-waitress-64', 'server_pss_peak_mb']:.0f} MB, one uvicorn "
        f"{at.at['fastapi-async', 'server_pss_peak_mb']:.0f} MB, the two-process servers "
        f"{two['server_pss_peak_mb'].min():.0f}-{two['server_pss_peak_mb'].max():.0f} MB",
    ]


def crossover_quotes() -> list[str]:
    """The crossover bullet: the generated findings verbatim, and the map's figures."""
    lines = [f"  - {line}\n" for line in findings.crossover(CROSS) if line.startswith("At D =")]
    cells = decision.decide(CROSS)
    assert not any(c.decided for c in cells), "single samples name no winner"
    repeats = CROSS.groupby(["config", "delay_s", "work_ms"])["repeat"].nunique()
    assert repeats.max() == 2 and set(repeats[repeats == 2].index.get_level_values(0)) == {
        "fastapi-async-2"
    }
    gthread = CROSS[(CROSS["config"] == "flask-gthread-2x8") & (CROSS["work_ms"] > 0)]
    return [
        *lines,
        f"the decision map shows {len(cells)} ties",
        f"took up to {gthread['busiest_share'].max():.0%} of a point's requests",
        f"as low as {gthread['efficiency'].min():.2f} of its model",
    ]


def test_the_decision_summary_is_generated_from_the_reference_runs():
    assert advice.markdown(STANDARD, CROSS, DB, FAULTS) in README


@pytest.mark.parametrize("text", quoted())
def test_the_findings_quote_the_reference_runs(text):
    assert text in FINDINGS


def test_every_reference_point_is_valid():
    assert all(s["valid"].all() for s in (STANDARD, OPEN, SCALE, CROSS, SERVERS))


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
