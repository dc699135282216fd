"""CPU per request: the model's two bounds, K and P of every config, who answered, and
why a point falls short of the model. Pure and fast; values worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from echobench import decision, derived, findings, metrics, model, plots, profiles, runner, verdict
from echobench.configs import get_config
from tests.synthetic import T0, mark, point, request, write_raw

INF = math.inf


# --- the model with CPU ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("users", "k", "d", "c", "p", "m", "rps"),
    [
        (16, INF, 0.1, 0.05, 1, 2, 20.0),  # one event loop: 1 / c, not 16 / 0.15
        (16, 4, 0.1, 0.05, 4, 2, 4 / 0.15),  # four sync workers: their slots bind
        (16, 4, 0.1, 0.1, 4, 2, 20.0),  # ... until the two cores do: 2 / c
        (16, INF, 0.1, 0.01, 2, 2, 16 / 0.11),  # two loops, little CPU: the wait binds
        (16, INF, 0.1, 0.05, 8, 2, 40.0),  # P beyond M: the cores bind
        (16, INF, 0.1, 0.0, 1, 2, 160.0),  # no CPU: min(C, K) / D, as before
        (4, 40, 0.0, 0.01, 1, 2, 100.0),  # no wait at all: the CPU alone
    ],
)
def test_closed_loop_rate_is_the_lower_of_slots_and_cpu(users, k, d, c, p, m, rps):
    assert model.ideal_rps(users, k, d, c, p, m) == pytest.approx(rps)


def test_latency_is_littles_law_and_never_below_the_requests_own_time():
    assert model.ideal_latency_s(16, INF, 0.1, 0.05, 1, 2) == pytest.approx(16 / 20.0)
    assert model.ideal_latency_s(2, INF, 0.1, 0.01, 1, 2) == pytest.approx(0.11)
    assert model.ideal_latency_s(8, 4, 2.0) == pytest.approx(4.0), "waiting only: D x C / K"
    assert model.ideal_latency_s(32, INF, 0.0) == 0.0, "calibration: no model latency"


@pytest.mark.parametrize(
    ("n", "k", "d", "c", "p", "m", "makespan"),
    [
        (200, INF, 2.0, 0.01, 1, 2, 4.0),  # all wait together, then 200 x 10 ms in turn
        (200, 8, 2.0, 0.01, 8, 2, 25 * 2.01),  # sync-8: 25 rounds of D + c bind
        (100, INF, 1.0, 0.1, 4, 2, 1.0 + 5.0),  # 4 loops on 2 cores: 100 x c / 2
        (100, INF, 1.0, 0.1, 2, 4, 1.0 + 5.0),  # 2 loops on 4 cores: ceil(100/2) x c
        (3, INF, 1.0, 0.1, 2, 2, 1.0 + 0.2),  # 3 on 2 processes: one computes 2 of them
        (9, 2, 0.5, 0.0, 2, 2, 2.5),  # no CPU: whole rounds of D, as before
        (0, 2, 0.5, 0.1, 2, 2, 0.0),
    ],
)
def test_burst_makespan_is_the_larger_of_rounds_and_cpu(n, k, d, c, p, m, makespan):
    assert model.ideal_makespan_s(n, k, d, c, p, m) == pytest.approx(makespan)


def test_open_loop_capacity_with_cpu():
    assert model.capacity_rps(INF, 0.1, 0.02, 1, 2) == pytest.approx(50.0)
    assert model.capacity_rps(4, 0.1, 0.02, 4, 2) == pytest.approx(4 / 0.12)
    assert model.capacity_rps(4, 0.5) == pytest.approx(8.0)
    open_point = point("open", config="fastapi-async", delay_s=0.1, rate=60.0, work_ms=20)
    assert open_point.capacity_rps == pytest.approx(50.0)
    assert open_point.timings.ideal_latency_s == math.inf, "past the CPU's capacity the queue grows"


def test_a_point_carries_its_cpu_terms_and_names_its_work():
    p = point(config="fastapi-async-2", users=16, delay_s=0.1, work_ms=25, cores=2)
    assert p.cpu == {"work_s": 0.025, "parallel": 2, "cores": 2}
    assert p.scenario_def.ideal_rps(p) == pytest.approx(2 / 0.025)
    assert p.point_id.endswith("-u16-w25-r1")
    assert point(users=16).point_id.endswith("-u16-r1"), "no work: the id is unchanged"
    described = p.describe()
    assert described["work_ms"] == 25 and described["cores"] == 2
    assert runner.Point.from_description(described) == p


# --- K and P of every config -------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "k", "p", "workers"),
    [
        ("fastapi-async", INF, 1, 1),
        ("fastapi-async-2", INF, 2, 2),
        ("flask-gevent-2", 2000, 2, 2),
        ("fastapi-threadpool", 40, 1, 1),
        ("flask-gthread-2x8", 16, 2, 2),
        ("flask-sync-4", 4, 4, 4),
        ("fastapi-blocking", 1, 1, 1),
        ("fastapi-granian-2", 2000, 2, 2),
        ("fastapi-gunicorn-uvicorn-3", INF, 3, 3),
        ("fastapi-gunicorn-asgi-2", 2000, 2, 2),
        ("fastapi-hypercorn", INF, 1, 1),
        ("flask-granian-2x32", 64, 2, 2),
        ("flask-waitress-64", 64, 1, 1),
        ("flask-gthread-2x32-reuseport", 64, 2, 2),
    ],
)
def test_every_config_declares_k_and_p(config, k, p, workers):
    cfg = get_config(config)
    assert (cfg.capacity, cfg.parallel, cfg.workers) == (k, p, workers)


def test_n_async_processes_are_uvicorns_own_workers():
    argv = get_config("fastapi-async-3").argv("127.0.0.1", 8000)
    assert argv[argv.index("--workers") + 1] == "3"
    assert "--workers" not in get_config("fastapi-async").argv("127.0.0.1", 8000)
    single = get_config("fastapi-async").argv("127.0.0.1", 8000)
    assert [a for a in argv if a not in ("--workers", "3")] == single, "nothing else differs"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("fastapi-granian-2", ["--interface", "asgi", "--workers", "2", "--backpressure", "1000"]),
        ("flask-granian-2x8", ["--interface", "wsgi", "--workers", "2", "--blocking-threads", "8"]),
        ("flask-waitress-16", ["--threads", "16", "--connection-limit", "4096"]),
        ("fastapi-hypercorn", ["--workers", "1", "--worker-class", "uvloop"]),
        ("fastapi-gunicorn-uvicorn-2", ["--worker-class", "uvicorn_worker.UvicornWorker"]),
        ("fastapi-gunicorn-asgi-2", ["--worker-class", "asgi", "--worker-connections", "1000"]),
        ("flask-gthread-2x8-reuseport", ["--threads", "8", "--reuse-port"]),
    ],
)
def test_each_server_family_is_started_as_declared(config, expected):
    argv = get_config(config).argv("127.0.0.1", 8000)
    for i in range(0, len(expected), 2):
        pair = expected[i : i + 2]
        at = argv.index(pair[0])
        assert argv[at : at + len(pair)] == pair, (config, argv)
    app = argv[-1]
    assert app in ("servers.flask_app:app", "servers.fastapi_app:async_app"), app
    assert app.startswith("servers.flask_app" if "flask" in config else "servers.fastapi_app")
    assert "0.0.0.0" not in argv and "8000" in " ".join(argv)


def profile_file(tmp_path, text: str) -> str:
    """A profile written to a file; its path, for load_profile."""
    path = tmp_path / "profile.toml"
    path.write_text(text)
    return str(path)


# --- work in profiles ----------------------------------------------------------------------


GROUP = '[[groups]]\nscenario = "{}"\nconfigs = ["{}"]\nusers = [4]\n'


def test_work_ms_expands_like_a_load_level(tmp_path):
    text = GROUP.format("steady", 'fastapi-async", "flask-sync-2') + "work_ms = [0, 12.5]\n"
    loaded = profiles.load_profile(profile_file(tmp_path, text))
    assert [(p.config.id, p.work_ms) for p in loaded.points] == [
        ("fastapi-async", 0.0), ("fastapi-async", 12.5), ("flask-sync-2", 0.0),
        ("flask-sync-2", 12.5),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("work_ms = 1001", "work_ms must be a number from 0 to 1000"),
        ("work_ms = -1", "work_ms must be"),
        ('work_ms = "5"', "work_ms must be"),
        ("work_ms = [5, true]", "work_ms must be"),
    ],
)
def test_bad_work_in_a_profile_is_refused(tmp_path, extra, reason):
    path = profile_file(tmp_path, GROUP.format("steady", "fastapi-async") + extra)
    with pytest.raises(profiles.ProfileError, match=reason):
        profiles.load_profile(path)


def test_a_group_may_repeat_more_than_its_profile(tmp_path):
    text = GROUP.format("steady", "fastapi-async") + GROUP.format("steady", "fastapi-async-2")
    path = profile_file(tmp_path, text + "repeat = 3\n")
    loaded = profiles.load_profile(path, seed=1)
    reps = sorted((p.config.id, p.repeat) for p in loaded.points)
    assert reps == [("fastapi-async", 1), ("fastapi-async-2", 1), ("fastapi-async-2", 2),
                    ("fastapi-async-2", 3)]  # fmt: skip
    assert loaded.seed == 1, "repeats are interleaved in a seeded order"
    assert {p.repeat for p in profiles.load_profile(path, repeat=2).points} == {1, 2}
    path = profile_file(tmp_path, text + "repeat = 0\n")
    with pytest.raises(profiles.ProfileError, match="group 2: repeat must be a whole number"):
        profiles.load_profile(path)


def test_a_calibration_measures_the_bare_server(tmp_path):
    path = profile_file(tmp_path, GROUP.format("calibrate", "fastapi-async") + "work_ms = 5\n")
    with pytest.raises(profiles.ProfileError, match="drop work_ms"):
        profiles.load_profile(path)


def test_the_crossover_grid_puts_the_models_crossover_inside_it():
    """One loop against four sync workers crosses at c = D / 3: every D's grid has a cost
    below it and one above it."""
    grid = profiles.load_profile("crossover")
    for d in {p.delay_s for p in grid.points if p.scenario == "steady"}:
        works = {p.work_s for p in grid.points if p.delay_s == d and p.scenario == "steady"}
        assert min(works) == 0 and max(works) == pytest.approx(d)
        assert any(0 < c < d / 3 for c in works) and any(c > d / 3 for c in works)


# --- who answered --------------------------------------------------------------------------


def answered(*workers):
    return pd.DataFrame({"worker": list(workers)})


def test_shares_of_the_busiest_and_idlest_worker():
    assert metrics.worker_figures(answered(10, 10, 10, 11), 2) == {
        "workers_seen": 2,
        "busiest_share": 0.75,
        "idlest_share": 0.25,
    }
    silent = metrics.worker_figures(answered(10, 10, 10, 11), 3)
    assert silent["idlest_share"] == 0.0, "a declared worker that answered nothing has share 0"
    assert metrics.worker_figures(answered(pd.NA, pd.NA), 2) == {
        "workers_seen": None,
        "busiest_share": None,
        "idlest_share": None,
    }, "records from before the header: nothing to say"
    foreign = metrics.worker_figures(answered("", "not-a-pid", 12), 1)
    assert foreign["workers_seen"] == 1, "a header that is not a PID is not a worker"


def test_the_worker_of_each_answer_reaches_the_row(tmp_path):
    rows = [mark("release", T0)]
    for i, worker in enumerate([7, 7, 8]):
        rows += request(i, T0 + 0.1 * i, T0 + 0.1 * i + 0.5)
        rows[-1]["worker"] = worker
    raw = write_raw(tmp_path, [*rows, mark("end", T0 + 2)])
    row = runner.row_from_raw(point("burst", users=3), raw)
    assert (row["workers_seen"], row["busiest_share"]) == (2, pytest.approx(2 / 3))


# --- why a point is off the model -----------------------------------------------------------


def gap_row(**extra):
    return {
        "scenario": "steady", "efficiency": 0.58, "work_ms": 5.0, "delay_s": 0.02,
        "users": 16, "capacity": INF, "parallel": 2, "cores": 2, "workers": 2,
        "busiest_share": 0.84, "server_cores": 1.2, "loadgen_cores": 0.07,
        "p50_ms": 77.4, "ideal_latency_ms": 40.0, **extra,
    }  # fmt: skip


def test_a_point_off_the_model_says_why():
    gap = verdict.model_gap(gap_row())
    assert gap is not None and not gap.invalidates and gap.cause == verdict.MODEL_GAP
    assert gap.text.startswith("42% below the model: ")
    assert "busiest of 2 workers answered 84% of the requests" in gap.text
    assert "caps the rate at 238 req/s" in gap.text  # 1 / (0.84 x 5 ms)
    assert "the server used 1.20 of the 2 cores the model gives it" in gap.text
    assert "the load generator 0.07" in gap.text
    assert "77.4 ms at the median against the model's 40.0 ms" in gap.text


@pytest.mark.parametrize("eff", [0.9, 1.0, 1.1])
def test_within_ten_percent_nothing_is_said(eff):
    assert verdict.model_gap(gap_row(efficiency=eff)) is None


def test_only_measured_causes_are_named():
    even = verdict.model_gap(gap_row(busiest_share=0.52, server_cores=1.9, p50_ms=40.0))
    assert even.text == (
        "42% below the model: no measured cause: see the server and load-generator CPU columns"
    )
    waiting = verdict.model_gap(
        gap_row(work_ms=0.0, efficiency=0.85, p50_ms=23.5, ideal_latency_ms=20.0, busiest_share=0.5)
    )
    assert "the busiest" not in waiting.text and "cores" not in waiting.text
    assert waiting.text.endswith(
        "(the server's own cost per request and the round trip, on this machine)"
    )
    assert verdict.model_gap(gap_row(efficiency=None)) is None


def test_a_worker_holding_more_connections_than_threads_caps_the_rate_by_its_slots():
    """gthread 2x8 at D = 50 ms, no CPU: one worker answered everything, so its 8 threads
    allow 8 / (1.0 x 0.05) = 160 req/s against the model's 16 / 0.05 = 320."""
    gap = verdict.model_gap(gap_row(
        work_ms=0.0, delay_s=0.05, capacity=16, workers=2, parallel=2, busiest_share=1.0,
        efficiency=0.49, p50_ms=102.2, ideal_latency_ms=50.0, server_cores=0.08,
    ))  # fmt: skip
    assert gap.text == (
        "51% below the model: the busiest of 2 workers answered 100% of the requests, which "
        "alone caps the rate at 160 req/s; a request took 102.2 ms at the median against the "
        "model's 50.0 ms"
    ), "no round-trip excuse when the spread explains it; no CPU claim without CPU work"


def test_a_window_with_few_answers_says_so():
    gap = verdict.model_gap(gap_row(efficiency=1.12, busiest_share=0.5, server_cores=1.9,
                                    p50_ms=40.0, ok=28))  # fmt: skip
    assert gap.text == (
        "12% above the model: only 28 answers in the window: one more or fewer moves the rate by 4%"
    )
    assert verdict.model_gap(gap_row(efficiency=1.12, busiest_share=0.5, server_cores=1.9,
                                     p50_ms=40.0, ok=50)).text.endswith("CPU columns")  # fmt: skip


def test_a_model_gap_is_a_remark_in_the_note():
    judged = verdict.judge({"requests": 5, "ok": 5}, [verdict.model_gap(gap_row())])
    assert judged["valid"] and judged["note"].startswith("42% below the model")


# --- the decision map ------------------------------------------------------------------------


def sweep_row(config, work_ms, rps, ideal, p99_ms=100.0, valid=True, delay_s=0.1, pss=40.0):
    cfg = get_config(config)
    return {
        "scenario": "steady", "config": config, "users": 16, "delay_s": delay_s,
        "work_ms": work_ms, "capacity": cfg.capacity, "rps": rps, "ideal_rps": ideal,
        "p99_ms": p99_ms, "server_pss_peak_mb": pss, "valid": valid, "repeat": 1,
    }  # fmt: skip


def thrice(rows: list[dict], spread: float = 0.01) -> pd.DataFrame:
    """Each row as three repeats, its rate at (1 - spread, 1, 1 + spread) of the given."""
    return pd.DataFrame([{**r, "repeat": k + 1, "rps": r["rps"] * (1 + spread * (k - 1))}
                         for r in rows for k in range(3)])  # fmt: skip


def test_the_decision_map_picks_by_throughput_within_the_p99_bound():
    summary = thrice([
        sweep_row("fastapi-async", 0, 150.0, 160.0),
        sweep_row("flask-sync-4", 0, 39.0, 40.0),
        sweep_row("fastapi-async", 50, 20.0, 20.0, p99_ms=900.0),
        sweep_row("flask-sync-4", 50, 26.0, 26.7, p99_ms=700.0, pss=80.0),
        sweep_row("fastapi-async-2", 50, 27.0, 40.0, p99_ms=1600.0),  # over 10 x 150 ms
        sweep_row("flask-gevent-2", 50, 99.0, 40.0, valid=False),  # invalid: never wins
        sweep_row("fastapi-async", 0, 150.0, 160.0, delay_s=0.05),  # one cost at this D
    ])  # fmt: skip
    low, high = decision.decide(summary)
    assert (low.delay_s, low.work_ms, low.winners) == (0.1, 0.0, ("fastapi-async",))
    assert low.decided and low.rps.text("{:.1f}") == "150.0 [148.5, 151.5]"
    assert low.margin == pytest.approx(150 / 39 - 1) and low.runner_up == "flask-sync-4"
    assert low.cheapest == "fastapi-async" and low.cheapest_pss_mb == 40.0
    assert high.winners == ("flask-sync-4",) and high.rps.median == 26.0
    assert high.margin == pytest.approx(26 / 20 - 1) and high.runner_up == "fastapi-async"
    assert high.cheapest == "flask-sync-4" and high.cheapest_pss_mb == 80.0
    assert high.excluded == ("fastapi-async-2", "flask-gevent-2")
    assert high.model_winners == ("fastapi-async-2", "flask-gevent-2")
    assert not high.model_agrees and low.model_agrees
    assert high.p99_bound_ms == pytest.approx(1500.0) and high.cpu_share == pytest.approx(1 / 3)


def test_overlapping_intervals_tie_the_cheapest_does_the_job_and_nothing_valid_is_no_winner():
    summary = thrice([
        sweep_row("fastapi-async", 25, 40.0, 40.0, pss=45.0),
        sweep_row("fastapi-async-2", 25, 41.5, 80.0, pss=90.0),  # 41.5 +- 0.4 meets 40 +- 0.4
        sweep_row("flask-sync-4", 25, 30.0, 32.0),
        sweep_row("fastapi-async", 0, 150.0, 160.0, valid=False),
        sweep_row("flask-sync-4", 0, 39.0, 40.0, p99_ms=5000.0),
    ], spread=0.03)  # fmt: skip
    none, tie = decision.decide(summary)
    assert none.winners == () and none.rps is None and none.margin is None
    assert none.model_winners == ("fastapi-async",) and none.cheapest is None
    assert tie.winners == ("fastapi-async-2", "fastapi-async") and not tie.decided
    assert tie.cheapest == "fastapi-async", "within the best's interval, the least memory"
    assert tie.runner_up == "flask-sync-4" and tie.margin == pytest.approx(41.5 / 30 - 1)


def test_below_three_repeats_every_config_in_the_bound_ties():
    once = pd.DataFrame([sweep_row("fastapi-async", 25, 40.0, 40.0),
                         sweep_row("flask-sync-4", 25, 10.0, 32.0),
                         sweep_row("flask-sync-4", 0, 39.0, 40.0)])  # fmt: skip
    (_, cell) = decision.decide(once)
    assert cell.winners == ("fastapi-async", "flask-sync-4") and not cell.decided
    assert cell.runner_up is None and cell.margin is None and cell.cheapest is None
    assert cell.rps.text() == "40.0 (n = 1)"


def test_runs_without_a_cpu_sweep_have_no_map():
    plain = pd.DataFrame([{**sweep_row("fastapi-async", 0, 1.0, 1.0), "users": u}
                          for u in (8, 32)]).drop(columns="work_ms")  # fmt: skip
    assert decision.cpu_points(plain).empty and decision.decide(plain) == []
    assert decision.decide(plain.assign(work_ms=0.0)) == [], "one cost is not a sweep"


def test_the_map_and_the_crossover_chart_draw_what_was_decided():
    summary = thrice([
        sweep_row("fastapi-async", w, r, i) for w, r, i in ((0, 150.0, 160.0), (50, 20.0, 20.0))
    ] + [sweep_row("flask-sync-4", w, r, i) for w, r, i in ((0, 39.0, 40.0), (50, 26.0, 26.7))]
    ).assign(ideal_latency_ms=100.0, workers=[1] * 6 + [4] * 6, parallel=[1] * 6 + [4] * 6,
             cores=2)  # fmt: skip
    figure = plots.decision_map(summary)
    (ax,) = [a for a in figure.axes if a.get_xlabel()]
    texts = [t.get_text() for t in ax.texts]
    # a decimal below 100 req/s
    assert texts == ["150 [148, 152] req/s", "26.0 [25.7, 26.3] req/s"], texts
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert "model: fastapi-async is among the best" in legend
    assert "model: flask-sync-4 is among the best" in legend, "c = D/2 with 4 workers"
    assert "measured: flask-sync-4 won alone" in legend
    assert "measured: fastapi-async won alone" in legend
    assert ax.get_yscale() == "log" and ax.get_xlim()[0] < 0 < 1 / 3 < ax.get_xlim()[1]
    assert min(t.get_fontsize() for t in [*ax.texts, *figure.legends[0].get_texts()]) >= 9
    assert figure.get_size_inches()[0] <= 9.0, "at 100 dpi: 900 px, type at least 12 px"
    chart = plots.crossover(summary)
    assert len(chart.axes) == 2 and chart.axes[0].get_title() == "each request waits D = 100 ms"


# --- findings of a CPU sweep -----------------------------------------------------------------


def finding_rows():
    rows = []
    for work, loop_rps, sync_rps in ((0, 140.0, 39.0), (25, 40.0, 32.0), (50, 20.0, 26.0)):
        for config, rps in (("fastapi-async", loop_rps), ("flask-sync-4", sync_rps)):
            cfg = get_config(config)
            ideal = model.ideal_rps(16, cfg.capacity, 0.1, work / 1000, cfg.parallel, 2)
            near = abs(rps / ideal - 1) <= 0.1
            rows.append({**sweep_row(config, work, rps, ideal), "model": cfg.model,
                         "workers": cfg.workers, "parallel": cfg.parallel, "cores": 2,
                         "efficiency": rps / ideal, "busiest_share": None,
                         "note": "" if near else "12% below the model"})  # fmt: skip
    return pd.DataFrame(rows)


def test_the_crossover_finding_names_where_the_loop_stopped_leading():
    rows = finding_rows()
    thrice_rows = pd.concat([rows.assign(repeat=k + 1, rps=rows["rps"] * (1 + 0.01 * (k - 1)))
                             for k in range(3)])  # fmt: skip
    lines = findings.crossover(thrice_rows)
    assert lines[0] == (
        "At D = 100 ms, flask-sync-4 against one async process (fastapi-async): flask-sync-4 "
        "answered more from c = 50 ms (26.0 [25.7, 26.3] against 20.0 [19.8, 20.2] req/s); "
        "fastapi-async answered more at c = 0, 25 ms; 0 of 3 measured c were ties within "
        "the repeats' intervals (model: from c = 33.3 ms)."
    )
    assert lines[1] == ("Decision map: 3 of 3 cells have a sole winner by the repeats' "
                        "intervals; in 3 of those it is among the model's picks.")  # fmt: skip
    assert lines[-1].startswith("15 of 18 valid CPU-sweep points are within 10% of the model; "
                                "3 of the other 3 say why")  # fmt: skip
    once = findings.crossover(rows)
    assert "no c was measured 3 times on both, so no c decides between them" in once[0]
    assert once[1].startswith("Decision map: 0 of 3 cells have a sole winner")
    assert findings.crossover(rows.assign(work_ms=0.0)) == []


def test_a_burst_off_the_model_names_its_busiest_workers_rounds():
    """flask-gevent-2 behind 2 x 25 connections, 100 requests of 0.5 s: the model's 2
    rounds take 1 s, but one worker took 75 of them: 3 rounds through its 25, 1.5 s."""
    row = {"scenario": "burst", "efficiency": 0.657, "users": 100, "delay_s": 0.5,
           "capacity": 50, "workers": 2, "busiest_share": 0.75, "send_spread_ms": 9.0,
           "ideal_makespan_s": 1.0}  # fmt: skip
    assert verdict.model_gap(row).text == (
        "34% below the model: the busiest of 2 workers answered 75% of the requests: "
        "75 through its 25 slots is 3 rounds, 1.5 s"
    )
    even = {**row, "busiest_share": 0.5, "send_spread_ms": 80.0, "efficiency": 0.85}
    assert verdict.model_gap(even).text == (
        "15% below the model: the client's sends spread over 80 ms"
    )
    assert verdict.model_gap({**row, "efficiency": 0.95}) is None
    unbounded = {**row, "capacity": INF, "busiest_share": 0.9}
    assert "the busiest" not in verdict.model_gap(unbounded).text


@pytest.mark.parametrize("delay_s", [0.02, 0.1, 2.0])
@pytest.mark.parametrize(("workers", "cores"), [(2, 2), (4, 2), (4, 64), (16, 2), (8, 8)])
def test_the_general_rule_is_where_the_models_own_rates_cross(delay_s, workers, cores):
    """c = D / (N - 1): below it one loop answers more than N sync workers, above it
    fewer, by model.ideal_rps itself (enough users that slots never bind the loop)."""
    c = model.loop_loses_above_s(delay_s, workers, cores)
    assert c == pytest.approx(delay_s / (workers - 1))
    users = 10_000

    def loop(work_s):
        return model.ideal_rps(users, math.inf, delay_s, work_s, 1, cores)

    def sync(work_s):
        return model.ideal_rps(users, workers, delay_s, work_s, workers, cores)

    assert loop(0.99 * c) > sync(0.99 * c) and loop(1.01 * c) < sync(1.01 * c)
    row = {"users": users, "delay_s": delay_s, "cores": cores}
    found_ms = findings._model_crossover_ms(
        pd.Series({**row, "capacity": math.inf, "parallel": 1}),
        pd.Series({**row, "capacity": workers, "parallel": workers}),
    )
    assert found_ms == pytest.approx(1000.0 * c, rel=1e-6), "the bisection over the model agrees"


def test_the_loop_never_loses_to_one_worker_or_on_one_core():
    assert math.isinf(model.loop_loses_above_s(0.1, 1))
    assert math.isinf(model.loop_loses_above_s(0.1, 8, cores=1))
    for c in (0.01, 0.1, 1.0):  # on one core the workers share it: never more than 1 / c
        assert model.ideal_rps(10_000, 8, 0.1, c, 8, 1) <= model.ideal_rps(10_000, math.inf,
                                                                          0.1, c, 1, 1)  # fmt: skip


def test_a_config_measured_once_never_does_the_job_beside_ones_measured_thrice():
    summary = pd.concat([
        thrice([sweep_row("fastapi-async", 25, 40.0, 40.0, pss=45.0),
                sweep_row("flask-sync-4", 25, 10.0, 32.0)]),
        pd.DataFrame([sweep_row("fastapi-threadpool", 25, 39.0, 40.0, pss=30.0)]),
    ])  # fmt: skip
    cell = decision.at_point(derived.with_in_flight(summary))
    assert "fastapi-threadpool" in cell.winners, "one sample ties: it cannot be told apart"
    assert cell.cheapest == "fastapi-async", "but it cannot be named the one that does the job"
