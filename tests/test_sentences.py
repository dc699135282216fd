"""Generated sentences against the columns they describe: for each kind of sentence that
states a validity fact, a cap or a model relation, a planted row that contradicts the
comfortable wording, which the sentence must then not say."""

from __future__ import annotations

import math

import pandas as pd

from echobench import advice, gaps, report, verdict
from echobench.scenarios.open import OPEN


def client_rows(peaks: list[float], bound: list[bool]) -> pd.DataFrame:
    return pd.DataFrame({"point_id": [f"p{i}" for i in range(len(peaks))],
                         "loadgen_cpu_peak_pct": peaks, "loadgen_bound": bound})  # fmt: skip


def test_the_reports_first_line_says_the_client_was_bound_where_a_column_says_so():
    calm = report.client_clause(client_rows([40.0, 60.0], [False, False]))
    assert calm.endswith(f"stayed below {verdict.LOADGEN_BOUND_PCT:g}% of a core and below "
                         "its calibrated ceiling")  # fmt: skip
    hot = report.client_clause(client_rows([40.0, 103.0, 93.0], [False, False, True]))
    assert "stayed below" not in hot
    assert "bound at 2 of 3 points (up to 103% of a core, at `p1`)" in hot
    flagged_only = report.client_clause(client_rows([40.0], [True]))
    assert "stayed below" not in flagged_only, "the flag alone is enough"
    unsampled = report.client_clause(client_rows([math.nan], [False]))
    assert "stayed below" not in unsampled and "not sampled" in unsampled


def uneven(ideal: float | None) -> dict:
    return {"busiest_share": 0.8, "workers": 2, "delay_s": 0.1, "work_ms": 0.0,
            "capacity": 16, "ideal_rps": ideal}  # fmt: skip


def test_a_workers_cap_is_said_only_when_it_is_below_the_ideal():
    # the busiest of 2 workers with 8 slots each, at 80%: (16/2) / (0.8 x 0.1 s) = 100 req/s
    assert "caps the rate at 100 req/s" in gaps.uneven_workers(uneven(160.0))
    above = gaps.uneven_workers(uneven(80.0))
    assert above.startswith("the busiest of 2 workers answered 80%") and "caps" not in above


def bursts(worst: str, worst_capacity: float) -> pd.DataFrame:
    base = {"scenario": "burst", "users": 200, "delay_s": 2.0, "repeat": 1, "valid": True,
            "server_pss_peak_mb": None, "server_pss_idle_mb": None, "workers": 1,
            "fast_p50_ms": None, "work_ms": 0.0}  # fmt: skip
    return pd.DataFrame([
        {**base, "config": "fastapi-async", "capacity": math.inf, "makespan_s": 2.09},
        {**base, "config": worst, "capacity": worst_capacity, "makespan_s": 9.0},
    ])  # fmt: skip


def test_rounds_of_k_are_said_only_of_a_config_whose_slots_make_rounds():
    (sync,) = advice.sentences(bursts("flask-sync-8", 8.0))
    assert "serving in rounds of its 8 slots" in sync
    (loop,) = advice.sentences(bursts("fastapi-async-2", math.inf))
    assert "rounds" not in loop and "fastapi-async-2" not in loop, "no contrast without rounds"


def open_rows(unfinished: int) -> pd.DataFrame:
    base = {"scenario": "open", "config": "flask-sync-4", "capacity": 4.0, "delay_s": 0.5,
            "users": 10, "repeat": 1, "valid": True}  # fmt: skip
    return pd.DataFrame([
        {**base, "offered_rps": 4.0, "p99_ms": 530.0, "unfinished": 0},
        {**base, "offered_rps": 16.0, "p99_ms": 9000.0, "unfinished": unfinished},
    ])  # fmt: skip


def test_open_loop_past_capacity_says_a_queue_only_where_one_was_left():
    (queued,) = OPEN.findings(open_rows(unfinished=37))
    assert "past capacity, at 16 req/s, p99 9.0 s with 37 requests still queued" in queued
    (emptied,) = OPEN.findings(open_rows(unfinished=0))
    assert "still queued" not in emptied and "no request left queued at the end" in emptied
