"""The model, the figures and the verdicts, each at its boundary, from synthetic records.

Pure and fast: no server, no locust. The expected values are worked out by hand from
the definitions (results/README.md), so a formula that drifts fails here first.
"""

from __future__ import annotations

import ast
import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

from echobench import clock, findings, loadgen, model, profiles, results, runner, stats, verdict
from echobench.point import Point
from echobench.scenarios import SCENARIOS
from echobench.verdict import Problem, remark
from loadtests import settings
from tests.synthetic import T0, mark, point, request, sample, write_raw

ROOT = Path(__file__).resolve().parents[1]

# --- the model ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("users", "k", "d", "rps"),
    [(8, 4, 2.0, 2.0), (3, 4, 2.0, 1.5), (4, 4, 0.5, 8.0), (10, math.inf, 2.0, 5.0)],
)
def test_ideal_rate_is_min_of_users_and_slots_over_the_wait(users, k, d, rps):
    assert model.ideal_rps(users, k, d) == pytest.approx(rps)


@pytest.mark.parametrize(
    ("users", "k", "d", "latency"),
    [(8, 4, 2.0, 4.0), (2, 4, 2.0, 2.0), (4, 4, 1.0, 1.0), (1000, math.inf, 1.0, 1.0)],
)
def test_ideal_latency_queues_past_k(users, k, d, latency):
    assert model.ideal_latency_s(users, k, d) == pytest.approx(latency)


@pytest.mark.parametrize(
    ("n", "k", "d", "makespan"),
    [
        (200, 32, 2.0, 14.0),  # gthread-4x8: 6.25 rounds are 7, not 6
        (5, 2, 1.0, 3.0),
        (4, 2, 1.0, 2.0),
        (9, 2, 0.5, 2.5),  # 4.5 rounds: 5 (round() would say 4)
        (1, 8, 2.0, 2.0),
        (200, math.inf, 2.0, 2.0),
        (0, 4, 2.0, 0.0),
    ],
)
def test_ideal_makespan_is_whole_rounds(n, k, d, makespan):
    assert model.ideal_makespan_s(n, k, d) == pytest.approx(makespan)


def test_efficiency_is_measured_over_ideal_rate():
    assert model.efficiency(8.0, 10.0) == pytest.approx(0.8)
    assert model.efficiency(12.0, 10.0) == pytest.approx(1.2)
    assert model.efficiency(None, 10.0) is None
    assert model.efficiency(5.0, None) is None
    assert model.efficiency(5.0, 0.0) is None
    assert model.efficiency(float("nan"), 1.0) is None


def test_in_flight_head_of_line_and_the_burst_floor():
    assert model.in_flight(8, 4) == 4.0 and model.in_flight(2, math.inf) == 2.0
    assert model.head_of_line_wait_s(8, 4, 2.0) == pytest.approx(5 * 2 / 4)  # C - K + 1 releases
    assert model.head_of_line_wait_s(4, 4, 1.0) == pytest.approx(1 / 4), "all busy: one release"
    assert model.head_of_line_wait_s(3, 4, 1.0) is None, "a free slot: no wait"
    assert model.head_of_line_wait_s(10, math.inf, 1.0) is None
    assert model.burst_floor_s(1000, 2.0, 500.0) == pytest.approx(4.0)
    assert model.capacity_rps(8, 2.0) == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("scenario", "params", "timings"),
    [
        # K = 2, C = 8, D = 1: latency 4 s, warm-up stagger 1 + 4, drain 4 + 1 + 2; expected:
        # the load 11 s and 3.5 s to start the server and locust
        ("steady", {"users": 8, "delay_s": 1.0},
         {"effective_warmup_s": 5.0, "drain_s": 7.0, "client_timeout_s": 18.0, "load_s": 11.0,
          "max_load_s": 14.0, "deadline_s": 16.0, "expected_s": 14.5, "demanded_rps": 2.0}),
        # 5 on K = 2: 3 rounds of 1 s; no stagger, so the warm-up is one queue cycle only
        ("burst", {"users": 5, "delay_s": 1.0},
         {"effective_warmup_s": 2.5, "deadline_s": 14.5, "client_timeout_s": 14.5, "load_s": 3.0,
          "max_load_s": 14.5, "demanded_rps": None}),
        # K/D = 4/s, offered 6/s for 2.5 s: a backlog of 5 clears in 1.25 s
        ("open", {"users": 30, "delay_s": 0.5, "rate": 6.0},
         {"effective_warmup_s": 0.5, "drain_s": 3.75, "load_s": 6.25, "max_load_s": 6.25,
          "client_timeout_s": 16.25, "demanded_rps": 6.0}),
        ("open", {"users": 30, "delay_s": 0.5, "rate": 3.0},  # below capacity: no backlog
         {"drain_s": 2.5, "load_s": 5.0}),
        ("open", {"users": 30, "delay_s": 0.5, "rate": 1000.0},  # the drain is capped
         {"drain_s": 30.0}),
        ("calibrate", {"users": 8, "delay_s": 0.0},
         {"effective_warmup_s": 0.5, "drain_s": 2.0, "load_s": 2.5, "demanded_rps": None}),
    ],
)  # fmt: skip
def test_each_scenarios_timings(scenario, params, timings):
    p = point(scenario, **params)
    for name, value in timings.items():
        assert getattr(p.timings, name) == (None if value is None else pytest.approx(value)), name


def test_a_point_describes_itself_for_run_json():
    p = point("open", users=30, delay_s=0.5, rate=6.0)
    described = p.describe()
    assert described["config"] == "flask-sync-2" and described["point_id"] == p.point_id
    assert p.point_id == "001-open-flask-sync-2-l6-r1"
    for name in ("effective_warmup_s", "drain_s", "deadline_s", "client_timeout_s",
                 "ideal_latency_s"):  # fmt: skip
        assert described[name] == getattr(p.timings, name), name
    assert Point.from_description(described).describe() == described


def test_open_loop_without_an_end_mark_censors_at_the_window_end(tmp_path):
    p = point("open", config="flask-sync-1", users=10, delay_s=0.5, rate=4.0)
    start = T0 + 0.5
    rows = [mark("release", T0), *request(0, start + 0.1, intended=start)]
    row = runner.row_from_raw(p, write_raw(tmp_path, rows))
    assert row["unfinished"] == 1 and row["max_ms"] == pytest.approx(1000 * p.window_s)


def test_point_timings_follow_the_model():
    steady = point(users=8, delay_s=1.0)  # K = 2: latency 4 s, warm-up stagger + 4 s
    assert steady.timings.ideal_latency_s == pytest.approx(4.0)
    assert steady.timings.effective_warmup_s == pytest.approx(5.0)
    assert steady.timings.demanded_rps == pytest.approx(2.0)
    assert point(users=8, delay_s=1.0, warmup_s=9.0).timings.effective_warmup_s == pytest.approx(
        9.0
    )
    burst = point("burst", users=5, delay_s=1.0)  # 3 rounds
    assert burst.timings.demanded_rps is None, "a primed burst asks no sustained rate of the client"
    assert burst.timings.load_s == pytest.approx(3.0)
    assert burst.timings.deadline_s == pytest.approx(1.5 * 3.0 + 10.0)
    opened = point("open", users=10, delay_s=0.5, rate=3.0)  # K/D = 4/s
    assert opened.capacity_rps == pytest.approx(4.0)
    assert opened.timings.ideal_latency_s == pytest.approx(0.5)
    assert opened.timings.demanded_rps == pytest.approx(3.0)
    assert opened.timings.effective_warmup_s == pytest.approx(0.5)
    assert math.isinf(point("open", users=10, delay_s=0.5, rate=5.0).timings.ideal_latency_s)
    assert point("calibrate", delay_s=0.0).timings.demanded_rps is None


# --- figures from synthetic raw records ---------------------------------------------------


def test_a_burst_row_by_hand(tmp_path):
    """n = 5 on K = 2 at D = 1 s: 3 rounds, ideal 3 s; measured 3.75 s, so 0.8."""
    rows = [mark("release", T0, 0.5)]
    rows += request(0, T0, T0 + 1.0)
    rows += request(1, T0, T0 + 1.5)
    rows += request(2, T0 + 0.25, T0 + 3.75)
    rows += request(3, T0, T0 + 2.0, outcome="failed")
    rows += request(4, T0, T0 + 3.0, outcome="timeout")
    rows += [mark("end", T0 + 3.75, 1.0)]
    samples = [
        sample(T0 - 1.0, "idle", 40.0, 50.0),
        sample(T0 - 0.5, "idle", 42.0, 50.1),
        sample(T0 - 0.25, "idle", 60.0, 50.2),
        sample(T0 + 1.0, "load", 70.0, 51.0),
        sample(T0 + 3.5, "load", 65.0, 52.7),
        sample(T0 + 9.0, "load", 99.0, 60.0),  # after the end: not this point's
    ]
    row = runner.row_from_raw(
        point("burst", users=5, delay_s=1.0), write_raw(tmp_path, rows, samples)
    )
    assert (row["requests"], row["ok"], row["failed"], row["timeouts"]) == (5, 3, 1, 1)
    assert row["unfinished"] == 0
    assert row["makespan_s"] == pytest.approx(3.75) and row["duration_s"] == row["makespan_s"]
    assert row["ideal_makespan_s"] == pytest.approx(3.0)
    assert row["efficiency"] == pytest.approx(0.8)
    assert row["rps"] == pytest.approx(3 / 3.75)
    assert row["ideal_rps"] == pytest.approx(5 / 3.0)
    assert row["p50_ms"] == pytest.approx(1500.0)  # the ok requests only: 1000, 1500, 3500
    assert row["max_ms"] == pytest.approx(3500.0)
    assert row["p90_ms"] == pytest.approx(1500.0 + 0.8 * 2000.0)
    assert row["server_pss_idle_mb"] == pytest.approx(42.0)  # the median of the idle samples
    assert row["server_pss_peak_mb"] == pytest.approx(70.0)  # inside release..end only
    assert row["server_cpu_s"] == pytest.approx(52.7 - 50.2)  # from its value at the release
    assert row["loadgen_cpu_peak_pct"] == pytest.approx(100.0 * 0.5 / 3.75)
    assert row["send_spread_ms"] == pytest.approx(250.0), "first to last send: the client's"


def test_an_unfinished_burst_has_no_makespan(tmp_path):
    rows = [mark("release", T0), *request(0, T0, T0 + 1.0), *request(1, T0), mark("end", T0 + 25)]
    row = runner.row_from_raw(point("burst", users=2, delay_s=1.0), write_raw(tmp_path, rows))
    assert (row["requests"], row["ok"], row["unfinished"]) == (2, 1, 1)
    assert row["makespan_s"] is None and row["efficiency"] is None and row["rps"] is None


def test_a_steady_row_counts_its_window(tmp_path):
    """K = 2, C = 2, D = 0.5: warm-up max(0.5, 0.5 + 0.5) = 1 s, window [T0+1, T0+3)."""
    p = point(users=2, delay_s=0.5)
    start = T0 + 1.0
    rows = [mark("release", T0)]
    rows += request(0, T0 + 0.2, T0 + 0.7)  # before the window: not counted
    rows += request(1, start - 0.1, start + 0.4)  # sent before, completed inside: rps only
    rows += request(2, start, start + 0.5)
    rows += request(3, start + 1.0, start + 1.6)
    rows += request(4, start + 1.7, start + 2.2)  # sent inside, completed after: latency only
    rows += request(5, start + 1.8, outcome="failed", done=start + 1.9)
    rows += request(6, start + 1.9)  # unfinished
    rows += request(7, start + 2.0, start + 2.5)  # sent at the window's end: outside
    rows += [mark("end", start + 3.0)]
    row = runner.row_from_raw(p, write_raw(tmp_path, rows))
    assert (row["requests"], row["ok"], row["failed"], row["unfinished"]) == (5, 3, 1, 1)
    assert row["rps"] == pytest.approx(3 / 2.0)  # requests 1, 2 and 3 completed inside
    assert row["ideal_rps"] == pytest.approx(4.0)
    assert row["efficiency"] == pytest.approx(3 / 2.0 / 4.0)
    assert row["ideal_latency_ms"] == pytest.approx(500.0)
    assert row["p50_ms"] == pytest.approx(500.0) and row["max_ms"] == pytest.approx(600.0)
    assert row["duration_s"] == pytest.approx(2.0)
    assert row["makespan_s"] is None


def test_a_mixed_row_times_the_fast_page(tmp_path):
    p = point("mixed", users=2, delay_s=0.5)
    start = T0 + 1.0
    rows = [mark("release", T0), *request(0, start, start + 0.5)]
    rows += request(1, start + 0.1, start + 0.2, kind="page", latency_ms=100.0)
    rows += request(2, start + 0.3, start + 0.6, kind="page", latency_ms=300.0)
    rows += request(3, start + 0.7, kind="page")
    rows += request(4, start - 0.5, start - 0.4, kind="page", latency_ms=100.0)  # warm-up
    rows += [mark("end", start + 3.0)]
    row = runner.row_from_raw(p, write_raw(tmp_path, rows))
    assert (row["fast_requests"], row["fast_ok"]) == (3, 2)
    assert row["fast_p50_ms"] == pytest.approx(200.0)
    assert row["fast_p99_ms"] == pytest.approx(100.0 + 0.99 * 200.0)
    assert row["fast_max_ms"] == pytest.approx(300.0)
    assert row["requests"] == 1, "fast pages are not echoes"


def test_open_loop_latency_runs_from_the_intended_send_and_censors_the_unanswered(tmp_path):
    """D = 0.5, K = 1: the client sent late (queued), and one arrival never came back."""
    p = point("open", config="flask-sync-1", users=10, delay_s=0.5, rate=4.0)
    start = T0 + 0.5  # warm-up max(0.5, D)
    rows = [mark("release", T0)]
    rows += request(0, start + 0.30, start + 0.80, intended=start + 0.00)
    rows += request(1, start + 0.80, start + 1.30, intended=start + 0.25)
    rows += request(2, start + 1.30, intended=start + 0.50)  # in flight at the end
    rows += request(3, "", intended=start + 0.75)  # never left the client's queue
    rows += request(4, start + 0.10, start + 0.60, intended=start - 0.10)  # warm-up
    cut_short = start + 1.75  # the end mark: the point ended before its window did
    rows += [mark("end", cut_short)]
    row = runner.row_from_raw(p, write_raw(tmp_path, rows))
    assert (row["requests"], row["ok"], row["unfinished"]) == (4, 2, 2)
    latencies = sorted([800.0, 1050.0, 1000 * (1.75 - 0.50), 1000 * (1.75 - 0.75)])
    assert row["max_ms"] == pytest.approx(latencies[-1])
    assert row["p50_ms"] == pytest.approx((latencies[1] + latencies[2]) / 2)
    assert row["ideal_rps"] == pytest.approx(2.0)  # min(4/s offered, K/D = 2/s)
    assert row["rps"] == pytest.approx(3 / 2.0), "completed in the window: 0, 1 and the warm-up's"
    assert row.get("ideal_latency_ms") is None, "past capacity the queue has no ideal"
    # judged by arrivals answered within 2 x D = 1 s of their intended send: request 0
    # (0.80 s) only; request 1 took 1.05 s, 2 and 3 were never answered
    assert row["answered_in_bound_share"] == pytest.approx(1 / 4)


def test_calibration_has_no_ideal(tmp_path):
    p = point("calibrate", config="fastapi-async", users=2, delay_s=0.0)
    rows = [mark("release", T0), *request(0, T0 + 0.6, T0 + 0.61), mark("end", T0 + 3.0)]
    row = runner.row_from_raw(p, write_raw(tmp_path, rows))
    assert row["ideal_rps"] is None and row["efficiency"] is None
    assert row.get("ideal_latency_ms") is None
    assert row["rps"] == pytest.approx(0.5)


def test_records_of_several_processes_are_merged(tmp_path):
    """Two locust workers: the first release and last end, the busiest process's CPU."""
    a = [mark("release", T0, 1.0), *request(0, T0, T0 + 1.0), mark("end", T0 + 2.0, 1.5)]
    b = [mark("release", T0 + 0.01, 1.0), *request(0, T0, T0 + 1.9), mark("end", T0 + 2.5, 2.7)]
    write_raw(tmp_path, a, name="requests.w0.csv")
    write_raw(tmp_path, b, name="requests.w1.csv")
    row = runner.row_from_raw(point("burst", "fastapi-async", users=2, delay_s=1.0), tmp_path)
    assert (row["requests"], row["ok"]) == (2, 2), "same req_id in two files: two requests"
    assert row["makespan_s"] == pytest.approx(1.9)
    assert row["loadgen_cpu_peak_pct"] == pytest.approx(100 * 1.7 / 2.49)


def test_the_busiest_second_of_the_load_generator(tmp_path):
    """Ticks each second: the peak is the busiest >= 1 s window, not the mean."""
    rows = [mark("release", T0, 0.0), mark("tick", T0 + 1.0, 0.2), mark("tick", T0 + 2.0, 1.15),
            mark("tick", T0 + 3.0, 1.35), *request(0, T0, T0 + 1.0),
            mark("end", T0 + 4.0, 1.5)]  # fmt: skip
    row = runner.row_from_raw(point("burst", users=1, delay_s=1.0), write_raw(tmp_path, rows))
    assert row["loadgen_cpu_peak_pct"] == pytest.approx(95.0)
    samples = [
        sample(T0 - 0.5, "idle", 1, 1),
        sample(T0 + 0.5, "load", 1, 1, 0.0),
        sample(T0 + 1.5, "load", 1, 1, 2.0),
        sample(T0 + 9.0, "load", 1, 1, 20.0),
    ]
    pd.DataFrame(samples).to_csv(tmp_path / "samples.csv", index=False)
    one = point("burst", users=1, delay_s=1.0)
    # the sampler sees both processes: 200% over 1 s is 100% each; outside the phase, ignored
    assert runner.row_from_raw(one, tmp_path, 2)["loadgen_cpu_peak_pct"] == pytest.approx(100.0)
    (tmp_path / "point.json").write_text('{"loadgen": {"processes": 2, "external_workers": 0}}')
    assert runner.row_from_raw(one, tmp_path)["loadgen_cpu_peak_pct"] == pytest.approx(100.0)


# --- verdicts -----------------------------------------------------------------------------

MEASURED = {"requests": 10, "ok": 10}


@pytest.mark.parametrize(("peak", "bound"), [(None, False), (89.9, False), (90.0, True)])
def test_the_load_generator_is_bound_at_90_percent_of_a_core(peak, bound):
    judged = verdict.judge({**MEASURED, "loadgen_cpu_peak_pct": peak}, [])
    assert judged["loadgen_bound"] is bound and judged["valid"] is not bound
    assert ("load generator at 90% of a core" in judged["note"]) is bound


def test_a_bound_client_says_the_share_of_the_cores_it_took_and_its_cost_per_request():
    row = {**MEASURED, "loadgen_cpu_peak_pct": 95.0, "loadgen_cores": 0.93, "cores": 2,
           "loadgen_cpu_us_per_request": 41.4}  # fmt: skip
    assert verdict.judge(row, [])["note"] == (
        "load generator at 95% of a core (0.93 of the machine's 2 cores, 41 us per request)"
    )
    calm = verdict.judge({**row, "loadgen_cpu_peak_pct": 50.0}, [])
    assert "cores" not in calm["note"], "said only where the client binds"


def test_a_cpu_warning_from_locust_binds_the_point():
    warned = remark(verdict.LOADGEN_CPU, "locust warned: CPU usage above 90%")
    judged = verdict.judge({**MEASURED, "loadgen_cpu_peak_pct": 10.0}, [warned])
    assert judged["loadgen_bound"] and not judged["valid"]
    assert "locust warned" in judged["note"]


def test_the_warning_is_read_from_locusts_log(tmp_path, monkeypatch):
    monkeypatch.setattr(loadgen, "locust_argv", lambda *_: [sys.executable, "-c", "pass"])
    logs = [
        ("CPU usage above 90%! This may constrain your throughput", True),
        ("worker x exceeded cpu threshold", True),
        ("all fine", False),
    ]
    for text, warned in logs:
        (tmp_path / "locust.log").write_text(text)
        load = loadgen.LocustProcess(point("burst"), "http://127.0.0.1:9", tmp_path)
        load.start()
        assert load.wait().cpu_warning is warned


@pytest.mark.parametrize(("share", "bound"), [(0.7999, False), (0.8, True), (1.5, True)])
def test_the_calibrated_ceiling_rule(share, bound):
    judged = verdict.judge({**MEASURED, "loadgen_cpu_peak_pct": 10.0}, [], share * 1000, 1000)
    assert judged["loadgen_bound"] is bound and judged["valid"] is not bound
    assert ("calibrated ceiling of 1000 req/s" in judged["note"]) is bound
    assert verdict.judge(MEASURED, [], 5000.0, None)["valid"], "no calibration, no rule"


def test_problems_invalidate_by_flag_never_by_wording():
    said = remark(verdict.EXTERNAL, "server died mid-point (only words)")
    assert verdict.judge(MEASURED, [said])["valid"]
    broke = Problem(verdict.SERVER, "external target: words of a remark")
    judged = verdict.judge(MEASURED, [broke])
    assert not judged["valid"] and not judged["loadgen_bound"]
    assert judged["note"] == "external target: words of a remark"


def test_failures_are_said_but_a_point_without_requests_is_invalid():
    judged = verdict.judge(
        {"requests": 9, "ok": 5, "failed": 2, "timeouts": 1, "unfinished": 1}, []
    )
    assert judged["valid"]
    assert judged["note"] == "2 failed; 1 timed out; 1 unfinished at end"
    empty = verdict.judge({}, [])
    assert not empty["valid"] and empty["note"] == "no request was measured"
    assert not verdict.judge({"requests": 0}, [])["valid"]


def test_calibration_points_survive_a_busy_load_generator_but_not_breakage():
    busy = verdict.judge_calibration({**MEASURED, "loadgen_cpu_peak_pct": 99.0}, [])
    assert busy["valid"] and busy["loadgen_bound"]
    assert busy["note"] == (
        "load generator at 99% of a core; R0 is a lower bound of the server's capacity: "
        "the load generator was the busier side"
    )
    calm = verdict.judge_calibration({**MEASURED, "loadgen_cpu_peak_pct": 50.0}, [])
    assert calm["valid"] and "lower bound" not in calm["note"]
    assert not verdict.judge_calibration(MEASURED, [Problem(verdict.SERVER, "x")])["valid"]
    assert not verdict.judge_calibration({"requests": 0}, [])["valid"]


def test_the_load_generator_ceiling_from_a_calibration_row():
    row = {"valid": True, "rps": 1000.0, "loadgen_cpu_peak_pct": 50.0}
    assert verdict.loadgen_ceiling_rps(row) == pytest.approx(2000.0)
    assert verdict.loadgen_ceiling_rps({**row, "valid": False}) is None
    assert verdict.loadgen_ceiling_rps({**row, "loadgen_cpu_peak_pct": None}) is None
    assert verdict.loadgen_ceiling_rps({**row, "rps": None}) is None


def test_a_run_keeps_every_calibration_sample_and_their_medians(tmp_path):
    run = runner.Run("t", profiles.load_profile("smoke"), tmp_path)
    samples = [("a", 1000.0, 50.0), ("b", 900.0, 30.0), ("c", 5000.0, None), ("a", 1400.0, 20.0)]
    for i, (config, rps, cpu) in enumerate(samples):
        run.calibrate({"point_id": f"p{i}", "config": config, "valid": True, "rps": rps,
                       "loadgen_cpu_peak_pct": cpu})  # fmt: skip
    run.calibrate({"point_id": "x", "config": "d", "valid": False, "rps": 1e6,
                   "loadgen_cpu_peak_pct": 1.0})  # fmt: skip
    cal = run.calibration
    assert cal["r0_rps"] == {"a": 1200.0, "b": 900.0, "c": 5000.0}, "a's two samples: median"
    assert cal["r0_rps_range"]["a"] == [1000.0, 1400.0]
    assert cal["loadgen_ceiling_rps"] == pytest.approx(3000.0), "median of 2000, 3000, 7000"
    assert cal["loadgen_ceiling_range"] == pytest.approx([2000.0, 7000.0])
    assert cal["loadgen_ceiling_samples"] == 3 and len(cal["samples"]) == 4


def test_one_calibration_sample_says_the_demand_but_decides_nothing():
    judged = verdict.judge({**MEASURED, "loadgen_cpu_peak_pct": 10.0}, [], 900.0, 1000.0, 1)
    assert judged["valid"] and not judged["loadgen_bound"]
    assert "(one calibration sample: said, not decisive)" in judged["note"]
    assert not verdict.judge({**MEASURED, "loadgen_cpu_peak_pct": 10.0}, [], 900.0, 1000.0,
                             2)["valid"]  # fmt: skip


def test_calibration_repeats_are_spread_through_the_run(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(
        'description = "t"\n[[groups]]\nscenario = "calibrate"\nconfigs = ["fastapi-async"]\n'
        'users = [8]\nrepeat = 3\n[[groups]]\nscenario = "burst"\nconfigs = ["fastapi-async"]\n'
        "users = [1, 2, 3, 4, 5, 6]\ndelay_s = 0.1\n"
    )
    order = [(p.scenario, p.repeat) for p in profiles.load_profile(str(path)).points]
    assert [i for i, (s, _) in enumerate(order) if s == "calibrate"] == [0, 3, 6]
    assert order[0] == ("calibrate", 1) and len(order) == 9


def _roll(expected=1, **worker) -> dict:
    base = {"index": 2, "host": "h", "pid": 7, "done": True, "rows_sent": 4, "rows_received": 4,
            "fingerprint": "f", "clock_rtt_s": 0.001, "clock_offset_s": 0.0}  # fmt: skip
    return {"expected": expected, "fingerprint": "f", "workers": {"n": {**base, **worker}}}


WHO = "worker 2 (h, pid 7)"
MISSING = (
    "0 of 1 load-generator workers finished their share; the requests of the others are missing"
)
W = verdict.WORKERS


@pytest.mark.parametrize(
    ("roll", "problems"),
    [
        (_roll(), []),
        (_roll(done=False, lost=True), [(W, MISSING), (W, "worker 2 was lost mid-point")]),
        (_roll(done=False), [(W, MISSING)]),
        (_roll(late=True), [(W, MISSING),
                            (W, "worker 2 joined mid-point (locust moved users between workers)")]),
        (_roll(expected=2), [(W, MISSING.replace("0 of 1", "1 of 2"))]),
        (_roll(rows_received=3), [(W, f"{WHO} sent 4 records, 3 arrived")]),
        (_roll(rows_received=None), [(W, f"{WHO} sent 4 records, None arrived")]),
        ({**_roll(), "workers": {"n": {k: v for k, v in _roll()["workers"]["n"].items()
                                        if k != "rows_received"}}},
         [(W, f"{WHO} sent 4 records, 0 arrived")]),
        ({**_roll(), "workers": {"n": {k: v for k, v in _roll(rows_sent=0)["workers"]["n"].items()
                                        if k != "rows_received"}}}, []),  # no users, no rows
        (_roll(fingerprint="g"), [(W, f"{WHO} runs another echobench version than the master")]),
        (_roll(clock_rtt_s=None), [(W, f"{WHO} could not measure its clock offset to the master")]),
        (_roll(clock_rtt_s=0.010), []),  # ±5 ms: within the tolerance
        (_roll(rows_sent=0, rows_received=None) | {}, [(W, f"{WHO} sent 0 records, None arrived")]),
        (_roll(clock_rtt_s=0.012), [(verdict.CLOCK, "worker clocks known to within ±6 ms of the "
                                                   "master's")]),
        (_roll(clock_rtt_s=1.0009), [(verdict.CLOCK, "worker clocks known to within ±500 ms of "
                                                    "the master's")]),
        (_roll(clock_rtt_s=0.04), [(verdict.CLOCK, "worker clocks known to within ±20 ms of the "
                                                  "master's")]),
    ],
)  # fmt: skip
def test_the_roll_call_judges_the_point(tmp_path, roll, problems):
    (tmp_path / "workers.json").write_text(json.dumps(roll))
    found = loadgen.worker_problems(tmp_path)
    assert [(p.cause, p.text) for p in found] == problems
    assert [p.invalidates for p in found] == [kind != verdict.CLOCK for kind, _ in problems]
    valid = all(kind == verdict.CLOCK for kind, _ in problems)
    assert verdict.judge({"requests": 4, "ok": 4}, found)["valid"] is valid
    assert loadgen.worker_problems(tmp_path / "nowhere") == [], "not distributed: no roll call"


def test_a_remark_never_invalidates():
    said = remark(verdict.EXTERNAL, "x")
    assert said.invalidates is False and str(said) == "x"
    assert Problem(verdict.SERVER, "y").invalidates is True


def test_the_clock_offset_comes_from_the_shortest_round_trip():
    skew = 123.456  # the worker's clock runs 123.456 s behind the master's
    # (sent, master's stamp, received): out 40 ms back 2 ms; out 1 ms back 9 ms; 30 + 20 ms
    pings = [(10.0, 10.0 + skew + 0.040, 10.042), (20.0, 20.0 + skew + 0.001, 20.010),
             (30.0, 30.0 + skew + 0.030, 30.050)]  # fmt: skip
    rtt, offset = clock.offset_from_pings(pings)
    assert rtt == pytest.approx(0.010)
    assert offset == pytest.approx(skew + 0.001 - 0.005)
    assert abs(offset - skew) <= rtt / 2
    assert clock.offset_from_pings([]) is None


# --- repeats and comparisons --------------------------------------------------------------

# the headline figure of each scenario and whether a larger value is better, as documented
DIRECTION = {
    "burst": ("makespan_s", False),
    "steady": ("rps", True),
    "mixed": ("fast_p50_ms", False),
    "open": ("p99_ms", False),
    "calibrate": ("rps", True),
}


def _runs(scenario: str, figure: str, a_values, b_values) -> tuple[pd.DataFrame, pd.DataFrame]:
    def frame(values):
        return pd.DataFrame({"scenario": scenario, "config": "c", "users": 8,
                             "offered_rps": 2.0 if scenario == "open" else float("nan"),
                             "delay_s": 0.5, "repeat": range(1, len(values) + 1), "valid": True,
                             figure: values})  # fmt: skip

    return frame(a_values), frame(b_values)


@pytest.mark.parametrize("scenario", sorted(DIRECTION))
@pytest.mark.parametrize("change", [1.2, 1 / 1.2])
def test_compare_knows_which_way_is_better(scenario, change):
    figure, higher_better = DIRECTION[scenario]
    a, b = _runs(scenario, figure, [100.0, 101.0, 99.0], [100 * change, 101 * change, 99 * change])
    (row,) = stats.compare(a, b).to_dict("records")
    assert row["figure"] == figure
    assert row["ratio_b_over_a"] == pytest.approx(change)
    assert row["verdict"] == ("better" if (change > 1) == higher_better else "worse")


def test_compare_verdicts():
    values = {
        "same": ([100, 101, 99], [100, 99, 101]),
        "faster": ([100, 101, 99], [120, 121, 119]),
        "noisy": ([80, 100, 120], [90, 110, 130]),
        "tiny": ([100, 100.5, 99.5], [101, 101.5, 100.5]),
        "slower": ([100, 101, 99], [80, 81, 79]),
    }
    frames = {side: pd.concat([
        _runs("steady", "rps", *pair)[side].assign(config=config) for config, pair in values.items()
    ]) for side in (0, 1)}  # fmt: skip
    verdicts = stats.compare(frames[0], frames[1]).set_index("config")["verdict"].to_dict()
    assert verdicts == {"same": "not significant", "faster": "better", "noisy": "not significant",
                        "tiny": "not significant", "slower": "worse"}  # fmt: skip
    invalid = frames[1].assign(valid=False)
    assert stats.compare(frames[0], invalid).empty, "only points both runs measured validly"


def test_repeats_are_aggregated_by_median_and_interval():
    summary = pd.DataFrame({"scenario": "steady", "config": "fastapi-async", "users": 8,
                            "offered_rps": float("nan"), "delay_s": 0.5, "repeat": [1, 2, 3, 4],
                            "valid": [True, True, True, False], "rps": [15.0, 16.0, 17.0, 100.0],
                            "efficiency": 1.0, "makespan_s": float("nan"), "p50_ms": 500.0,
                            "p99_ms": 510.0, "server_pss_peak_mb": 40.0})  # fmt: skip
    agg = stats.aggregate(summary).iloc[0]
    assert agg["repeats"] == 4 and agg["valid_repeats"] == 3 and agg["rps_median"] == 16.5
    assert (agg["rps_ci_low"], agg["rps_ci_high"]) == (15.0, 100.0), "the range of 4"
    assert agg["ci_level"] == pytest.approx(1 - 2 * 0.5**4)


def test_repeats_run_in_a_shuffled_reproducible_order():
    profile = profiles.load_profile("quick", repeat=3, seed=7)
    order = [(p.config.id, p.scenario, p.users, p.repeat) for p in profile.points]
    assert len(order) == 3 * len(profiles.load_profile("quick").points)
    assert order != sorted(order, key=lambda o: o[3]), "repeats interleave"
    assert [p.index for p in profile.points] == list(range(1, len(order) + 1))
    again = profiles.load_profile("quick", repeat=3, seed=7).points
    assert order == [(p.config.id, p.scenario, p.users, p.repeat) for p in again]


# --- the writers --------------------------------------------------------------------------


def test_every_result_file_is_written_atomically(tmp_path, monkeypatch):
    """summary.csv, aggregate.csv and run.json all go through the temporary-file rename."""
    written = []
    real = results.atomic_write

    def spy(path, text):
        written.append(path.name)
        real(path, text)

    monkeypatch.setattr(results, "atomic_write", spy)
    run = runner.Run("t", profiles.load_profile("smoke"), tmp_path)
    run.rows.append({"scenario": "burst", "config": "c", "users": 1, "delay_s": 1.0, "repeat": 1,
                     "valid": True, "rps": 1.0})  # fmt: skip
    run.save()
    assert sorted(written) == ["aggregate.csv", "run.json", "summary.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(written)


# --- the scenario registry ----------------------------------------------------------------


def _defined_users(kind) -> set[str]:
    """The classes a scenario's user modules define, read without importing locust."""
    found = set()
    for path in loadgen.locustfiles([kind]).split(",")[1:]:
        tree = ast.parse(Path(path).read_text())
        found |= {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    return found


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_is_complete(tmp_path, name):
    """A scenario is one object: users that exist, a headline the summary has, a report
    section, timings for a point, figures in the summary's columns, a locust payload."""
    kind = SCENARIOS[name]
    assert kind.name == name and kind.title
    assert set(kind.user_classes) <= _defined_users(kind)
    assert kind.headline in results.COLUMNS
    assert stats.HEADLINE[name] == (kind.headline, kind.higher_is_better)
    extra = {"rate": 2.0} if kind.by_rate else {}
    p = point(name, delay_s=0.0 if kind.calibrates else 0.5, **extra)
    assert p.scenario_def is kind and p.point_id.startswith(f"001-{name}-flask-sync-2-")
    for timing in ("effective_warmup_s", "drain_s", "deadline_s", "client_timeout_s",
                   "load_s", "max_load_s", "expected_s"):  # fmt: skip
        value = getattr(p.timings, timing)
        assert math.isfinite(value) and value >= 0, (name, timing, value)
    assert p.timings.max_load_s >= p.timings.load_s - 1e-9
    row = runner.row_from_raw(p, write_raw(tmp_path, [mark("release", T0), mark("end", T0 + 3)]))
    assert set(row) <= set(results.COLUMNS), set(row) - set(results.COLUMNS)
    payload = loadgen.locust_point(p, tmp_path)
    assert set(payload) == set(settings.LocustPoint.__dataclass_fields__)
    argv = loadgen.locust_argv(p, "http://127.0.0.1:9", tmp_path)
    assert argv[-len(kind.user_classes) :] == list(kind.user_classes)
    assert settings.parse(argv[argv.index("--eb-point") + 1]) == settings.LocustPoint(**payload)


def test_a_calibration_whose_client_was_bound_gives_a_lower_bound_never_an_r0():
    samples = [
        {"config": "a", "r0_rps": 3900.0, "loadgen_ceiling_rps": 3950.0, "client_bound": True},
        {"config": "a", "r0_rps": 3940.0, "loadgen_ceiling_rps": 3960.0, "client_bound": True},
        {"config": "b", "r0_rps": 2000.0, "loadgen_ceiling_rps": 6000.0, "client_bound": False},
        {"config": "b", "r0_rps": 3000.0, "loadgen_ceiling_rps": 3100.0, "client_bound": True},
    ]
    cal = verdict.calibration_figures(samples)
    assert cal["r0_rps"] == {"b": 2000.0}, "only b's unbound sample is a server's R0"
    assert cal["r0_rps_lower_bound"] == {"a": 3940.0}, "a: R0 >= its best bound sample"
    assert cal["loadgen_ceiling_samples"] == 4, "a bound sample still measures the client"
    lines = findings.scale(pd.DataFrame(columns=["scenario", "config", "users"]), cal)
    assert "a: R0 >= 3940 req/s (client-bound" in " ".join(lines)
    assert not any(line.startswith("a: zero-delay capacity R0 =") for line in lines)


def test_a_calibration_takes_the_faster_client_that_was_not_bound():
    samples = [
        # locust bound at 3900; the minimal client, unbound, saw the server at 5200
        {"config": "a", "r0_rps": 3900.0, "client_bound": True, "r0_minimal_rps": 5200.0,
         "minimal_bound": False},
        {"config": "a", "r0_rps": 3950.0, "client_bound": True, "r0_minimal_rps": 5000.0,
         "minimal_bound": False},
        # both free: the faster one is nearer the server's capacity
        {"config": "b", "r0_rps": 2000.0, "client_bound": False, "r0_minimal_rps": 2100.0,
         "minimal_bound": False},
        # both bound: only a lower bound, the best of the two
        {"config": "c", "r0_rps": 3000.0, "client_bound": True, "r0_minimal_rps": 4100.0,
         "minimal_bound": True},
        # a run before the minimal client: locust's alone, as before
        {"config": "d", "r0_rps": 1500.0, "client_bound": False},
    ]  # fmt: skip
    cal = verdict.calibration_figures(samples)
    assert cal["r0_rps"] == {"a": 5100.0, "b": 2100.0, "d": 1500.0}
    assert cal["r0_rps_lower_bound"] == {"c": 4100.0}
    assert cal["r0_rps_minimal"] == {"a": 5100.0, "b": 2100.0, "c": 4100.0}


def test_the_minimal_client_that_cannot_start_leaves_the_calibration_to_locust(
    tmp_path, monkeypatch
):
    from echobench import processes, rawclient

    def refuse(*_args, **_kwargs):
        raise OSError("no such program")

    monkeypatch.setattr(processes, "spawn", refuse)
    said = rawclient.measure_r0("127.0.0.1", 9, tmp_path)
    assert said == {"error": "the minimal client could not start: no such program"}
    assert rawclient.read(tmp_path) == said
    with pytest.raises(SystemExit):  # loopback only, and bounded
        rawclient.main(["--host", "10.1.2.3", "--port", "9", "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit):
        rawclient.main(["--host", "127.0.0.1", "--port", "9", "--connections", "5000",
                        "--out", str(tmp_path / "x")])  # fmt: skip
