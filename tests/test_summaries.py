"""The edges of the figures and comparisons: boundaries, empty inputs, exact outputs.

Companion of test_model_and_rules.py; each test pins a case that a plausible slip in
echobench.metrics or echobench.stats would get wrong (found by `nox -s mutants`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from echobench import metrics, runner, stats
from tests.test_model_and_rules import T0, mark, point, request, write_raw

SAMPLE_COLUMNS = ["t", "phase", "server_alive", "server_procs", "server_pss_mb",
                  "server_rss_mb", "server_cpu_s", "loadgen_cpu_s"]  # fmt: skip


def frame(*samples) -> pd.DataFrame:
    return pd.DataFrame(list(samples), columns=SAMPLE_COLUMNS)


# --- marks and the load generator's CPU ---------------------------------------------------


def test_marks_give_release_end_mean_and_busiest_second(tmp_path):
    rows = [mark("release", T0, 1.0), mark("tick", T0 + 1.0, 1.5), mark("tick", T0 + 2.0, 2.25),
            mark("end", T0 + 3.0, 3.25)]  # fmt: skip
    _requests, marks = metrics.read_point(write_raw(tmp_path, rows))
    assert marks == {
        "release": T0,
        "end": T0 + 3.0,
        "loadgen_mean_pct": pytest.approx(100 * 2.25 / 3.0),
        "loadgen_tick_peak_pct": pytest.approx(100.0),  # the last second ends at the end mark
        "loadgen_cpu_s": pytest.approx(2.25),
        "loadgen_sent": 0,
    }


@pytest.mark.parametrize(("phase_s", "has_mean"), [(0.25, True), (0.2, False)])
def test_no_cpu_mean_over_a_phase_shorter_than_a_quarter_second(tmp_path, phase_s, has_mean):
    rows = [mark("release", T0, 1.0), mark("end", T0 + phase_s, 1.0 + phase_s / 2)]
    _requests, marks = metrics.read_point(write_raw(tmp_path, rows))
    assert ("loadgen_mean_pct" in marks) is has_mean
    assert marks["loadgen_cpu_s"] == pytest.approx(phase_s / 2), "the cost needs no length"
    if has_mean:
        assert marks["loadgen_mean_pct"] == pytest.approx(50.0)


def test_the_clients_cpu_per_request_sums_its_processes_and_counts_only_sent_requests(tmp_path):
    """Two locust processes: 0.03 s and 0.01 s of CPU for 3 and 1 requests sent; an arrival
    never sent (no send time) and a process killed before its end mark count for nothing."""
    first = [
        mark("release", T0, 1.0),
        *request(0, T0 + 0.1, T0 + 0.2),
        *request(1, T0 + 0.2, T0 + 0.3),
        *request(2, T0 + 0.3),
        mark("end", T0 + 1, 1.03),
    ]
    never_sent = {"event": "send", "req_id": 3, "kind": "echo", "intended_at": T0 + 0.9}
    second = [
        mark("release", T0, 5.0),
        *request(0, T0 + 0.1, T0 + 0.2),
        never_sent,
        mark("end", T0 + 1, 5.01),
    ]
    killed = [mark("release", T0, 2.0), *request(0, T0 + 0.1)]
    for name, rows in (("w0", first), ("w1", second), ("w2", killed)):
        write_raw(tmp_path, rows, name=f"requests.{name}.csv")
    _requests, marks = metrics.read_point(tmp_path)
    assert (marks["loadgen_cpu_s"], marks["loadgen_sent"]) == (pytest.approx(0.04), 4)
    assert metrics.loadgen_cpu_us_per_request(marks) == pytest.approx(10_000.0)
    assert metrics.loadgen_cpu_us_per_request({"loadgen_cpu_s": 0.1, "loadgen_sent": 0}) is None
    assert metrics.loadgen_cpu_us_per_request({}) is None


def test_marks_without_an_end(tmp_path):
    _requests, marks = metrics.read_point(write_raw(tmp_path, [mark("release", T0, 1.0)]))
    assert marks == {"release": T0}


def test_the_windowed_peak_over_irregular_samples():
    t = [0.0, 0.5, 1.0, 1.2, 2.6, 3.0, 4.0, 5.0]
    cpu = [0.0, 0.1, 0.2, 0.7, 1.0, 1.05, 1.1, 1.3]
    # windows end at each sample and start at the latest sample >= 1 s before it
    assert metrics._windowed_peak_pct(t, cpu) == pytest.approx(100 * 0.7 / 1.2)
    assert metrics._windowed_peak_pct([0.0, 0.5], [0.0, 1.0]) is None, "no window of 1 s"
    assert metrics._windowed_peak_pct([], []) is None


def test_the_error_mark_and_an_empty_record_file(tmp_path):
    (tmp_path / "requests.w0.csv").write_text("")  # a worker that wrote nothing: skipped
    write_raw(tmp_path, [mark("release", T0), *request(5, T0, T0 + 1)], name="requests.w1.csv")
    error = {"event": "mark", "kind": "error", "sent_at": T0 + 2, "cpu_s": 0.0, "error": "boom"}
    write_raw(tmp_path, [mark("release", T0 + 1), error], name="requests.w2.csv")
    requests, marks = metrics.read_point(tmp_path)
    assert requests["req_id"].tolist() == ["1:5.0"], "file index and record id"
    assert marks["error"] == T0 + 2 and marks["release"] == T0
    assert runner.row_from_raw(point("burst", users=1), tmp_path) == {}, "an error: no figures"


def test_no_records_at_all(tmp_path):
    requests, marks = metrics.read_point(tmp_path)
    assert len(requests) == 0 and marks == {}
    assert list(requests.columns) == [
        "req_id", "kind", "sent_at", "intended_at", "done_at",
        "latency_ms", "status", "outcome", "error", "worker", "server_timing",
    ]  # fmt: skip


def test_records_of_another_shape_are_refused(tmp_path):
    (tmp_path / "requests.csv").write_text("event,req_id\nsend,1\n")
    with pytest.raises(ValueError, match=r"requests.csv: unexpected columns \['event', 'req_id'\]"):
        metrics.read_point(tmp_path)
    write_raw(tmp_path, [mark("release", T0)])
    with open(tmp_path / "requests.csv", "a") as out:
        out.write("send,1,echo,0,1000.0,,,,,,,,,,surplus\n")  # a row with one field too many
    with pytest.raises((pd.errors.ParserError, pd.errors.ParserWarning)):
        metrics.read_point(tmp_path)


def test_the_load_generator_peak_inside_the_phase_only():
    samples = frame(
        [T0 - 1.0, "idle", True, 1, None, None, None, 0.0],
        [T0, "load", True, 1, None, None, None, 0.0],  # exactly at the release: inside
        [T0 + 1.0, "load", True, 1, None, None, None, 0.9],
        [T0 + 2.0, "load", True, 1, None, None, None, 1.2],  # exactly at the end: inside
        [T0 + 2.5, "load", True, 1, None, None, None, 9.0],
    )
    marks = {"release": T0, "end": T0 + 2.0}
    assert metrics.loadgen_cpu_peak_pct(samples, marks) == pytest.approx(90.0)
    later = {"release": T0 + 1.0, "end": T0 + 2.0}  # one window, from sample to sample
    assert metrics.loadgen_cpu_peak_pct(samples, later) == pytest.approx(30.0)
    assert metrics.loadgen_cpu_peak_pct(samples, marks, processes=3) == pytest.approx(30.0)
    assert metrics.loadgen_cpu_peak_pct(samples, {**marks, "loadgen_mean_pct": 95.0}) == 95.0
    assert metrics.loadgen_cpu_peak_pct(frame(), {}) is None


# --- the server's samples ------------------------------------------------------------------


def test_server_figures_at_the_edges_of_the_phase():
    samples = frame(
        [T0 - 1.0, "idle", True, 2, 40.0, 80.0, 10.0, 5.0],
        [T0, "load", True, 2, 60.0, 90.0, 11.0, 5.5],  # at the start: in the peak, CPU base
        [T0 + 1.0, "load", True, 2, 45.0, 95.0, 12.0, 6.0],
        [T0 + 2.0, "load", True, 2, 55.0, 99.0, 14.0, 7.0],  # at the end: in
        [T0 + 2.1, "load", True, 2, 70.0, 99.0, 20.0, 9.0],
    )
    assert metrics.server_figures(samples, T0, T0 + 2.0) == {
        "server_pss_idle_mb": 40.0,
        "server_pss_peak_mb": 60.0,
        "server_cpu_s": pytest.approx(3.0),
        "server_cores": pytest.approx(1.5),  # 3 CPU s over the 2 s between its samples
        "loadgen_cores": pytest.approx(0.75),  # 1.5 CPU s over the same 2 s
    }
    assert metrics.server_figures(samples, T0 + 0.5, T0 + 2.0)["server_pss_peak_mb"] == 55.0


def test_server_figures_without_samples_in_each_phase():
    load_only = frame([T0 + 1.0, "load", True, 1, 45.0, 90.0, 12.0, None])
    assert metrics.server_figures(load_only, T0, T0 + 2.0) == {
        "server_pss_idle_mb": None,
        "server_pss_peak_mb": 45.0,
        "server_cpu_s": None,  # nothing before the start to subtract
        "server_cores": None,
        "loadgen_cores": None,
    }
    idle_only = frame([T0 - 1.0, "idle", True, 1, 40.0, 90.0, 12.0, None])
    assert metrics.server_figures(idle_only, T0, T0 + 2.0) == {
        "server_pss_idle_mb": 40.0,
        "server_pss_peak_mb": None,
        "server_cpu_s": 0.0,
        "server_cores": None,  # no time between its samples to divide by
        "loadgen_cores": None,
    }


# --- percentiles, counts, missing values ---------------------------------------------------


def test_percentiles_of_one_and_of_none():
    assert metrics.percentiles([7.0]) == dict.fromkeys(
        ["p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"], 7.0
    )
    assert metrics.percentiles([]) == dict.fromkeys(
        ["p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"]
    )
    assert metrics.percentiles(["1", "3"])["p50_ms"] == 2.0


def test_counts_are_zero_not_missing_for_an_absent_outcome():
    outcomes = pd.DataFrame({"outcome": ["failed", "unfinished", "unfinished"]})
    assert metrics.counts(outcomes) == {
        "requests": 3, "ok": 0, "failed": 1, "timeouts": 0, "unfinished": 2
    }  # fmt: skip


def test_missing_is_none_never_nan():
    assert metrics.none_if_nan({"a": float("nan"), "b": 1.5, "c": None, "d": "x"}) == {
        "a": None, "b": 1.5, "c": None, "d": "x"
    }  # fmt: skip


# --- window boundaries of a steady point ---------------------------------------------------


def test_the_window_is_closed_at_its_start_and_open_at_its_end(tmp_path):
    """K = 2, C = 2, D = 0.5: the window is [T0 + 1, T0 + 3) for sends and completions."""
    start, stop = T0 + 1.0, T0 + 3.0
    rows = [mark("release", T0)]
    rows += request(0, start - 0.5, start)  # completed exactly at the start: counted
    rows += request(1, start, stop)  # sent at the start: measured; done at the stop: not
    rows += request(2, stop, stop + 0.5)  # sent at the stop: not measured
    rows += request(3, start, start + 0.5, kind="page", latency_ms=1.0)  # fast page: in
    rows += request(4, stop, stop + 0.5, kind="page", latency_ms=1.0)  # at the stop: out
    rows += [mark("end", stop + 1.0)]
    row = runner.row_from_raw(point("mixed", users=2, delay_s=0.5), write_raw(tmp_path, rows))
    assert row["requests"] == 1 and row["rps"] == pytest.approx(1 / 2.0)
    assert row["fast_requests"] == 1
    assert "ideal_makespan_s" in row and row["ideal_makespan_s"] is None


def test_without_a_release_mark_nothing_is_measured(tmp_path):
    """No rate without a release; the window then starts at t = 0 + warm-up (here 1 s)."""
    rows = [*request(0, 0.2, 0.7), *request(1, 1.2, 1.7)]
    row = runner.row_from_raw(point(users=2, delay_s=0.5), write_raw(tmp_path, rows))
    assert row["rps"] is None and row["requests"] == 1


# --- comparisons: the whole table ----------------------------------------------------------


def _point_rows(scenario, config, figure, values, offered=math.nan):
    return [{"scenario": scenario, "config": config, "users": 8, "offered_rps": offered,
             "delay_s": 0.5, "repeat": i, "valid": True, figure: v}
            for i, v in enumerate(values, 1)]  # fmt: skip


def test_compare_gives_every_column_in_the_order_of_run_a():
    a = pd.DataFrame([
        *_point_rows("steady", "zeta", "rps", [10.0]),  # only in A: skipped, not the end
        *_point_rows("steady", "empty", "rps", [10.0]),  # B measured nothing: skipped too
        *_point_rows("steady", "beta", "rps", [10.0, 10.0, 10.0]),
        *_point_rows("open", "alpha", "p99_ms", [100.0, 101.0, 99.0], offered=0.5),
        *_point_rows("custom", "alpha", "rps", [10.0]),  # no headline: rps, higher is better
    ])  # fmt: skip
    b = pd.DataFrame([
        *_point_rows("steady", "beta", "rps", [12.0, 12.0, 12.0]),
        *_point_rows("open", "alpha", "p99_ms", [150.0, 151.0, 149.0], offered=0.5),
        *_point_rows("custom", "alpha", "rps", [5.0]),
        *_point_rows("steady", "empty", "rps", [math.nan]),  # nothing measured in B
    ])  # fmt: skip
    table = stats.compare(a, b)
    assert list(table.columns) == ["scenario", "config", "users", "offered_rps", "delay_s",
                                   "work_ms", "io", "pool", "slow_kind", "slow_clients",
                                   "figure", "a_median", "a_ci_low", "a_ci_high",
                                   "b_median", "b_ci_low", "b_ci_high", "ratio_b_over_a",
                                   "a_repeats", "b_repeats", "verdict"]  # fmt: skip
    records = table.to_dict("records")
    assert [r["config"] for r in records] == ["beta", "alpha", "alpha"]
    beta, opened, custom = records
    assert beta["figure"] == "rps" and beta["verdict"] == "better"
    assert (beta["a_median"], beta["b_median"], beta["a_repeats"], beta["b_repeats"]) == (
        10.0, 12.0, 3, 3)  # fmt: skip
    assert math.isnan(beta["offered_rps"]) and opened["offered_rps"] == 0.5
    assert opened["figure"] == "p99_ms" and opened["verdict"] == "worse"
    assert (opened["b_ci_low"], opened["b_ci_high"]) == (149.0, 151.0), "B's range at n = 3"
    assert custom["figure"] == "rps" and custom["verdict"] == "too few repeats", "n = 1"
    assert math.isnan(custom["a_ci_low"])


def test_points_that_differ_only_in_cpu_work_are_never_compared_together():
    a = pd.DataFrame([{**r, "work_ms": w} for w, v in ((0.0, 100.0), (25.0, 40.0))
                      for r in _point_rows("steady", "beta", "rps", [v])])  # fmt: skip
    b = a.assign(rps=a["rps"] * 1.5)
    table = stats.compare(a, b)
    assert list(table["work_ms"]) == [0.0, 25.0]
    assert list(table["ratio_b_over_a"]) == [1.5, 1.5]


@pytest.mark.parametrize(
    ("a_values", "b_values", "threshold", "verdict"),
    [
        ([110.0, 110.0, 110.0], [100.0, 100.0, 110.0, 110.0], 0.0, "not significant"),  # touch
        ([100.0, 100.0, 110.0, 110.0], [110.0, 110.0, 110.0], 0.0, "not significant"),
        ([100.0, 100.0, 100.0], [110.0, 110.0, 110.1], 0.0, "better"),
        ([99.0, 100.0, 101.0], [124.5, 125.0, 126.0], 0.25, "better"),  # exactly the threshold
        ([99.0, 100.0, 101.0], [123.0, 124.0, 126.0], 0.25, "not significant"),
        ([100.0, 100.0], [200.0, 200.0], 0.0, "too few repeats"),  # two each decide nothing
    ],
)
def test_compare_at_its_boundaries(a_values, b_values, threshold, verdict):
    a = pd.DataFrame(_point_rows("steady", "c", "rps", a_values))
    b = pd.DataFrame(_point_rows("steady", "c", "rps", b_values))
    (row,) = stats.compare(a, b, threshold=threshold).to_dict("records")
    assert row["verdict"] == verdict


def test_compare_from_zero_has_no_ratio():
    a = pd.DataFrame(_point_rows("steady", "c", "rps", [0.0, 0.0, 0.0]))
    b = pd.DataFrame(_point_rows("steady", "c", "rps", [5.0, 5.0, 5.0]))
    (row,) = stats.compare(a, b).to_dict("records")
    assert math.isnan(row["ratio_b_over_a"])


def test_aggregate_keeps_open_rates_and_empty_closed_ones_in_run_order():
    summary = pd.DataFrame([
        *_point_rows("steady", "zeta", "rps", [10.0, 12.0]),
        *_point_rows("open", "alpha", "rps", [3.0], offered=0.5),
    ]).assign(efficiency=1.0, makespan_s=math.nan, p50_ms=1.0, p99_ms=1.0,
              server_pss_peak_mb=1.0)  # fmt: skip
    agg = stats.aggregate(summary)
    assert agg["config"].tolist() == ["zeta", "alpha"]
    assert math.isnan(agg["offered_rps"].iloc[0]) and agg["offered_rps"].iloc[1] == 0.5
    assert agg["rps_median"].tolist() == [11.0, 3.0]


def test_same_machine_names_each_difference():
    machine = {"cpu_model": "X", "cores_logical": 2, "memory_gib": 23.5, "hostname": "h"}
    assert stats.same_machine({"machine": machine}, {"machine": dict(machine)}) == []
    other = {**machine, "cores_logical": 4, "hostname": "k"}
    assert stats.same_machine({"machine": machine}, {"machine": other}) == [
        "cores_logical: 2 vs 4", "hostname: 'h' vs 'k'"
    ]  # fmt: skip
    assert stats.same_machine({}, {"machine": machine}) == [
        "cpu_model: None vs 'X'", "cores_logical: None vs 2", "memory_gib: None vs 23.5",
        "hostname: None vs 'h'",
    ]  # fmt: skip
    assert stats.same_machine({"machine": machine}, {})[0] == "cpu_model: 'X' vs None"


def test_open_loop_records_of_two_processes(tmp_path):
    """Each locust process numbers its own rows: merged, every arrival is its own request."""
    p = point("open", config="flask-sync-1", users=10, delay_s=0.5, rate=2.0)
    start = T0 + 0.5
    for index in (0, 1):
        rows = [mark("release", T0)]
        rows += request(0, start + 0.1, start + 0.6, intended=start + 0.1 * index)
        rows += request(1, start + 0.7, intended=start + 0.5 + 0.1 * index)  # unanswered
        rows += [mark("end", start + 1.5)]
        write_raw(tmp_path, rows, name=f"requests.w{index}.csv")
    row = runner.row_from_raw(p, tmp_path)
    assert (row["requests"], row["ok"], row["unfinished"]) == (4, 2, 2)
    latencies = sorted([600.0, 500.0, 1000.0, 900.0])
    assert row["max_ms"] == pytest.approx(latencies[-1])
    assert row["p50_ms"] == pytest.approx((latencies[1] + latencies[2]) / 2)


def test_an_interval_from_six_repeats_covers_a_known_median_95_times_in_100():
    """Synthetic data with a known answer: exponential repeats (skewed, as latencies are),
    whose true median is ln 2; order-statistic intervals must cover it at their level."""
    rng = np.random.default_rng(20261201)
    for n in (6, 9, 25):
        spans = [stats.median_interval(rng.exponential(1.0, n)) for _ in range(1000)]
        covered = np.mean([s.low <= math.log(2) <= s.high for s in spans])
        assert all(s.level == stats.CONFIDENCE for s in spans)
        assert 0.94 <= covered <= 0.995, (n, covered)


@pytest.mark.parametrize("n", [3, 4, 5])
def test_below_six_repeats_the_interval_is_the_range_at_its_true_level(n):
    rng = np.random.default_rng(n)
    spans = [stats.median_interval(rng.normal(10.0, 1.0, n)) for _ in range(2000)]
    covered = np.mean([s.low <= 10.0 <= s.high for s in spans])
    assert spans[0].level == pytest.approx(1 - 2 * 0.5**n)
    assert abs(covered - spans[0].level) < 0.03, (covered, spans[0].level)


def test_fewer_than_three_repeats_give_no_interval_and_no_winner():
    one, two = stats.median_interval([5.0]), stats.median_interval([5.0, 9.0])
    three = stats.median_interval([1.0, 2.0, 3.0])
    assert math.isnan(one.low) and math.isnan(two.high) and two.median == 7.0
    assert not three.clears(two) and not two.clears(three) and two.text() == "7.0 (n = 2)"
    assert stats.median_interval([10.0, 11.0, 12.0]).clears(three)
    assert three.clears(stats.median_interval([10.0, 11.0, 12.0]), higher_is_better=False)
    assert three.text("{:.0f}") == "2 [1, 3]"


def test_disjoint_ranges_of_three_are_the_mann_whitney_tests_strongest_result():
    """Why a winner needs disjoint intervals at n = 3: that is p = 0.05 one-sided."""
    from scipy.stats import mannwhitneyu

    low, high = [10.0, 11.0, 12.0], [13.0, 14.0, 15.0]
    assert stats.median_interval(high).clears(stats.median_interval(low))
    assert mannwhitneyu(high, low, alternative="greater").pvalue == pytest.approx(0.05)


def test_the_methodology_quotes_the_levels_the_code_computes():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "methodology.md").read_text()
    levels = ", ".join(f"{stats.range_level(n):.0%} at {n}" for n in (4, 5))
    assert f"{stats.range_level(3):.0%} at 3 repeats, {levels}" in text
    assert f"it exists from n = {stats.RANGE_BELOW}" in text
