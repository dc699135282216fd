"""The committed reference runs: every summary row recomputes from its raw records."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from echobench import results, runner
from echobench.profiles import Point

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = sorted(p for p in (ROOT / "results").glob("reference*") if p.is_dir())
FIGURES = [
    "requests",
    "ok",
    "failed",
    "timeouts",
    "unfinished",
    "rps",
    "makespan_s",
    "p50_ms",
    "p99_ms",
    "max_ms",
    "server_pss_idle_mb",
    "server_pss_peak_mb",
    "fast_p50_ms",
]


def test_reference_runs_are_committed():
    names = {p.name for p in REFERENCES}
    assert {"reference", "reference-open", "reference-scale"} <= names


@pytest.mark.parametrize("run_dir", REFERENCES, ids=[p.name for p in REFERENCES])
def test_reference_summary_recomputes_from_raw(run_dir):
    meta = results.load_run(run_dir)
    assert meta["status"] == "complete" and meta["machine"]["cores_logical"]
    summary = results.load_summary(run_dir).set_index("point_id")
    assert len(summary) == meta["points_total"] == len(meta["matrix"])
    for described in meta["matrix"]:
        point = Point.from_description(described)
        assert point.point_id == described["point_id"]
        row = runner.row_from_raw(point, run_dir / "raw" / point.point_id)
        stored = summary.loc[point.point_id]
        for figure in FIGURES:
            if pd.isna(stored[figure]):
                assert row.get(figure) is None, (point.point_id, figure)
            else:
                assert row[figure] == pytest.approx(stored[figure], rel=1e-5), (
                    point.point_id,
                    figure,
                )
