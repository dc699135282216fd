"""`echobench advise`: the model's figures at the user's workload, the measured costs of
the reference runs, and one line with exit 2 for every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from echobench import advise, costs, derived, model, results, units
from echobench.cli import main
from echobench.configs import get_config

ROOT = Path(__file__).resolve().parents[1]
ASKED = ["advise", "--wait", "80ms", "--cpu", "12ms", "--users", "300", "--cores", "8",
         "--memory", "4GiB"]  # fmt: skip


@pytest.fixture(autouse=True)
def references_only(monkeypatch):
    """No run of this machine's results/latest leaks in: the committed references advise."""
    monkeypatch.setattr(results, "RESULTS_ROOT", ROOT / "results")
    monkeypatch.setattr(results, "LATEST", ROOT / "results" / "no-such-latest")


def answer(capsys, *extra) -> dict:
    assert main([*ASKED, "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_throughput_and_latency_are_the_models_at_the_asked_workload(capsys):
    found = answer(capsys)
    assert found["workload"] == {"wait_s": 0.08, "cpu_s": 0.012, "users": 300, "cores": 8,
                                 "memory_mb": 4096.0, "p99_s": None, "pool": None,
                                 "max_connections": None}  # fmt: skip
    picks = {p["config"]: p for p in found["picks"]}
    assert set(picks) == {"fastapi-async", "fastapi-async-8", "flask-gevent-8",
                          "flask-gthread-8x38", "fastapi-threadpool", "flask-sync-8",
                          "flask-sync-64"}  # fmt: skip
    for config_id, pick in picks.items():
        cfg = get_config(config_id)
        k, p = cfg.capacity, cfg.parallel
        assert pick["rps"] == pytest.approx(model.ideal_rps(300, k, 0.08, 0.012, p, 8))
        latency = model.ideal_latency_s(300, k, 0.08, 0.012, p, 8)
        assert pick["latency_ms"] == pytest.approx(1000 * latency)
    assert picks["fastapi-async"]["rps"] == pytest.approx(1 / 0.012), "one core's CPU bound"
    assert picks["fastapi-async-8"]["rps"] == pytest.approx(8 / 0.012), "eight cores'"
    jobs = [p for p in found["picks"] if p["does_the_job"]]
    assert [p["memory_mb"] for p in jobs] == sorted(p["memory_mb"] for p in jobs)
    assert found["picks"][0] == jobs[0], "the cheapest config that does the job first"
    assert not picks["fastapi-async"]["does_the_job"] and not picks["flask-sync-8"]["does_the_job"]


def test_the_memory_figures_are_the_reference_runs_fitted_costs(capsys):
    picks = {p["config"]: p for p in answer(capsys)["picks"]}
    _, summary = advise.memory_source()
    sync = costs.per_worker(summary)[derived.SYNC_FAMILY]
    assert picks["flask-sync-64"]["memory_mb"] == pytest.approx(sync.intercept + 64 * sync.slope)
    one = costs.per_request(summary)["fastapi-async"]
    base = costs.base_mb(summary)["fastapi-async"]
    assert picks["fastapi-async"]["memory_mb"] == pytest.approx(base + 300 * one.slope)
    two = costs.base_mb(summary)["fastapi-async-2"]
    per_request = costs.per_request(summary)["fastapi-async-2"]
    assert picks["fastapi-async-8"]["memory_mb"] == pytest.approx(
        two + 6 * sync.slope + 300 * per_request.slope
    )
    assert "(borrowed)" in picks["fastapi-async-8"]["memory_says"]  # fmt: skip


def test_a_pool_is_a_slot_limit_and_a_p99_target_is_judged(capsys):
    found = answer(capsys, "--pool", "10", "--max-connections", "40", "--p99", "200ms")
    picks = {p["config"]: p for p in found["picks"]}
    assert picks["fastapi-async"]["slots"] == 10, "one process, a pool of 10"
    assert picks["fastapi-async-8"]["slots"] == 40, "8 x 10, capped by max_connections"
    assert picks["fastapi-async"]["meets_p99"] is False
    assert all(not p["does_the_job"] or p["meets_p99"] for p in found["picks"])


def test_the_text_says_which_figure_is_the_model_and_which_is_measured(capsys):
    assert main(ASKED) == 0
    out = capsys.readouterr().out
    assert "Throughput and latency: the model" in out
    assert "Memory: fitted from the reference runs" in out
    assert "The cheapest config that does the job: " in out
    assert "Nearest measured cell of the decision map: D = 100 ms, c = 25 ms" in out


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--wait=-5ms"], "--wait '-5ms': give a number with a unit"),
        (["--wait", "soon"], "--wait 'soon': give a number with a unit, as 80ms, 0.08s"),
        (["--wait", "80"], "--wait '80': give a number with a unit"),
        (["--wait", "80ms", "--cores", "0"], "argument --cores: '0' must be at least 1"),
        (["--wait", "80ms", "--memory", "4TiB"], "--memory '4TiB': give a number with a unit"),
        (["--wait", "80ms", "--memory", "0MB"], "--memory '0MB' must be more than zero"),
        (
            ["--wait", "80ms", "--pool", "50", "--max-connections", "20"],
            "--pool 50 is larger than --max-connections 20",
        ),
        (["--wait", "80ms", "--pool", "5"], "--pool and --max-connections go together"),
        (["--wait", "0ms", "--cpu", "0ms"], "--wait and --cpu cannot both be zero"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, said):
    try:
        code = main(["advise", "--users", "300", *args])
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and said in err.splitlines()[-1], err
    assert "Traceback" not in err


def test_units_as_people_write_them():
    assert units.duration_s("80ms") == units.duration_s("0.08s") == pytest.approx(0.08)
    assert units.duration_s("500us") == pytest.approx(0.0005)
    assert units.size_mb("4GiB") == units.size_mb("4096MB") == 4096.0
    assert units.size_mb("512 MiB") == 512.0


def test_verify_writes_a_profile_of_the_top_picks_scaled_to_this_machine(tmp_path, capsys):
    path = tmp_path / "advice.toml"
    argv = ["advise", "--wait", "50ms", "--cpu", "10ms", "--users", "64", "--cores", "4",
            "--memory", "4GiB", "--verify", str(path)]  # fmt: skip
    assert main(argv) == 0
    assert f"python -m echobench run --profile {path}" in capsys.readouterr().err
    from echobench import profiles

    profile = profiles.load_profile(str(path))
    here = advise.here_cores()
    users = max(1, round(64 * here / 4))
    assert {p.users for p in profile.points} == {users}, "users scaled by the cores"
    assert {p.repeat for p in profile.points} == {1, 2, 3}
    predicted = profile.advice["rps"]
    assert len(predicted) == 3 and {p.config.id for p in profile.points} == set(predicted)
    for config_id, rps in predicted.items():
        cfg = get_config(config_id)
        k = cfg.capacity
        assert rps == pytest.approx(model.ideal_rps(users, k, 0.05, 0.01, cfg.parallel, here),
                                    rel=1e-5)  # fmt: skip


def test_scaling_keeps_the_family_and_its_threads():
    assert advise.scaled_config("flask-sync-64", 0.25) == "flask-sync-16"
    assert advise.scaled_config("flask-gthread-8x38", 0.25) == "flask-gthread-2x38"
    assert advise.scaled_config("fastapi-async", 0.25) == "fastapi-async"
    assert advise.scaled_config("fastapi-async-8", 0.1) == "fastapi-async-1", "at least 1"


def test_the_report_sets_the_advice_beside_the_measurement():
    import pandas as pd

    from echobench import user_sections as report

    run = {"profile": {"advice": {"asked": "D = 50 ms, c = 10 ms, C = 32, 2 cores",
                                  "scaled_by": 1, "rps": {"fastapi-async-2": 200.0},
                                  "latency_ms": {"fastapi-async-2": 160.0}}}}  # fmt: skip
    summary = pd.DataFrame({"config": "fastapi-async-2", "valid": True,
                            "rps": [180.0, 190.0, 185.0], "p50_ms": 170.0})  # fmt: skip
    lines = report.advice_against_measurement(summary, run)
    table = "\n".join(lines)
    assert "| fastapi-async-2 | 200.0 | 185.0 [180.0, 190.0] | 0.93 | 160 | 170 |" in table
    assert report.advice_against_measurement(summary, {"profile": {}}) is None


def test_the_json_is_strict_json_and_the_nearest_cell_says_if_it_tests_the_model(capsys):
    assert main([*ASKED, "--json"]) == 0
    raw = capsys.readouterr().out
    assert "Infinity" not in raw and "NaN" not in raw
    found = json.loads(raw)
    assert {p["config"]: p["slots"] for p in found["picks"]}["fastapi-async"] is None
    near = found["nearest_measured_cell"]
    assert near["repeats_enough"] is True, "the crossover reference measures each cell 3 times"
    assert main(ASKED) == 0
    said = capsys.readouterr().out
    assert "too few to name a winner" not in said
    agreed = "agreed with" if near["model_agrees"] or not near["decided"] else "differed from"
    assert f"the measurement {agreed} the model" in said


def test_verify_refuses_a_path_it_cannot_write_before_advising(capsys, tmp_path):
    code = main([*ASKED, "--verify", str(tmp_path / "no-such-folder" / "p.toml")])
    assert code == 2 and "not a file in an existing folder" in capsys.readouterr().err
