"""A scenario is one unit: a module and its locust user, nothing else.

The toy scenario below is all a new scenario needs: its class (timings, figures, its
own summary figure, its headline, its users), registered, and its locust user in
tests/toy_user.py. It runs end to end on a real server, is written to summary.csv with
its own column, and gets its own report section, without any other file knowing it.
And no module outside a scenario's own compares scenario names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from echobench import figures, model, report, results, runner, scenarios
from echobench.configs import get_config
from echobench.point import Point
from echobench.scenarios.base import Scenario

ROOT = Path(__file__).resolve().parents[1]
PAUSE_S = 0.02  # tests/toy_user.py's pause between a user's echoes


class Pausing(Scenario):
    """C users, each pausing 20 ms between its echoes: a closed loop with think time."""

    name = "pausing"
    title = "Pausing: closed-loop users that think 20 ms between requests"
    order = 9
    user_classes = ("PausingUser",)
    user_modules = ("tests.toy_user",)
    figures = (figures.Figure("answers_per_user", "pausing only: the window's ok answers / C"),)

    def ideal_rps(self, p: Point) -> float:
        return model.ideal_rps(p.users, p.slots, p.delay_s + PAUSE_S)

    def summarize(self, p: Point, requests: pd.DataFrame, marks: dict) -> tuple:
        row, timed, start, stop = super().summarize(p, requests, marks)
        row["answers_per_user"] = (row["rps"] or 0.0) * p.window_s / p.users
        return row, timed, start, stop


@pytest.fixture
def pausing():
    scenario = scenarios.register(Pausing())
    yield scenario
    del scenarios.SCENARIOS[scenario.name]


@pytest.mark.slow
def test_a_toy_scenario_runs_end_to_end_from_its_module_and_its_user(pausing, tmp_path):
    point = Point(1, "pausing", get_config("fastapi-async"), 4, 0.05, 1, warmup_s=0.3,
                  window_s=1.5)  # fmt: skip
    row, problems = runner.measure_point(point, tmp_path / "raw" / point.point_id)
    assert not [p for p in problems if p.invalidates], problems
    assert row["requests"] == row["ok"] + row["failed"] + row["timeouts"] + row["unfinished"]
    assert row["failed"] == row["timeouts"] == 0
    ideal = 4 / (0.05 + PAUSE_S)
    assert row["ideal_rps"] == pytest.approx(ideal)
    assert 0.5 * ideal < row["rps"] <= 1.1 * ideal, "the pause is the toy user's own"
    assert row["answers_per_user"] > 0
    # its own column is written and read back, and it has its report section
    run_dir = tmp_path
    results.write_summary([{**row, "run_id": "r", "point_id": point.point_id,
                            "scenario": "pausing", "config": "fastapi-async", "users": 4,
                            "delay_s": 0.05, "repeat": 1, "valid": True,
                            "loadgen_bound": False, "note": "", "io": "sleep"}],
                          run_dir / "summary.csv")  # fmt: skip
    summary = results.load_summary(run_dir)
    assert summary.loc[0, "answers_per_user"] == pytest.approx(row["answers_per_user"], rel=1e-5)
    assert list(summary.columns)[-1] == "answers_per_user"
    assert not pausing.rows(summary).empty
    assert "fastapi-async" in report._table(report.scenario_table(summary, "pausing"))


def test_a_registered_scenario_takes_its_place_and_leaves_with_its_column(pausing):
    assert list(scenarios.SCENARIOS)[-1] == "pausing" and "pausing" in scenarios.names()
    assert results.columns()[-1] == "answers_per_user"
    assert "answers_per_user" not in results.COLUMNS, "the declared columns stay as declared"


def _scenario_names_compared(path: Path) -> list[str]:
    """Where a module compares a scenario name: `== "burst"`, `.isin(["steady", ...])`,
    or a scenario name as a dict key (a per-scenario table)."""
    known = set(scenarios.names())
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        literals = []
        if isinstance(node, ast.Compare):
            literals = [node.left, *node.comparators]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "isin":
            literals = [e for a in node.args if isinstance(a, ast.List | ast.Tuple | ast.Set)
                        for e in a.elts]  # fmt: skip
        elif isinstance(node, ast.Dict):
            literals = [k for k in node.keys if k is not None]
        for literal in literals:
            if isinstance(literal, ast.Constant) and literal.value in known:
                found.append(f"{path.name}:{literal.lineno}: {literal.value!r}")
    return found


def test_no_module_outside_a_scenarios_own_compares_scenario_names():
    modules = [*(ROOT / "echobench").rglob("*.py"), *(ROOT / "loadtests").rglob("*.py")]
    own = ROOT / "echobench" / "scenarios"
    found = [hit for m in modules if own not in m.parents for hit in _scenario_names_compared(m)]
    assert found == []


def test_the_guard_sees_a_comparison(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text('x = s["scenario"] == "burst"\ny = s.isin(["open"])\nz = {"mixed": 1}\n')
    assert len(_scenario_names_compared(planted)) == 3
