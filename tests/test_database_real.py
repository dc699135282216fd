"""io = db for real: the embedded PostgreSQL, pools in real servers, faults, no orphans."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import psutil
import pytest

from echobench import database, findings, profiles, report, results, runner
from echobench.configs import get_config
from echobench.options import RunOptions
from echobench.processes import tree
from echobench.server import Server, free_port
from servers import contract
from servers.database import PoolSettings
from tests import independent
from tests.helpers import ROOT, Served, alive, assert_accounted, pids_of, simultaneous_gets

pytestmark = pytest.mark.slow


def _get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
        return resp.read()


def test_the_embedded_database_starts_answers_and_leaves_nothing(tmp_path):
    db = database.EmbeddedPostgres(max_connections=20)
    with db:
        root = db.root
        import psycopg

        with psycopg.connect(db.url) as conn:
            said = conn.execute(database_query(), ("é <x>", 0.01)).fetchone()[0]
            assert said == "é <x>"
            assert conn.execute("SHOW max_connections").fetchone()[0] == "20"
            assert conn.execute("SHOW listen_addresses").fetchone()[0] == "", "no TCP port"
        pids = {p.pid for p in db.members()}
        assert db.pid in pids and len(pids) >= 3, "postmaster and its helpers"
        if os.geteuid() == 0:
            assert psutil.Process(db.pid).username() == database.UNPRIVILEGED_USER
    assert alive(pids | db.pids_ever) == set()
    assert not root.exists(), "its folder goes with it"


def database_query() -> str:
    from servers.database import QUERY

    return QUERY


def test_a_killed_postmaster_leaves_no_backend_behind():
    db = database.EmbeddedPostgres().start()
    import psycopg

    conn = psycopg.connect(db.url, autocommit=True)
    busy = threading.Thread(
        target=lambda: _quietly(conn.execute, "SELECT pg_sleep(30)"), daemon=True
    )
    busy.start()
    time.sleep(0.5)
    members = {p.pid for p in db.members()}
    os.kill(db.pid, signal.SIGKILL)
    db.stop()
    assert alive(members | db.pids_ever) == set()
    conn.close()


def _quietly(call, *args):
    with contextlib.suppress(Exception):  # the connection is cut under it: that is the test
        call(*args)


def test_serve_io_db_answers_the_sleep_modes_bytes_and_stops_its_database():
    """The issue's check: the ready line comes once the database answers; the same bytes."""
    path = "/?field=x&delay=0.1"
    with Served("fastapi-async") as plain:
        expected = _get(plain.port, path)
    served = Served("fastapi-async", "--io", "db")
    try:
        assert served.ready_line == f"ready http://127.0.0.1:{served.port}"
        started = time.monotonic()
        assert _get(served.port, path) == expected
        assert time.monotonic() - started >= 0.1
        pids = {p.pid for p in tree(served.proc.pid)}
        names = {psutil.Process(p).name() for p in pids if alive({p})}
        assert "postgres" in names, "the embedded database is the serve command's child"
    finally:
        code = served.stop(signal.SIGINT)
    assert code == 0
    assert alive(pids) == set()


def test_each_app_kind_queries_through_its_own_pool():
    """An async pool (FastAPI async def), a blocking pool made cooperative by gevent, and a
    blocking pool in threads: 8 requests of 0.3 s through 4 connections take two rounds."""
    with database.EmbeddedPostgres() as db:
        for cid in ("fastapi-async", "flask-gevent-1", "fastapi-threadpool"):
            config = get_config(cid)
            with Server(config, delay_s=0.3, db=PoolSettings(db.url, 4)) as server:
                answers, makespan = simultaneous_gets(server.port, "/?field=x&delay=0.3", 8)
            assert [a[0] for a in answers] == [200] * 8, cid
            assert all(a[1] == contract.render_page("x") for a in answers), cid
            assert 0.55 <= makespan < 1.2, f"{cid}: {makespan:.2f} s is not two rounds of 0.3 s"
            waits = sorted(float(a[3]["server-timing"].split("dur=")[1].split(",")[0])
                           for a in answers)  # fmt: skip
            assert waits[3] < 100 and waits[4] > 250, f"{cid}: four waited a round: {waits}"


DB_GROUPS = """
[[groups]]
scenario = "burst"
configs = ["fastapi-async", "flask-sync-2"]
users = [20]
delay_s = 0.2
io = ["sleep", "db"]

[[groups]]
scenario = "steady"
configs = ["fastapi-threadpool"]
users = [16]
delay_s = 0.1
warmup_s = 0.5
window_s = 2.0
io = "db"
pool = [4, 16]
"""


def _execute(tmp_path, groups: str, db=None, pool_timeout_s: float = 30.0) -> runner.Run:
    path = tmp_path / "p.toml"
    path.write_text('description = "db test"\nclient_cost = false\n' + groups)
    profile = profiles.load_profile(str(path))
    run = runner.Run("test", profile, results.create_run_dir(tmp_path / "run"),
                     database=db or database.EmbeddedPostgres(),
                     options=RunOptions(pool_timeout_s=pool_timeout_s))  # fmt: skip
    return runner.execute(run)


def test_a_db_run_measures_pools_against_the_model_and_leaves_nothing(tmp_path):
    run = _execute(tmp_path, DB_GROUPS)
    summary = results.load_summary(run.run_dir)
    assert summary["valid"].all(), summary["note"].tolist()
    assert_accounted(summary)
    by = summary.set_index("point_id")
    async_db = by.loc["002-burst-fastapi-async-u20-db10-r1"]
    assert async_db["capacity"] == 10 and async_db["pool"] == 10
    assert async_db["ideal_makespan_s"] == pytest.approx(0.4), "20 through 10 connections"
    assert by.loc["001-burst-fastapi-async-u20-r1"]["ideal_makespan_s"] == pytest.approx(0.2)
    steady = summary[summary["scenario"] == "steady"].set_index("pool")
    assert steady.loc[4, "ideal_rps"] == pytest.approx(40)
    assert steady.loc[16, "ideal_rps"] == pytest.approx(160)
    assert (summary[summary["scenario"] == "steady"]["efficiency"] > 0.9).all()
    assert steady.loc[4, "pool_wait_p50_ms"] > 250, "12 of 16 users wait 3 queries of 0.1 s"
    assert steady.loc[16, "pool_wait_p50_ms"] < 10
    assert (steady["query_p50_ms"] >= 100).all()
    assert summary[summary["io"] == "sleep"]["pool_wait_p50_ms"].isna().all()
    meta = results.load_run(run.run_dir)
    assert meta["database"]["kind"] == "embedded" and meta["database"]["starts"] == 1
    assert alive(pids_of(run.run_dir)) == set()
    assert independent.disagreements(run.run_dir)[0] == {}
    text = report.write_report(run.run_dir).read_text()
    charts = {p.stem for p in (run.run_dir / "charts").glob("*.png")}
    assert {"sleep_vs_db", "db_cpu", "burst_makespan"} <= charts
    said = findings.database(summary)
    assert any(line.startswith("fastapi-threadpool, steady, C = 16, D = 100 ms: db, pool 4: 40")
               for line in said), said  # fmt: skip
    assert "## A real database behind the wait" in text and "| wait |" in text


def test_a_pool_exhausted_past_its_timeout_fails_each_request_with_its_reason(tmp_path):
    groups = ('[[groups]]\nscenario = "burst"\nconfigs = ["fastapi-async"]\nusers = [4]\n'
              'delay_s = 0.6\nio = "db"\npool = 1\n')  # fmt: skip
    run = _execute(tmp_path, groups, pool_timeout_s=0.3)
    (row,) = run.rows
    assert (row["requests"], row["ok"], row["failed"]) == (4, 1, 3)
    assert "3 failed" in row["note"], "failures are a result: counted and said, not hidden"
    records = pd.read_csv(run.run_dir / "raw" / row["point_id"] / "requests.csv")
    errors = records[(records["event"] == "done") & (records["outcome"] == "failed")]["error"]
    assert set(errors) == {
        "status 503: Service Unavailable: no database connection within 0.3 s (pool exhausted)"
    }
    assert alive(pids_of(run.run_dir)) == set()


def test_postgres_killed_mid_point_is_said_and_the_run_goes_on(tmp_path):
    groups = (
        '[[groups]]\nscenario = "steady"\nconfigs = ["flask-gthread-1x4"]\nusers = [4]\n'
        'delay_s = 0.2\nwarmup_s = 0.5\nwindow_s = 3.0\nio = "db"\n'
        '\n[[groups]]\nscenario = "burst"\nconfigs = ["fastapi-async"]\nusers = [4]\n'
        'delay_s = 0.2\nio = "db"\n'
    )  # fmt: skip
    db = database.EmbeddedPostgres()
    first_pid = []

    def kill_during_the_first_window():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if db.alive() and list(run_dir.glob("raw/001-*/requests.csv")):
                time.sleep(1.5)
                first_pid.append(db.pid)
                os.kill(db.pid, signal.SIGKILL)
                return
            time.sleep(0.05)

    run_dir = tmp_path / "run"
    killer = threading.Thread(target=kill_during_the_first_window, daemon=True)
    killer.start()
    run = _execute(tmp_path, groups, db=db)
    killer.join(5)
    first, second = run.rows
    assert first_pid, "the postmaster was killed"
    assert "PostgreSQL died mid-point (exit code -9)" in first["note"] and not first["valid"]
    assert first["failed"] > 0
    assert "PostgreSQL had died (exit code -9); restarted for this point" in second["note"]
    assert second["valid"], second["note"]
    assert results.load_run(run.run_dir)["database"]["starts"] == 2
    assert alive(pids_of(run.run_dir)) == set()


class _NotPostgres(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.parallel_safe  # refusals, no timing
def test_a_db_url_that_is_not_a_usable_postgres_is_one_line_and_exit_2(tmp_path):
    http = ThreadingHTTPServer(("127.0.0.1", 0), _NotPostgres)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    profile = tmp_path / "p.toml"
    profile.write_text(
        'description = "t"\n[[groups]]\nscenario = "burst"\n'
        'configs = ["fastapi-async"]\nusers = [2]\ndelay_s = 0.1\nio = "db"\n'
    )
    with database.EmbeddedPostgres() as db:
        wrong_user = db.url.replace("postgres@", "nosuchrole@")
        urls = {
            "unreachable": f"postgresql://postgres@127.0.0.1:{free_port()}/postgres",
            "not postgres": f"postgresql://postgres@127.0.0.1:{http.server_port}/postgres",
            "wrong credentials": wrong_user,
        }
        for what, url in urls.items():
            done = subprocess.run(
                [sys.executable, "-m", "echobench", "run", "--profile", str(profile),
                 "--out", str(tmp_path / what.replace(" ", "-")), "--db-url", url],
                capture_output=True, text=True, timeout=60, cwd=ROOT,
            )  # fmt: skip
            assert done.returncode == 2, (what, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and "cannot use the database at" in lines[0], (what, lines)
            assert "Traceback" not in done.stderr
            assert not (tmp_path / what.replace(" ", "-")).exists(), "nothing started or written"
    http.shutdown()
