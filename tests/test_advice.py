"""The decision summary from a run's figures: what it says, and what it leaves out."""

from __future__ import annotations

import pandas as pd

from echobench import advice


def rows():
    base = {"repeat": 1, "valid": True, "work_ms": 0.0, "fast_p50_ms": None,
            "server_pss_peak_mb": None, "server_pss_idle_mb": None, "makespan_s": None}  # fmt: skip
    frame = pd.DataFrame([
        {**base, "scenario": "burst", "config": "fastapi-async", "users": 200, "delay_s": 2.0,
         "capacity": float("inf"), "makespan_s": 2.09},
        {**base, "scenario": "burst", "config": "flask-sync-8", "users": 200, "delay_s": 2.0,
         "capacity": 8.0, "makespan_s": 50.07},
        {**base, "scenario": "burst", "config": "flask-sync-8", "users": 10, "delay_s": 0.5,
         "capacity": 8.0, "makespan_s": 1.0},  # not the classic burst: not quoted
        {**base, "scenario": "steady", "config": "fastapi-async", "users": 128, "delay_s": 0.5,
         "capacity": float("inf"), "server_pss_peak_mb": 43.0},
        {**base, "scenario": "steady", "config": "flask-sync-8", "users": 8, "delay_s": 0.5,
         "capacity": 8.0, "server_pss_peak_mb": 144.0},
        {**base, "scenario": "steady", "config": "no-such-server", "users": 8, "delay_s": 0.5,
         "capacity": 8.0, "server_pss_peak_mb": 1.0},
    ])  # fmt: skip
    sync = frame["config"].str.startswith("flask-sync")
    return frame.assign(model=sync.map({True: "sync", False: "async"}),
                        workers=sync.map({True: 8, False: 1}))  # fmt: skip


def test_the_table_quotes_each_figure_and_leaves_out_what_was_not_measured():
    table = advice.table(rows())
    assert list(table["config"]) == ["fastapi-async", "flask-sync-8"], "unknown configs skipped"
    assert "fast page while busy" not in table, "a column nothing filled is left out"
    first, second = table.to_dict("records")
    assert first["K (slots)"] == "unbounded" and first["P (processes)"] == 1
    assert first["200 x 2 s burst"] == "2.09 s" and second["200 x 2 s burst"] == "50.07 s"
    assert (
        first["MB per request in flight"] == "0.34"
        and second["MB per request in flight"] == "18.00"
    )
    assert second["pitfall"].startswith("one request per process")


def test_the_sentences_name_the_best_and_the_worst_burst():
    (burst,) = advice.sentences(rows())
    assert burst.startswith("Mostly waiting: an event loop holds every request at once, so "
                            "fastapi-async answered 200 simultaneous 2 s requests in 2.09 s "
                            "with 1 process; flask-sync-8 needed 50.07 s")  # fmt: skip
    assert advice.markdown(rows().iloc[0:0]) == ""
