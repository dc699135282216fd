"""A real `smoke` run: accounting, efficiencies, recomputation from raw/, cleanup.

The figures are recomputed with independent code (tests/independent.py) straight from
the per-request records, so a bug in echobench.metrics cannot hide behind itself.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from echobench import metrics, results
from tests import independent
from tests.helpers import alive

pytestmark = pytest.mark.slow


def test_every_row_accounts_for_every_request(smoke_run):
    summary = results.load_summary(smoke_run[0])
    assert len(summary) == 8
    assert list(pd.read_csv(smoke_run[0] / "summary.csv").columns) == results.COLUMNS
    lhs = summary["requests"]
    rhs = summary["ok"] + summary["failed"] + summary["timeouts"] + summary["unfinished"]
    assert (lhs == rhs).all()
    assert (summary["requests"] > 0).all()


def test_valid_points_are_close_to_the_model(smoke_run):
    summary = results.load_summary(smoke_run[0])
    assert summary["valid"].all(), summary[["point_id", "note"]].to_string()
    for _, row in summary[summary["scenario"].isin(["burst", "steady"])].iterrows():
        assert 0.9 <= row["efficiency"] <= 1.05, row["point_id"]
    burst = summary[summary["scenario"] == "burst"].set_index("config")
    assert burst.loc["fastapi-async", "ideal_makespan_s"] == pytest.approx(0.5)
    assert burst.loc["flask-sync-2", "ideal_makespan_s"] == pytest.approx(2.5)
    mixed = summary[summary["scenario"] == "mixed"].iloc[0]
    assert mixed["fast_requests"] > 0
    assert mixed["fast_p50_ms"] > 100, "behind busy sync workers the fast page waits"


def test_every_answer_names_a_worker_of_the_server(smoke_run):
    """Per-worker counts add up to the ok count on every point; the workers are the
    server's own processes, and a CPU point's latency includes its work."""
    run_dir = smoke_run[0]
    summary = results.load_summary(run_dir).set_index("point_id")
    for pid, row in summary.iterrows():
        raw = run_dir / "raw" / pid
        requests, _marks = metrics.read_point(raw)
        ok = requests[(requests["kind"] == "echo") & (requests["outcome"] == "ok")]
        per_worker = ok["worker"].astype("int64").value_counts()
        assert per_worker.sum() == len(ok), pid
        server = set(json.loads((raw / "pids.json").read_text())["pids"])
        assert set(per_worker.index) <= server, pid
        assert 1 <= row["workers_seen"] <= row["workers"], pid
    cpu = summary[summary["work_ms"] > 0].iloc[0]
    assert cpu["config"] == "fastapi-async-2" and cpu["parallel"] == 2
    assert cpu["p50_ms"] >= 110, "D + c = 100 + 10 ms"
    assert 0.5 <= cpu["busiest_share"] <= 1.0 and cpu["idlest_share"] <= 0.5


def test_summary_can_be_recomputed_from_raw(smoke_run):
    """Every figure, ideal, efficiency and verdict, by tests/independent.py's own formulas."""
    run_dir = smoke_run[0]
    wrong, _calibration = independent.disagreements(run_dir)
    assert wrong == {}
    for pid in results.load_summary(run_dir)["point_id"]:
        for name in ("requests.csv", "samples.csv", "locust_report.html", "locust.log"):
            assert (run_dir / "raw" / pid / name).is_file(), f"{pid}: {name}"


def test_run_metadata_describes_the_machine(smoke_run):
    run = results.load_run(smoke_run[0])
    assert run["status"] == "complete"
    assert run["points_done"] == run["points_total"] == len(run["matrix"]) == 8
    assert run["machine"]["cores_logical"] >= 1
    assert run["versions"]["locust"].startswith("2.47")
    assert run["git"]["commit"] is None or len(run["git"]["commit"]) == 40


def test_the_run_measures_the_clients_own_cost_and_each_points(smoke_run):
    cost = results.load_run(smoke_run[0])["client_cost"]
    assert cost["us_per_request"] > 0 and cost["rps"] > 0 and cost["ok_share"] == 1.0, cost
    assert cost["pinned"] is ((os.cpu_count() or 1) >= 2)
    assert f"spent {cost['us_per_request']:.0f} us of CPU per request" in (
        (smoke_run[0] / "report.md").read_text()
    )
    summary = results.load_summary(smoke_run[0])
    assert (summary["loadgen_cpu_us_per_request"] > 0).all()


def test_no_process_survives_the_run(smoke_run):
    pids = set(results.load_run(smoke_run[0])["client_cost"]["pids"])
    assert len(pids) == 2 and alive(pids) == set(), "the answerer and its locust"
    for pids_file in smoke_run[0].glob("raw/*/pids.json"):
        pids = set(json.loads(pids_file.read_text())["pids"])
        assert len(pids) >= 2, pids_file
        assert alive(pids) == set(), pids_file


def test_progress_and_summary_are_printed(smoke_run):
    stderr = smoke_run[1].stderr
    assert "8/8" in stderr
    assert "summary.csv" in stderr
    # each finished point says its headline against the ideal
    summary = results.load_summary(smoke_run[0]).set_index("point_id")
    burst = summary.loc["001-burst-fastapi-async-u9-r1"]
    assert (
        f"001-burst-fastapi-async-u9-r1: {burst['makespan_s']:.3f} s makespan, "
        f"{burst['efficiency']:.2f} of ideal"
    ) in stderr
    steady = summary.loc["003-steady-fastapi-async-u2-r1"]
    assert f"003-steady-fastapi-async-u2-r1: {steady['rps']:.1f} req/s" in stderr
    # and the run writes its own report at the end
    assert (smoke_run[0] / "report.md").is_file() and (smoke_run[0] / "charts").is_dir()
    assert f"report: {smoke_run[0] / 'report.md'}" in stderr.replace("\n", "")
