"""docs/findings.md and the README quote the committed reference runs: each figure, recomputed.

Every quoted number is formatted here from the reference summaries exactly as the docs
write it, so an edited number, a remade run or a rounding slip fails this test; the
README's decision summary must be the one generated from the reference runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from echobench import advice, costs, decision, derived, findings, results

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


def row(summary, scenario, config, **where):
    rows = summary[(summary["scenario"] == scenario) & (summary["config"] == config)]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    (found,) = rows.to_dict("records")
    return found


def quoted() -> list[str]:
    configs = ("fastapi-async", "flask-sync-8", "flask-gevent-1", "flask-gthread-4x8")
    burst = {c: row(STANDARD, "burst", c) for c in configs}
    steady = lambda c, u: row(STANDARD, "steady", c, users=u)  # noqa: E731
    sync = STANDARD[STANDARD["config"].str.startswith("flask-sync-")]
    idle = sync[sync["scenario"] == "steady"].groupby("workers")["server_pss_idle_mb"].median()
    worker = costs.per_worker(STANDARD)["flask-sync-N"]
    per_request = costs.per_request(STANDARD)["fastapi-async"]
    async_128 = steady("fastapi-async", 128)
    sync_open = lambda r: row(OPEN, "open", "flask-sync-4", offered_rps=r)["p99_ms"] / 1000  # noqa: E731
    scale_burst = row(SCALE, "burst", "fastapi-async", users=10_000)
    r0 = results.load_run(ROOT / "results" / "reference-scale")["calibration"]["r0_rps"]
    everything = [STANDARD, OPEN, SCALE, CROSS, SERVERS, DB, FAULTS]
    return [
        f"All {sum(len(s) for s in everything)} points valid",
        f"answered all in {burst['fastapi-async']['makespan_s']:.3f} s",
        f"({burst['fastapi-async']['rps']:.1f} req/s",
        f"efficiency {burst['fastapi-async']['efficiency']:.3f}\n  against the ideal 2 s",
        f"`flask-sync-8` took {burst['flask-sync-8']['makespan_s']:.2f} s",
        f"efficiency {burst['flask-sync-8']['efficiency']:.3f}\n  against its ideal",
        f"matched async:\n  {burst['flask-gevent-1']['makespan_s']:.3f} s",
        f"{steady('flask-sync-8', 128)['rps']:.1f} req/s, median "
        f"{steady('flask-sync-8', 128)['p50_ms'] / 1000:.2f} s",
        f"({steady('fastapi-threadpool', 128)['rps']:.1f} of 80 req/s)",
        f"reached {steady('flask-gthread-4x8', 32)['efficiency']:.2f} of\n  its ideal at 32 users "
        f"and {steady('flask-gthread-4x8', 128)['efficiency']:.2f} at 128",
        f"Each sync worker adds {worker.text()} of idle\n  PSS",
        f"over {worker.loads} worker counts: 1 worker {idle[1]:.0f} MB,\n  16 workers "
        f"{idle[16]:.0f} MB",
        f"each request in flight adds {per_request.text()} to one async",
        f"which held 128 requests in {async_128['server_pss_peak_mb']:.0f} MB",
        f"10,000 in {scale_burst['server_pss_peak_mb']:.0f} MB",
        f"{row(STANDARD, 'mixed', 'flask-sync-4')['fast_p50_ms'] / 1000:.1f} s at the\n  median",
        f"{row(STANDARD, 'mixed', 'fastapi-blocking')['fast_p50_ms'] / 1000:.1f} s on the",
        f"p99\n  of {sync_open(8):.2f} s at 8 req/s, then {sync_open(12):.1f} s at 12, "
        f"{sync_open(16):.1f} s at 16",
        f"over {sync_open(90):.0f} s at 90",
        f"stays at\n  {row(OPEN, 'open', 'fastapi-async', offered_rps=90)['p99_ms'] / 1000:.3f} s",
        f"failure in {scale_burst['makespan_s']:.2f} s",
        f"floor D + n/R0 = {2 + 10_000 / r0['fastapi-async']:.2f} s with R0 = "
        f"{r0['fastapi-async']:,.0f} req/s",
        f"at up to {scale_burst['loadgen_cpu_peak_pct']:.0f}% of a core",
        f"got {row(SCALE, 'steady', 'fastapi-async')['rps']:.0f} of the ideal 1,000 req/s",
        f"left within {scale_burst['send_spread_ms']:.0f} ms",
        f"took {row(SCALE, 'burst', 'flask-gevent-2', users=10_000)['makespan_s']:.2f} s against "
        "its model's 10 s",
        f"`flask-gthread-4x8` took {burst['flask-gthread-4x8']['makespan_s']:.1f} s",
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
