"""A chart is one module's function, registered with its name, place, data test and note."""

from __future__ import annotations

import pytest

from echobench import plots
from echobench.plots import registry


def test_a_chart_without_a_note_is_refused_when_it_is_defined():
    with pytest.raises(ValueError, match="has no note"):

        @registry.chart("noteless", 999, applies=lambda s: True, note="  ")
        def noteless(summary, colors=None, run=None):
            raise AssertionError("never drawn")

    assert "noteless" not in registry.CHARTS


def test_two_charts_cannot_share_a_name():
    with pytest.raises(ValueError, match="two charts"):
        registry.chart("memory", 1, applies=lambda s: True, note="again")(lambda s: None)


def test_every_chart_is_registered_in_its_order_with_a_note():
    charts = list(plots.CHARTS.values())
    assert [c.order for c in charts] == sorted(c.order for c in charts)
    assert all(c.note.strip() and callable(c.applies) for c in charts)
    assert {c.name for c in charts if c.every_point} == {"sleep_vs_db", "db_cpu"}
    assert plots.CHARTS["efficiency"].draw is plots.efficiency_overview


def test_a_familys_colour_and_marker_are_its_own_declaration():
    from echobench import style
    from echobench.configs import FAMILIES

    for name, family in FAMILIES.items():
        assert (style.FAMILY_COLORS[name], style.FAMILY_MARKERS[name]) == (
            family.color,
            family.marker,
        )
    colours = [f.color.lower() for f in FAMILIES.values()]
    assert len(set(colours)) == len(colours), "no two families share a colour"
    markers = [f.marker for f in FAMILIES.values()]
    assert len(set(markers)) == len(markers), "no two families share a marker"
    assert style.REFERENCE.lower() not in colours, "a model line wears no family's colour"


def test_a_new_chart_module_registers_itself_by_discovery(tmp_path, monkeypatch):
    """A chart module in a package is found by discovery, with no other file edited."""
    package = tmp_path / "toycharts"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "toy.py").write_text(
        "from echobench.plots.registry import chart\n"
        "@chart('toy_chart', 999, applies=lambda s: False, note='A toy: never drawn.')\n"
        "def toy(summary, colors=None, run=None):\n    raise AssertionError\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        plots.discover([str(package)], "toycharts.")
        assert registry.CHARTS["toy_chart"].note == "A toy: never drawn."
        assert list(registry.CHARTS)[-1] == "toy_chart", "in its order"
    finally:
        registry.CHARTS.pop("toy_chart", None)


def test_the_percentile_chart_draws_each_configs_nines_from_its_own_columns():
    import math

    import pandas as pd

    from echobench.plots.percentiles import latency_percentiles, nines

    assert [round(nines(p), 6) for p in (50, 90, 99, 99.9)] == [
        round(math.log10(2), 6), 1.0, 2.0, 3.0]  # fmt: skip
    base = {"scenario": "steady", "delay_s": 0.1, "work_ms": 0.0, "ideal_latency_ms": 100.0,
            "p50_ms": 101.0, "p90_ms": 103.0, "p99_ms": 140.0, "p999_ms": 400.0}  # fmt: skip
    summary = pd.DataFrame([{**base, "config": "fastapi-async", "users": 8},
                            {**base, "config": "fastapi-async", "users": 32, "p99_ms": 150.0},
                            {**base, "config": "flask-sync-4", "users": 32}])  # fmt: skip
    (ax,) = latency_percentiles(summary).axes
    drawn = {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
    assert drawn["fastapi-async (C=32)"] == [101.0, 103.0, 150.0, 400.0], "its fullest point"
    assert "fastapi-async (C=8)" not in drawn
    assert "flask-sync-4 (C=32)" not in drawn, "one load only: the memory sweep's"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["50%", "90%", "99%", "99.9%"]


def test_steady_charts_draw_waiting_points_when_a_run_also_computes():
    """The standard profile measures C = 32 waiting and computing: the charts against C
    draw the waiting ones (the CPU ones are the table's and the crossover's)."""
    import pandas as pd

    from echobench.plots.common import steady_points

    rows = pd.DataFrame([{"scenario": "steady", "config": "fastapi-async", "users": u,
                          "work_ms": w} for u in (8, 32) for w in (0.0, 25.0)])  # fmt: skip
    assert set(steady_points(rows)["work_ms"]) == {0.0}
    computing = rows[rows["work_ms"] > 0]
    assert set(steady_points(computing)["work_ms"]) == {25.0}, "a run that only computes"
