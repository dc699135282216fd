"""Open loop, distributed load, repeats, calibration and compare, on small real runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from echobench import profiles, results, stats, verdict
from tests.helpers import alive

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]

OPEN = """
[[groups]]
scenario = "open"
configs = ["fastapi-async", "flask-sync-1"]
rates = [2, 10]
delay_s = 0.25
warmup_s = 0.5
window_s = 3.0
"""
DISTRIBUTED = """
[[groups]]
scenario = "burst"
configs = ["fastapi-async"]
users = [40]
delay_s = 0.3

[[groups]]
scenario = "steady"
configs = ["fastapi-async"]
users = [10]
delay_s = 0.3
warmup_s = 0.5
window_s = 2.0
"""
CALIBRATED = """
[[groups]]
scenario = "calibrate"
configs = ["fastapi-async"]
users = [8]
warmup_s = 0.5
window_s = 2.0

[[groups]]
scenario = "burst"
configs = ["fastapi-async"]
users = [20]
delay_s = 0.2
"""


def run(tmp_path: Path, name: str, profile_text: str, *extra: str) -> Path:
    profile = tmp_path / f"{name}.toml"
    profile.write_text(f'description = "{name}"\n{profile_text}')
    out = tmp_path / name
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "echobench",
            "run",
            "--profile",
            str(profile),
            "--out",
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert done.returncode in (0, 3), done.stderr[-3000:]
    return out


def pids_of(run_dir: Path) -> set[int]:
    found: set[int] = set()
    for path in run_dir.glob("raw/*/pids.json"):
        found |= set(json.loads(path.read_text())["pids"])
    return found


def assert_accounted(summary: pd.DataFrame) -> None:
    total = summary["ok"] + summary["failed"] + summary["timeouts"] + summary["unfinished"]
    assert (summary["requests"] == total).all()


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
    assert alive(pids_of(out)) == set()


def test_distributed_load_keeps_the_accounting_exact(tmp_path):
    out = run(tmp_path, "dist", DISTRIBUTED, "--loadgen-processes", "2")
    summary = results.load_summary(out)
    assert_accounted(summary)
    burst = summary[summary["scenario"] == "burst"].iloc[0]
    assert burst["requests"] == 40 and burst["ok"] == 40
    raw = next(out.glob("raw/001-*"))
    assert len(list(raw.glob("requests.w*.csv"))) == 2, "one record file per worker"
    assert summary["valid"].all(), summary["note"].tolist()
    steady = summary[summary["scenario"] == "steady"].iloc[0]
    assert steady["efficiency"] == pytest.approx(1.0, abs=0.1)
    assert alive(pids_of(out)) == set()


def test_calibration_is_recorded_and_judges_later_points(tmp_path):
    out = run(tmp_path, "cal", CALIBRATED)
    meta = results.load_run(out)
    calibration = meta["calibration"]
    assert calibration["r0_rps"]["fastapi-async"] > 20
    assert calibration["loadgen_ceiling_rps"] > 0
    summary = results.load_summary(out)
    cal = summary[summary["scenario"] == "calibrate"].iloc[0]
    assert pd.isna(cal["ideal_rps"]) and pd.isna(cal["efficiency"])
    row = {"loadgen_cpu_peak_pct": 10.0, "requests": 5, "ok": 5}
    ceiling = calibration["loadgen_ceiling_rps"]
    flagged = verdict.judge(row, [], demanded_rps=0.9 * ceiling, ceiling_rps=ceiling)
    assert flagged["loadgen_bound"] and not flagged["valid"]
    assert "calibrated ceiling" in flagged["note"]
    assert verdict.judge(row, [], 0.5 * ceiling, ceiling)["valid"]


def test_repeats_run_in_shuffled_order_and_are_aggregated():
    profile = profiles.load_profile("quick", repeat=3, seed=7)
    order = [(p.config.id, p.scenario, p.users, p.repeat) for p in profile.points]
    assert len(order) == 3 * len(profiles.load_profile("quick").points)
    assert order != sorted(order, key=lambda o: o[3]), "repeats interleave"
    assert [p.index for p in profile.points] == list(range(1, len(order) + 1))
    assert order == [
        (p.config.id, p.scenario, p.users, p.repeat)
        for p in profiles.load_profile("quick", repeat=3, seed=7).points
    ]

    summary = pd.DataFrame(
        {
            "scenario": "steady",
            "config": "fastapi-async",
            "users": 8,
            "offered_rps": float("nan"),
            "delay_s": 0.5,
            "repeat": [1, 2, 3, 4],
            "valid": True,
            "rps": [15.0, 16.0, 17.0, 100.0],
            "efficiency": 1.0,
            "makespan_s": float("nan"),
            "p50_ms": 500.0,
            "p99_ms": 510.0,
            "server_pss_peak_mb": 40.0,
        }
    )
    agg = stats.aggregate(summary).iloc[0]
    assert agg["repeats"] == 4 and agg["rps_median"] == 16.5
    assert agg["rps_q25"] == pytest.approx(15.75) and agg["rps_q75"] == pytest.approx(37.75)


def _frame(config_values: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for config, values in config_values.items():
        for rep, value in enumerate(values, 1):
            rows.append(
                {
                    "scenario": "steady",
                    "config": config,
                    "users": 8,
                    "offered_rps": float("nan"),
                    "delay_s": 0.5,
                    "repeat": rep,
                    "valid": True,
                    "rps": value,
                }
            )
    return pd.DataFrame(rows)


def test_compare_verdicts():
    a = _frame(
        {
            "same": [100, 101, 99],
            "faster": [100, 101, 99],
            "noisy": [80, 100, 120],
            "tiny": [100, 100.5, 99.5],
            "slower": [100, 101, 99],
        }
    )
    b = _frame(
        {
            "same": [100, 99, 101],
            "faster": [120, 121, 119],
            "noisy": [90, 110, 130],
            "tiny": [101, 101.5, 100.5],
            "slower": [80, 81, 79],
        }
    )
    verdicts = stats.compare(a, b).set_index("config")["verdict"].to_dict()
    assert verdicts == {
        "same": "not significant",
        "faster": "better",
        "noisy": "not significant",
        "tiny": "not significant",
        "slower": "worse",
    }


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
    table = pd.read_csv(tmp_path / "cmp.csv")
    assert len(table) == 7 and (table["verdict"] == "not significant").all()
    assert (table["ratio_b_over_a"] == 1.0).all()

    meta = json.loads((b / "run.json").read_text())
    meta["machine"]["cpu_model"] = "Some Other CPU"
    (b / "run.json").write_text(json.dumps(meta))
    refused = subprocess.run(cmd[:-2], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert refused.returncode == 2 and "different machines" in refused.stderr
    forced = subprocess.run(
        [*cmd[:-2], "--force"], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert forced.returncode == 0 and "not significant" in forced.stderr


def test_external_target_is_verified_and_not_sampled(tmp_path):
    from tests.helpers import Served

    with Served("fastapi-async") as served:
        out = run(
            tmp_path,
            "target",
            DISTRIBUTED,
            "--target",
            f"http://127.0.0.1:{served.port}",
            "--configs",
            "fastapi-async",
        )
        assert served.proc.poll() is None, "a target is never stopped by echobench"
    summary = results.load_summary(out)
    assert summary["valid"].all(), summary["note"].tolist()
    assert summary["server_pss_peak_mb"].isna().all(), "missing is missing, never 0"
    assert summary["note"].str.contains("not sampled").all()
    assert results.load_run(out)["target"] == f"http://127.0.0.1:{served.port}"
