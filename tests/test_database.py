"""io = db: the model's K behind a pool, the contract's database wait, and the records."""

from __future__ import annotations

import asyncio
import math

import pandas as pd
import pytest

from echobench import advice, metrics, model, profiles, verdict
from echobench.configs import DEFAULT_POOL_MAX, FAMILIES, get_config
from echobench.database import DEFAULT_MAX_CONNECTIONS, redact
from echobench.point import Point
from echobench.records import REQUEST_FIELDS
from servers import contract, database

INF = math.inf


# --- K behind a database ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("capacity", "workers", "pool", "max_connections", "k"),
    [
        (INF, 1, 10, 100, 10),  # an event loop: its pool is its K
        (4, 4, 1, 100, 4),  # sync workers: one connection each is enough
        (40, 1, 10, 100, 10),  # the thread pool: 40 threads, 10 connections
        (16, 2, 8, 100, 16),  # gthread 2x8 with 8 each: the pool does not bind
        (2000, 2, 100, 100, 100),  # past the database's max_connections
        (4, 4, 1, 3, 3),
    ],
)
def test_k_behind_a_database_is_the_least_of_slots_pools_and_connections(
    capacity, workers, pool, max_connections, k
):
    assert model.db_slots(capacity, workers, pool, max_connections) == k


@pytest.mark.parametrize(
    ("config", "pool"),
    [("flask-sync-4", 1), ("flask-gthread-2x8", 8), ("flask-gthread-2x32", 10),
     ("flask-gevent-2", 10), ("fastapi-async", 10), ("fastapi-async-2", 10),
     ("fastapi-threadpool", 10), ("flask-waitress-4", 4), ("fastapi-blocking", 1)],
)  # fmt: skip
def test_the_default_pool_is_one_connection_per_slot_at_most_ten(config, pool):
    assert get_config(config).default_pool == pool


def test_every_family_states_its_default_pool_as_its_configs_have_it():
    examples = {"N": "3", "NxT": "2x4", "T": "6"}
    for family in FAMILIES.values():
        cid = family.name.replace("NxT", examples["NxT"]).replace("-N", "-3").replace("-T", "-6")
        config = get_config(cid)
        stated = family.pool
        if stated.startswith("min("):
            threads = config.threads
            assert config.default_pool == min(threads, DEFAULT_POOL_MAX), cid
        else:
            assert config.default_pool == int(stated), cid


def test_a_db_point_uses_that_k_everywhere_the_model_is_asked():
    cfg = get_config("fastapi-threadpool")
    sleep = Point(1, "steady", cfg, 64, 0.1, 1)
    db = Point(1, "steady", cfg, 64, 0.1, 1, io="db", pool=10, db_connections=100)
    assert sleep.slots == 40 and db.slots == 10
    assert sleep.scenario_def.ideal_rps(sleep) == pytest.approx(400)
    assert db.scenario_def.ideal_rps(db) == pytest.approx(100)
    assert db.timings.ideal_latency_s == pytest.approx(0.64)  # 64 users through 10 connections
    assert db.point_id == "001-steady-fastapi-threadpool-u64-db10-r1"
    assert Point.from_description(db.describe()) == db


# --- profiles --------------------------------------------------------------------------------


def _profile(tmp_path, extra: str, configs='["fastapi-async", "flask-sync-2"]'):
    path = tmp_path / "p.toml"
    path.write_text(
        f'description = "t"\n[[groups]]\nscenario = "burst"\nconfigs = {configs}\n'
        f"users = [20]\ndelay_s = 0.5\n{extra}\n"
    )
    return profiles.load_profile(str(path))


def test_a_group_compares_sleep_and_db_with_each_pool(tmp_path):
    points = _profile(tmp_path, 'io = ["sleep", "db"]').points
    assert [(p.config.id, p.io, p.pool) for p in points] == [
        ("fastapi-async", "sleep", 0), ("fastapi-async", "db", 10),
        ("flask-sync-2", "sleep", 0), ("flask-sync-2", "db", 1),
    ]  # fmt: skip
    assert {p.db_connections for p in points if p.io == "db"} == {DEFAULT_MAX_CONNECTIONS}
    pools = _profile(tmp_path, 'io = "db"\npool = [2, 50]', '["fastapi-async"]').points
    assert [(p.pool, p.slots) for p in pools] == [(2, 2), (50, 50)]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('io = "disk"', "io must be"),
        ('io = ["db", "db"]', "io must be"),
        ("io = 1", "io must be"),
        ("pool = 4", 'needs io = "db"'),
        ('io = "db"\npool = 0', "pool must be whole numbers from 1 to 1000"),
        ('io = "db"\npool = 2.5', "pool must be"),
        ('io = "db"\npool = true', "pool must be"),
        ('io = "db"\npool = [4, 100000]', "pool must be"),
    ],
)
def test_bad_io_and_pool_are_refused_in_one_line(tmp_path, extra, message):
    with pytest.raises(profiles.ProfileError, match=message) as caught:
        _profile(tmp_path, extra)
    assert "\n" not in str(caught.value)


# --- the contract's database wait ------------------------------------------------------------


class FakeDb:
    """Sends back what it was given, as PostgreSQL does, or fails as a pool can."""

    def __init__(self, fail: str | None = None, back: str | None = None) -> None:
        self.fail, self.back, self.asked = fail, back, []

    def query(self, said, delay_s):
        self.asked.append((said, delay_s))
        if self.fail:
            raise database.Unavailable(self.fail)
        return (self.back if self.back is not None else said), database.timing(0.0012, 0.1015)


class FakeAsyncDb(FakeDb):
    async def query(self, said, delay_s):
        return FakeDb.query(self, said, delay_s)


def test_the_page_is_rendered_from_what_the_database_sent_back():
    reply = contract.echo(b"field=h%C3%A9llo+%3Cb%3E&delay=0.1&work=2", 2.0)
    db = FakeDb()
    sent = contract.waited(reply, db)
    assert db.asked == [("héllo <b>", 0.1)]
    assert sent.body == reply.body == contract.render_page("héllo <b>")
    assert sent.work_s == 0.002 and sent.status == 200
    assert sent.headers[database.TIMING_HEADER] == "pool;dur=1.200, db;dur=101.500"
    other = contract.waited(reply, FakeDb(back="not the field"))
    assert other.body == contract.render_page("not the field"), "the value is used, not echoed"


def test_the_async_wait_is_the_same_answer():
    reply = contract.echo(b"field=x&delay=0.1", 2.0)
    sent = asyncio.run(contract.awaited(reply, FakeAsyncDb()))
    assert sent.body == contract.render_page("x")
    assert database.TIMING_HEADER in sent.headers


def test_a_database_that_does_not_answer_is_a_503_that_says_why():
    reply = contract.echo(b"field=x&delay=0.1&work=5", 2.0)
    sent = contract.waited(reply, FakeDb(fail="no database connection within 0.3 s"))
    assert sent.status == 503 and sent.work_s == 0
    assert sent.body == b"Service Unavailable: no database connection within 0.3 s\n"


def test_the_fast_page_and_refusals_never_touch_the_database():
    db = FakeDb()
    for query in (b"", b"delay=0.1", b"field=x&delay=-1"):
        assert contract.waited(contract.echo(query, 0.0), db).body
    assert db.asked == []


@pytest.mark.parametrize(
    ("header", "parsed"),
    [
        ("pool;dur=1.250, db;dur=100.5", (1.25, 100.5)),
        ("db;dur=3", (None, 3.0)),
        ("pool;desc=x;dur=2", (2.0, None)),
        ("pool;dur=abc, db", (None, None)),
        ("", (None, None)),
    ],
)
def test_server_timing_is_read_as_the_standard_says(header, parsed):
    assert database.parse_timing(header) == parsed


# --- records and figures ---------------------------------------------------------------------


def test_pool_waits_and_queries_come_from_each_answers_timing():
    answered = pd.DataFrame(
        {"server_timing": [database.timing(w / 1000, 0.1) for w in range(100)] + [pd.NA, ""]}
    )
    figures = metrics.db_figures(answered)
    assert figures["pool_wait_p50_ms"] == pytest.approx(49.5)
    assert figures["pool_wait_p99_ms"] == pytest.approx(98.01)
    assert figures["query_p50_ms"] == pytest.approx(100.0)
    assert metrics.db_figures(pd.DataFrame({"server_timing": [pd.NA, pd.NA]})) == {}


@pytest.mark.parametrize("dropped", [1, 2])
def test_records_from_before_the_last_columns_are_read_with_them_empty(tmp_path, dropped):
    fields = REQUEST_FIELDS[:-dropped]
    path = tmp_path / "requests.csv"
    pd.DataFrame([dict(zip(fields, ["send", 0, "echo", 0, 1.0], strict=False))],
                 columns=fields).to_csv(path, index=False)  # fmt: skip
    raw = metrics._read_raw(path)
    assert list(raw.columns) == REQUEST_FIELDS and raw["server_timing"].isna().all()


# --- why a db point is off the model ---------------------------------------------------------


def db_row(**extra):
    return {
        "scenario": "steady", "io": "db", "efficiency": 0.8, "work_ms": 0.0, "delay_s": 0.1,
        "users": 64, "capacity": 10, "parallel": 1, "cores": 2, "workers": 1,
        "p50_ms": 640.0, "ideal_latency_ms": 640.0, "query_p50_ms": 101.0,
        "pool_wait_p50_ms": 539.0, "db_cores": 0.02, **extra,
    }  # fmt: skip


def test_a_db_point_names_the_database_costs_it_measured():
    quiet = verdict.model_gap(db_row())
    assert quiet.text.endswith("no measured cause: see the server and load-generator CPU columns")
    slow = verdict.model_gap(db_row(query_p50_ms=130.0, db_cores=0.6))
    assert "a query took 130.0 ms at the median against D = 100 ms" in slow.text
    assert "PostgreSQL used 0.60 cores" in slow.text
    assert "pool connection" not in slow.text, "a queue the model expects is no excuse"
    unqueued = verdict.model_gap(db_row(users=8, pool_wait_p50_ms=30.0))
    assert "answers waited 30.0 ms for a pool connection at the median" in unqueued.text


def test_a_password_never_reaches_logs_or_run_json():
    shown = redact("postgresql://me:s3cret@db.example:5432/app")
    assert "s3cret" not in shown and "***" in shown and "db.example" in shown
    assert set(redact("host=/tmp/x user=postgres").split()) == {"host=/tmp/x", "user=postgres"}


def test_the_advice_says_the_pool_is_k_from_the_run_that_measured_it():
    rows = pd.DataFrame([
        {"scenario": "steady", "valid": True, "config": "fastapi-async", "io": "sleep",
         "pool": float("nan"), "rps": 631.0, "users": 64, "delay_s": 0.1},
        {"scenario": "steady", "valid": True, "config": "fastapi-async", "io": "db",
         "pool": 10.0, "rps": 98.0, "users": 64, "delay_s": 0.1},
        {"scenario": "steady", "valid": True, "config": "fastapi-async", "io": "db",
         "pool": 64.0, "rps": 624.0, "users": 64, "delay_s": 0.1},
        {"scenario": "steady", "valid": True, "config": "flask-sync-4", "io": "sleep",
         "pool": float("nan"), "rps": 39.0, "users": 64, "delay_s": 0.1},
        {"scenario": "steady", "valid": True, "config": "flask-sync-4", "io": "db",
         "pool": 1.0, "rps": 38.0, "users": 64, "delay_s": 0.1},
    ])  # fmt: skip
    said = advice._pool_sentence(rows)
    assert said.startswith(
        "A database behind the wait: the pool is K. Through 10 connections fastapi-async "
        "answered 98 (n = 1) req/s at C = 64 and D = 100 ms, where sleeping it answered "
        "631 (n = 1); through 64, 624 (n = 1)."
    )
    assert advice._pool_sentence(rows[rows["config"] == "flask-sync-4"]) is None, (
        "a pool that does not bind says nothing"
    )


def test_an_embedded_database_that_cannot_start_is_one_line_and_leaves_no_folder(
    monkeypatch, tmp_path
):
    from echobench import database as db_module

    monkeypatch.setattr(db_module, "binaries", lambda: tmp_path / "no-such-install")
    db = db_module.EmbeddedPostgres()
    with pytest.raises(db_module.DatabaseError, match="could not start") as caught:
        db.start()
    assert "\n" not in str(caught.value)
    assert db.root is None and db.proc is None


def test_root_without_an_unprivileged_user_is_said_plainly(monkeypatch):
    from echobench import database as db_module

    monkeypatch.setattr(db_module.os, "geteuid", lambda: 0)
    monkeypatch.setattr(db_module.pwd, "getpwnam", lambda name: (_ for _ in ()).throw(KeyError))
    with pytest.raises(db_module.DatabaseError, match="refuses to run as root"):
        db_module.EmbeddedPostgres()._as_user()
