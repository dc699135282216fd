"""The client's own cost: the trivial answerer's bytes, a failed measurement said and
kept, and the report's line. The real measurement runs in the smoke run
(test_pipeline_smoke.py: positive, every answer right, nothing left running)."""

from __future__ import annotations

from rich.console import Console

from echobench import answerer, client_cost, report
from servers import contract


def test_the_answerer_echoes_the_field_with_its_length_and_keeps_the_connection():
    page = contract.render_page("u3r7")
    assert answerer.answer_for(b"GET /?field=u3r7&delay=0.0 HTTP/1.1\r\nHost: x\r\n\r\n") == (
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(page), page)
    )
    assert answerer.answer_for(b"garbage").endswith(contract.render_page())


def test_a_failed_measurement_is_said_and_kept_and_the_run_goes_on(monkeypatch, tmp_path):
    def fail(_raw):
        raise RuntimeError("the trivial answerer did not start (see answerer.log)")

    monkeypatch.setattr(client_cost, "measure", fail)
    console = Console(record=True, width=200)
    assert client_cost.measure_or_say(tmp_path, console) == {
        "error": "the trivial answerer did not start (see answerer.log)"
    }
    assert "was not measured: the trivial answerer did not start" in console.export_text()


def test_the_report_says_the_clients_cost_or_why_it_is_missing():
    cost = {"us_per_request": 25.8, "rps": 30110.0, "users": 16, "pinned": True}
    (line,) = report._client_cost_lines(cost)
    assert "16 users against a trivial answerer on another core" in line
    assert "spent 26 us of CPU per request at 30110 req/s" in line
    assert report._client_cost_lines({"error": "boom"}) == [
        "- The client's own cost was not measured: boom"
    ]
    assert report._client_cost_lines(None) == [], "older runs have none"


def test_a_profile_may_leave_the_clients_cost_out_and_must_say_so_plainly(tmp_path):
    import pytest

    from echobench import profiles

    base = '[[groups]]\nscenario = "burst"\nconfigs = ["fastapi-async"]\nusers = [2]\n'
    base += "delay_s = 0.1\n"
    path = tmp_path / "p.toml"
    path.write_text(base)
    assert profiles.load_profile(str(path)).client_cost is True, "measured unless said"
    path.write_text("client_cost = false\n" + base)
    assert profiles.load_profile(str(path)).client_cost is False
    path.write_text('client_cost = "no"\n' + base)
    with pytest.raises(profiles.ProfileError, match="client_cost must be true or false"):
        profiles.load_profile(str(path))


def test_the_report_shows_cpu_per_request_only_where_the_clock_can_tell(tmp_path):
    """The server's CPU moves in 10 ms ticks: over fewer than ten, its per-answer figure
    would be noise (0 or 1250 us for 8 answers), so the cell stays empty."""
    from echobench import results

    rows = []
    for pid, cpu_s in (
        ("001-steady-fastapi-async-u2-r1", 0.01),
        ("002-steady-fastapi-async-u4-r1", 0.5),
    ):
        rows.append({"run_id": "r", "point_id": pid, "config": "fastapi-async",
                     "scenario": "steady", "users": 2, "delay_s": 0.01, "repeat": 1,
                     "requests": 1000, "ok": 1000, "failed": 0, "timeouts": 0, "unfinished": 0,
                     "rps": 500.0, "duration_s": 2.0, "server_cpu_s": cpu_s,
                     "loadgen_cpu_us_per_request": 40.0, "valid": True, "loadgen_bound": False,
                     "note": "", "io": "sleep"})  # fmt: skip
    results.write_summary(rows, tmp_path / "summary.csv")
    table = report.scenario_table(results.load_summary(tmp_path), "steady")
    assert list(table["server CPU us/answer"]) == ["", "500"]
    assert list(table["client CPU us/request"]) == ["40", "40"]
