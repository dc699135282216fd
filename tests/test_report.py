"""Report, charts and notebook on a real smoke run."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from echobench import advice, findings, plots, report, results
from echobench.scenarios import SCENARIOS

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
    "latency_percentiles",
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


class _Page(HTMLParser):
    """What a reader of report.html gets: headings, tables, and the inline images."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.tables = 0
        self.images: list[tuple[str, str]] = []
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("h1", "h2", "h3"):
            self._in_heading = True
            self.headings.append("")
        elif tag == "table":
            self.tables += 1
        elif tag == "img":
            self.images.append((attrs.get("alt", ""), attrs.get("src", "")))

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3"):
            self._in_heading = False

    def handle_data(self, data):
        if self._in_heading:
            self.headings[-1] += data


def test_the_html_report_is_one_self_contained_page(reported):
    """Every chart inline as SVG, every table of report.md, nothing fetched from elsewhere."""
    page = (reported / "report.html").read_text()
    parsed = _Page()
    parsed.feed(page)
    md = (reported / "report.md").read_text()
    assert parsed.headings[0].startswith("echobench report: ")
    assert "Which to choose" in parsed.headings and "Environment" in parsed.headings
    separators = sum(line.startswith("| ---") for line in md.splitlines())
    assert parsed.tables == separators and parsed.tables >= 4
    drawn = {alt for alt, _src in parsed.images}
    assert drawn == set(CORE_CHARTS)
    for alt, src in parsed.images:
        assert src.startswith("data:image/svg+xml;base64,"), alt
        svg = base64.b64decode(src.split(",", 1)[1])
        assert svg == (reported / "charts" / f"{alt}.svg").read_bytes()
    assert "http://" not in page and "https://" not in page.replace("https://www.w3.org", "")


def test_the_decision_summary_leads_the_report(reported):
    text = (reported / "report.md").read_text()
    choose = text.split("## Which to choose")[1].split("## Environment")[0]
    summary = results.load_summary(reported)
    assert advice.markdown(summary, summary) in choose
    assert "| fastapi-async | unbounded | 1 |" in choose
    assert "| flask-sync-2 | 2 | 2 |" in choose
    assert text.index("## Which to choose") < text.index("## Burst")


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
    burst = SCENARIOS["burst"].findings(summary)
    assert any("fastapi-async" in line and "ideal" in line for line in burst)
    assert findings.validity(summary) == [f"All {len(summary)} points are valid."]
    assert any("fast page" in line for line in SCENARIOS["mixed"].findings(summary))


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
