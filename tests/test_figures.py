"""Every summary figure is declared once (echobench/figures.py): the schema doc, the
columns, the report's headings, the progress line and the repeats all read it."""

from __future__ import annotations

import re
from pathlib import Path

from echobench import figures, results, stats, terminal
from echobench.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[1]


def _doc_table() -> str:
    lines = (ROOT / "results" / "README.md").read_text().splitlines()
    start = lines.index("| column | meaning |")
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    return "\n".join(lines[start:end])


def test_the_schema_doc_is_the_declared_table():
    assert _doc_table() == figures.schema_table()


def test_the_aggregate_doc_names_the_aggregated_figures():
    text = (ROOT / "results" / "README.md").read_text()
    said = re.search(r"each of (.*?) \(the figures", text, re.S).group(1)
    assert [w.strip() for w in said.replace("\n", " ").split(",")] == stats.FIGURES


def test_the_columns_and_the_repeats_come_from_the_declarations():
    assert [f.name for f in figures.FIGURES] == results.COLUMNS
    assert len(set(results.COLUMNS)) == len(results.COLUMNS), "declared once"
    for scenario in SCENARIOS.values():
        assert scenario.headline in stats.FIGURES, f"{scenario.name}'s headline is aggregated"
        assert scenario.headline in terminal.HEADLINES, f"{scenario.name}'s headline is said"


def test_every_figure_a_scenario_shows_is_declared_for_it_with_a_heading():
    declared = figures.by_name()
    for scenario in SCENARIOS.values():
        for name in (*scenario.report_rates, *scenario.report_latencies):
            figure = declared[name]
            assert figure.heading, name
            assert not figure.scenarios or scenario.name in figure.scenarios, name


def test_a_figure_shows_its_digits_and_nothing_when_missing():
    figure = figures.Figure("x", "an x", digits=2)
    assert (figure.shown(1.23456), figure.shown(None), figure.shown(float("nan"))) == (
        "1.23",
        "",
        "",
    )
    assert figure.shown(7) == "7"
