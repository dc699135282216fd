"""Report, charts and notebook on a real smoke run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from echobench import findings, plots, report, results

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def reported(smoke_run, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("report") / "run"
    shutil.copytree(smoke_run[0], run_dir)
    done = subprocess.run(
        [sys.executable, "-m", "echobench", "report", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return run_dir


CORE_CHARTS = [
    "burst_makespan",
    "throughput_vs_users",
    "latency_vs_users",
    "memory",
    "head_of_line",
    "efficiency",
    "worker_spread",  # flask-sync-2 and fastapi-async-2 name their workers
]


def test_report_writes_every_chart(reported):
    for name in CORE_CHARTS:
        for ext in ("png", "svg"):
            path = reported / "charts" / f"{name}.{ext}"
            assert path.is_file() and path.stat().st_size > 5000, path
    assert (reported / "charts" / "burst_makespan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a chart whose data the run lacks (open loop, scale sweep, CPU sweep) is not drawn
    assert sorted(p.stem for p in (reported / "charts").glob("*.png")) == sorted(CORE_CHARTS)


def test_report_markdown_has_tables_and_charts(reported):
    text = (reported / "report.md").read_text()
    assert text.startswith("# echobench report: ")
    assert "Every point is valid" in text
    for scenario in ("## Burst", "## Steady", "## Mixed"):
        assert scenario in text
    for name in CORE_CHARTS:
        assert f"](charts/{name}.png)" in text
    assert "open_loop_latency" not in text
    assert "fastapi-async" in text and "flask-sync-2" in text


def test_report_puts_invalid_points_first(reported, tmp_path):
    run_dir = tmp_path / "bad"
    shutil.copytree(reported, run_dir)
    summary = (run_dir / "summary.csv").read_text().splitlines()
    header = summary[0].split(",")
    cells = summary[1].split(",")
    cells[header.index("valid")] = "False"
    cells[header.index("note")] = "server died mid-point (exit code -9)"
    (run_dir / "summary.csv").write_text(
        "\n".join([summary[0], ",".join(cells), *summary[2:]]) + "\n"
    )
    text = report.render(run_dir, [])
    first = text.split("## Environment")[0]
    assert "## Read this first" in first
    assert "server died mid-point (exit code -9)" in first


def test_findings_speak_of_the_data(reported):
    summary = results.load_summary(reported)
    burst = findings.burst(summary)
    assert any("fastapi-async" in line and "ideal" in line for line in burst)
    assert findings.validity(summary) == [f"All {len(summary)} points are valid."]
    assert any("fast page" in line for line in findings.head_of_line(summary))


def test_notebook_executes_on_a_run(reported):
    notebook = nbformat.read(ROOT / "analysis.ipynb", as_version=4)
    os.environ["ECHOBENCH_RESULTS"] = str(reported)
    try:
        NotebookClient(
            notebook,
            timeout=120,
            kernel_name="python3",
            resources={"metadata": {"path": str(ROOT)}},
        ).execute()
    finally:
        del os.environ["ECHOBENCH_RESULTS"]
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= len(plots.CHARTS)
