"""Open loop, distributed load, calibration and compare, on small real runs."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys

import pandas as pd
import psutil
import pytest

from echobench import results
from tests.helpers import DISTRIBUTED, ROOT, Served, alive, assert_accounted, pids_of
from tests.helpers import run_profile as run

pytestmark = pytest.mark.slow

OPEN = """
[[groups]]
scenario = "open"
configs = ["flask-sync-1"]
rates = [2, 10]
delay_s = 0.25
warmup_s = 0.5
window_s = 3.0

[[groups]]
scenario = "open"
configs = ["fastapi-async"]
rates = [10]
delay_s = 0.25
warmup_s = 0.5
window_s = 3.0
"""
CALIBRATED = """
[[groups]]
scenario = "calibrate"
configs = ["fastapi-async"]
users = [8]
warmup_s = 0.5
window_s = 2.0
repeat = 2

[[groups]]
scenario = "burst"
configs = ["fastapi-async"]
users = [20]
delay_s = 0.2

[[groups]]
scenario = "steady"
configs = ["fastapi-async"]
users = [200]
delay_s = 0.01
warmup_s = 0.5
window_s = 1.0
"""


def test_open_loop_latency_explodes_past_capacity_only(tmp_path):
    out = run(tmp_path, "open", OPEN)
    summary = results.load_summary(out).set_index(["config", "offered_rps"])
    assert_accounted(summary.reset_index())
    # flask-sync-1 answers at most K/D = 4 req/s: offered 10/s, its queue grows
    sync_low, sync_high = summary.loc[("flask-sync-1", 2.0)], summary.loc[("flask-sync-1", 10.0)]
    assert sync_low["p99_ms"] < 1000
    assert sync_high["p99_ms"] > 4 * sync_low["p99_ms"]
    assert sync_high["rps"] == pytest.approx(4.0, rel=0.15)
    assert sync_high["ideal_latency_ms"] != sync_high["ideal_latency_ms"], "no ideal past capacity"
    # fastapi-async has no such ceiling: 10/s is answered in about D
    async_high = summary.loc[("fastapi-async", 10.0)]
    assert async_high["p99_ms"] < 600
    assert async_high["efficiency"] == pytest.approx(1.0, abs=0.1)
    # arrivals in the window, sent or not, are all counted: about rate x window
    assert sync_high["requests"] == pytest.approx(30, abs=2)
    # every echo is stamped with its intended time, 1/rate apart, and never sent before it
    for raw in out.glob("raw/*"):
        rate = json.loads((raw / "point.json").read_text())["rate"]
        sends = pd.read_csv(raw / "requests.csv")
        sends = sends[(sends["event"] == "send") & (sends["kind"] == "echo")]
        assert sends["intended_at"].notna().all()
        sent = sends.dropna(subset=["sent_at"])
        assert (sent["sent_at"] >= sent["intended_at"]).all()
        gaps = sends["intended_at"].sort_values().diff().dropna()
        assert gaps.to_numpy() == pytest.approx(1 / rate, abs=1e-6), raw.name
    assert alive(pids_of(out)) == set()


def test_calibration_judges_later_points_and_a_run_with_invalid_points_exits_3(tmp_path):
    """The ceiling is measured twice, then applied: 200 closed-loop users at D = 10 ms ask
    20,000 req/s. A burst asks no sustained rate: judged by its measured CPU alone.

    LOCUST_TAGS in the environment would leave locust's users without tasks: the
    load generator must run without any LOCUST_* setting of the caller's.
    """
    out = run(tmp_path, "cal", CALIBRATED, env={"LOCUST_TAGS": "eb-none"}, expect=(3,))
    calibration = results.load_run(out)["calibration"]
    summary = results.load_summary(out)
    cals = summary[summary["scenario"] == "calibrate"]
    assert len(cals) == 2 and calibration["loadgen_ceiling_samples"] == 2
    assert (
        cals["valid"].all() and cals["ideal_rps"].isna().all() and cals["efficiency"].isna().all()
    )
    # each calibration also ran the package's minimal client against the same server
    assert (cals["r0_minimal_rps"] > 0).all() and (cals["r0_minimal_cpu_pct"] > 0).all()
    samples = calibration["samples"]
    assert [x["r0_minimal_rps"] for x in samples] == pytest.approx(list(cals["r0_minimal_rps"]))
    # R0 per sample: the faster of the two clients that was not itself bound
    picks = []
    for row in cals.itertuples():
        free = ([] if row.loadgen_bound else [row.rps]) + (
            [row.r0_minimal_rps] if row.r0_minimal_cpu_pct < 90 else [])  # fmt: skip
        picks.append(max(free) if free else None)
    if any(p is not None for p in picks):
        median = statistics.median(p for p in picks if p is not None)
        assert calibration["r0_rps"]["fastapi-async"] == pytest.approx(median)
    else:
        assert "r0_rps" not in calibration
    assert calibration["r0_rps_minimal"]["fastapi-async"] == pytest.approx(
        cals["r0_minimal_rps"].median()
    )
    assert not [p for p in psutil.process_iter(["cmdline"])
                if "echobench.rawclient" in " ".join(p.info["cmdline"] or [])]  # fmt: skip
    ceiling = (cals["rps"] * 100.0 / cals["loadgen_cpu_peak_pct"]).median()
    assert calibration["loadgen_ceiling_rps"] == pytest.approx(ceiling, rel=1e-5)
    burst = summary[summary["scenario"] == "burst"].iloc[0]
    assert burst["requests"] == 20, "LOCUST_* was not stripped"
    assert burst["valid"] and "calibrated ceiling" not in burst["note"], burst["note"]
    steady = summary[summary["scenario"] == "steady"].iloc[0]
    assert 0.8 * ceiling <= 200 / 0.01, "this machine's load generator is not that fast"
    assert not steady["valid"] and steady["loadgen_bound"]
    assert "calibrated ceiling" in steady["note"]


def test_compare_cli_on_two_runs(tmp_path, smoke_run):
    a = smoke_run[0]
    b = tmp_path / "b"
    shutil.copytree(a, b)
    cmd = [
        sys.executable,
        "-m",
        "echobench",
        "compare",
        str(a),
        str(b),
        "--csv",
        str(tmp_path / "cmp.csv"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "warning: 8 of 8 points have fewer than 3 repeats in a run" in done.stderr
    table = pd.read_csv(tmp_path / "cmp.csv")
    assert len(table) == 8 and (table["verdict"] == "too few repeats").all()
    assert (table["ratio_b_over_a"] == 1.0).all()

    meta = json.loads((b / "run.json").read_text())
    meta["machine"]["cpu_model"] = "Some Other CPU"
    (b / "run.json").write_text(json.dumps(meta))
    refused = subprocess.run(cmd[:-2], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert refused.returncode == 2 and "different machines" in refused.stderr
    forced = subprocess.run(
        [*cmd[:-2], "--force"], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert forced.returncode == 0 and "too few repeats" in forced.stderr


def test_two_locust_processes_against_an_external_target(tmp_path):
    """--loadgen-processes 2 keeps the accounting exact; a --target is verified, not sampled."""
    with Served("fastapi-async") as served:
        target = f"http://127.0.0.1:{served.port}"
        out = run(tmp_path, "dist", DISTRIBUTED, "--loadgen-processes", "2", "--target", target,
                  "--configs", "fastapi-async")  # fmt: skip
        assert served.proc.poll() is None, "a target is never stopped by echobench"
    summary = results.load_summary(out)
    assert_accounted(summary)
    assert summary["valid"].all(), summary["note"].tolist()
    burst = summary[summary["scenario"] == "burst"].iloc[0]
    assert burst["requests"] == 40 and burst["ok"] == 40
    raw = next(out.glob("raw/001-*"))
    assert len(list(raw.glob("requests.w*.csv"))) == 2, "one record file per worker"
    steady = summary[summary["scenario"] == "steady"].iloc[0]
    assert steady["efficiency"] == pytest.approx(1.0, abs=0.1)
    assert summary["server_pss_peak_mb"].isna().all(), "missing is missing, never 0"
    assert summary["note"].str.contains("not sampled").all()
    assert results.load_run(out)["target"] == target
    assert alive(pids_of(out)) == set()
