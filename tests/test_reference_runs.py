"""The committed reference runs: every summary row recomputes from its raw records.

Twice: with echobench's own code (a change to it must not move a committed figure),
and with the independent recomputation in tests/independent.py (the figures are right
by their documented definitions, not only consistent with the code that wrote them).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from echobench import results, runner
from echobench.point import Point
from tests import independent

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = sorted(p for p in (ROOT / "results").glob("reference*") if p.is_dir())
IDS = [p.name for p in REFERENCES]


def test_reference_runs_are_committed():
    names = {p.name for p in REFERENCES}
    assert {
        "reference",
        "reference-open",
        "reference-scale",
        "reference-crossover",
        "reference-servers",
        "reference-db",
    } <= names


@pytest.mark.parametrize("run_dir", REFERENCES, ids=IDS)
def test_reference_summary_recomputes_from_raw(run_dir):
    meta = results.load_run(run_dir)
    assert meta["status"] == "complete" and meta["machine"]["cores_logical"]
    summary = results.load_summary(run_dir).set_index("point_id")
    written = set(pd.read_csv(run_dir / "summary.csv", nrows=0).columns)
    assert len(summary) == meta["points_total"] == len(meta["matrix"])
    for described in meta["matrix"]:
        point = Point.from_description(described)
        assert point.point_id == described["point_id"]
        row = runner.row_from_raw(point, run_dir / "raw" / point.point_id)
        stored = summary.loc[point.point_id]
        for figure in independent.CHECKED:
            if figure in ("capacity", "parallel", "loadgen_bound", "valid"):
                continue  # judged or declared, not measured
            if figure in independent.ADDED and figure not in written:
                continue  # a column this run predates
            if pd.isna(stored[figure]):
                assert row.get(figure) is None, (point.point_id, figure)
            else:
                assert row[figure] == pytest.approx(stored[figure], rel=1e-5), (
                    point.point_id,
                    figure,
                )


@pytest.mark.parametrize("run_dir", REFERENCES, ids=IDS)
def test_reference_figures_are_right_by_their_definitions(run_dir):
    wrong, calibration = independent.disagreements(run_dir)
    assert wrong == {}
    stored = json.loads((run_dir / "run.json").read_text())["calibration"]
    assert stored.get("r0_rps", {}) == pytest.approx(calibration.get("r0_rps", {}), rel=1e-9)
    ceiling = calibration.get("loadgen_ceiling_rps")
    assert stored.get("loadgen_ceiling_rps") == (ceiling and pytest.approx(ceiling, rel=1e-9))
