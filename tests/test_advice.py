"""The decision summary from a run's figures: what it says, and what it leaves out."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from echobench import advice, notebook
from echobench.configs import get_config


def rows():
    base = {"repeat": 1, "valid": True, "work_ms": 0.0, "fast_p50_ms": None,
            "server_pss_peak_mb": None, "server_pss_idle_mb": None, "makespan_s": None,
            "rps": 16.0, "ok": 100, "efficiency": 1.0, "p99_ms": 510.0, "note": "",
            "ideal_rps": 16.0}  # fmt: skip
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


def test_each_table_has_a_row_per_config_measured_there_and_no_hole():
    frame = rows()
    (title, table), *rest = advice.tables(frame)
    assert title == "Waiting only (D = 500 ms, C = 8 users)"
    assert list(table["config"]) == ["flask-sync-8"], "unknown configs skipped, unmeasured absent"
    assert (table != "").all().all()
    (row,) = table.to_dict("records")
    assert row["K (slots)"] == "8" and row["P (processes)"] == 8 and row["peak MB"] == "144"
    assert row["pitfall"].startswith("one request per process")
    assert rest == [], "no fit: no memory table"
    # a config measured without its peak PSS: the column goes, not the cell
    moved = (frame["config"] == "fastapi-async") & (frame["scenario"] == "steady")
    frame.loc[moved, "users"], frame.loc[moved, "server_pss_peak_mb"] = 8, None
    (_, table), *_ = advice.tables(frame)
    assert list(table["config"]) == ["fastapi-async", "flask-sync-8"]
    assert "peak MB" not in table and (table != "").all().all()


def steady_rows(config: str, users: int, rps: list[float], efficiency: float, **extra):
    cfg = get_config(config)
    return [{"scenario": "steady", "config": config, "users": users, "delay_s": 0.1,
             "work_ms": 0.0, "capacity": cfg.capacity, "workers": cfg.workers,
             "model": cfg.model, "repeat": k + 1, "valid": True, "rps": r, "ok": 400,
             "efficiency": efficiency, "p99_ms": 104.0, "note": extra.get("note", ""),
             "ideal_rps": r / efficiency, "makespan_s": None, "fast_p50_ms": None,
             "server_pss_idle_mb": extra.get("idle", 40.0),
             "server_pss_peak_mb": extra.get("peak", 41.0)}
            for k, r in enumerate(rps)]  # fmt: skip


def test_the_table_gives_intervals_flags_a_gap_with_its_reason_and_fits_memory():
    frame = pd.DataFrame([
        *steady_rows("fastapi-async", 32, [316.0, 318.0, 320.0], 0.99),
        *steady_rows("fastapi-async", 8, [79.0], 0.99, peak=40.5),
        *steady_rows("fastapi-async", 64, [600.0], 0.94, peak=42.2),
        {**steady_rows("flask-sync-4", 32, [29.0], 0.75, idle=80.0)[0], "repeat": 3},  # no note
        *steady_rows("flask-sync-4", 32, [30.0, 31.0], 0.75, idle=80.0,
                     note="25% below the model: the busiest worker; more"),
        *[{**r, "config": f"flask-sync-{n}", "workers": n, "capacity": n,
           "server_pss_idle_mb": 20.0 + 15.0 * n, "rps": 10.0 * n}
          for n in (1, 2, 8) for r in steady_rows("flask-sync-4", 32, [1.0], 0.99)],
    ])  # fmt: skip
    tables = dict(advice.tables(frame))
    table = tables["Waiting only (D = 100 ms, C = 32 users)"].set_index("config")
    assert table.at["fastapi-async", "req/s"] == "318 [316, 320], 0.99 of model"
    assert table.at["flask-sync-4", "req/s"] == (
        "30.0 [29.0, 31.0], 0.75 of model (below 0.9: 25% below the model: the busiest worker)"
    )
    assert table.at["flask-sync-1", "req/s"] == "10.0 (n = 1), 0.99 of model"
    assert (table != "").all().all()
    memory = tables["What memory costs (least-squares fits, 95% intervals)"].set_index("cost")
    slope = np.polyfit([32, 32, 32, 8, 64], [41.0, 41.0, 41.0, 40.5, 42.2], 1)[0]  # by hand
    on_async = memory.loc["each request fastapi-async holds in flight (peak PSS)"]
    assert on_async["MB"].startswith(f"{slope:.3g} MB [")
    assert on_async["fitted over"].startswith("3 loads (5 points), residual ")
    worker = memory.loc["each added flask-sync-N worker (idle PSS)"]
    assert worker["MB"].startswith("15 MB [15, 15]")
    assert worker["fitted over"].startswith("4 worker counts (")
    assert advice.markdown(frame).count("**") == 2 * len(tables)


def test_digits_follow_the_sample_size():
    assert advice.significant(318.43, 40) == "318"  # 2 digits asked, never fewer than integers
    assert advice.significant(3.1843, 40) == "3.2"
    assert advice.significant(3.1843, 4000) == "3.184"
    assert advice.significant(0.0, 10) == "0"


def test_the_sentences_name_the_best_and_the_worst_burst():
    waiting, burst = advice.sentences(rows())
    assert waiting.startswith("Waiting only (D = 500 ms, 8 users): each of 2 configs was measured")
    assert burst.startswith("Mostly waiting: an event loop holds every request at once, so "
                            "fastapi-async answered 200 simultaneous 2 s requests in 2.09 s "
                            "with 1 process; flask-sync-8 needed 50.07 s")  # fmt: skip
    assert advice.markdown(rows().iloc[0:0]) == ""


def test_a_notebook_section_reads_your_newest_run_of_its_profile(tmp_path, monkeypatch):
    """This run if it has the points; else your newest run that does; else the reference,
    and the section says which."""
    from echobench import results

    def run(name: str, scenario: str) -> Path:
        folder = tmp_path / "results" / "runs" / name
        folder.mkdir(parents=True)
        row = {**dict.fromkeys(results.COLUMNS), "scenario": scenario, "config": "x", "users": 1,
               "valid": True}  # fmt: skip
        pd.DataFrame([row]).to_csv(folder / "summary.csv", index=False)
        return folder

    monkeypatch.setattr(results, "RUNS_DIR", tmp_path / "results" / "runs")
    reference = tmp_path / "results" / "reference-open"
    monkeypatch.setitem(notebook.COMPANIONS, "open", reference)
    standard = run("20261201T000000Z-standard", "burst")
    assert notebook.companion_run(standard, "open") is None, "no open run anywhere"
    reference.mkdir(parents=True)
    (reference / "summary.csv").write_text((standard / "summary.csv").read_text()
                                           .replace("burst", "open"))  # fmt: skip
    assert notebook.companion_run(standard, "open") == reference.resolve()
    assert notebook.source_line(reference.resolve(), "open-loop").startswith(
        "**From the committed reference run `reference-open`**"
    )
    older, newer = run("20261202T000000Z-open", "open"), run("20261203T000000Z-open", "open")
    assert notebook.companion_run(standard, "open") == newer.resolve() != older.resolve()
    assert notebook.source_line(newer, "open-loop") == "From your run `20261203T000000Z-open`."
    assert notebook.companion_run(newer, "open") == newer, "a run with the points shows itself"


def test_every_chart_survives_points_that_measured_nothing():
    """A burst whose workers never came (no figure at all) and a burst sweep too short
    for a memory sample: each chart draws (or says what is missing), never raises."""
    import math

    from echobench import plots, results

    base = {**dict.fromkeys(results.COLUMNS), "config": "fastapi-async", "model": "async",
            "workers": 1, "capacity": math.inf, "parallel": 1, "repeat": 1, "note": ""}  # fmt: skip
    summary = pd.DataFrame([
        {**base, "scenario": "burst", "users": 40, "delay_s": 1.0, "valid": False},
        {**base, "scenario": "burst", "users": 20, "delay_s": 0.2, "makespan_s": 0.21,
         "ideal_makespan_s": 0.2, "efficiency": 0.95, "valid": True, "failed": 0,
         "timeouts": 0, "unfinished": 0},
        {**base, "scenario": "burst", "users": 200, "delay_s": 0.01, "makespan_s": 0.08,
         "ideal_makespan_s": 0.01, "efficiency": 0.12, "valid": False, "failed": 0,
         "timeouts": 0, "unfinished": 0},
    ])  # fmt: skip
    charts = plots.all_charts(summary)
    assert {"burst_makespan", "scale_makespan"} <= set(charts)
    for figure in charts.values():
        figure.savefig(io.BytesIO(), format="png")  # drawing is where empty data would fail
    texts = [t.get_text() for ax in charts["scale_makespan"].axes for t in ax.texts]
    assert "no memory sample fell inside these bursts" in texts


def test_the_first_lines_name_the_cheapest_config_that_does_the_job():
    """Waiting only, 3 repeats each: async and gevent tie on rate (their intervals
    overlap), gevent holds more memory, sync-4 answers fewer: async does the job."""
    frame = pd.DataFrame([
        *steady_rows("fastapi-async", 32, [316.0, 318.0, 320.0], 0.99, peak=41.0),
        *steady_rows("flask-gevent-1", 32, [315.0, 317.0, 321.0], 0.99, peak=46.0),
        *steady_rows("flask-sync-4", 32, [39.0, 40.0, 40.5], 1.0, peak=82.0),
    ])  # fmt: skip
    first = advice.sentences(frame)[0]
    assert first == (
        "Waiting only (D = 100 ms, 32 users): fastapi-async does the job for the least memory "
        "(41 MB at peak, 318 [316, 320] req/s); as many answers within the intervals, for "
        "more memory: flask-gevent-1 (+5 MB); fewer answers: flask-sync-4 (40.0 [39.0, 40.5])."
    )
    once = frame.groupby("config").head(1)
    assert advice.sentences(once)[0] == (
        "Waiting only (D = 100 ms, 32 users): each of 3 configs was measured fewer than 3 "
        "times, too few to tell them apart, so none is named."
    )


def test_no_memory_sentence_without_a_cost_to_say():
    flat = pd.DataFrame([
        *steady_rows("fastapi-async", 8, [80.0], 1.0, peak=41.0),
        *steady_rows("fastapi-async", 32, [318.0], 1.0, peak=40.0),
        *steady_rows("fastapi-async", 64, [600.0], 1.0, peak=41.5),
    ])  # fmt: skip
    said = " ".join(advice.sentences(flat))
    assert "What a slot costs" not in said, "no worker fit, no per-request cost told from 0"


def test_a_workload_where_no_config_keeps_its_p99_bound_says_so():
    slow = pd.DataFrame(steady_rows("fastapi-async", 32, [316.0, 318.0, 320.0], 0.99)).assign(
        p99_ms=5000.0
    )
    assert advice.sentences(slow)[0] == (
        "Waiting only (D = 100 ms, c = 0 ms, 32 users): no config kept its p99 within 10 x "
        "(D + c) = 1000 ms, so none does the job by that bound."
    )
