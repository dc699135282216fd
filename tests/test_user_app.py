"""`echobench run --app`: your WSGI or ASGI app under every family that can serve it.

The fast tests refuse every bad app or request in one line with exit 2, before a
server starts; the slow one runs the example app end to end and checks what it
measured, and that a path the app refuses stops the run before anything is left."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest

from echobench import results, userapp
from echobench.cli import main
from echobench.configs import get_config
from servers import user_app

ROOT = Path(__file__).resolve().parents[1]
NOTES = "examples.notes_app.fastapi_app:app"


def refused(capsys, argv: list[str]) -> str:
    try:
        code = main(["run", *argv])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert "Traceback" not in err
    return err.splitlines()[-1]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--app", "no_such_module:app", "--path", "/"], "no_such_module does not import"),
        (["--app", "servers.contract:nothing", "--path", "/"], "has no attribute 'nothing'"),
        (["--app", "servers.contract:MAX_DELAY_S", "--path", "/"], "is not callable"),
        (["--app", "servers.contract:burn", "--path", "/"], "is neither a WSGI app"),
        (
            ["--app", "tests.needs_env_app:app", "--path", "/"],
            "needs the environment variable ECHOBENCH_TEST_TOKEN",
        ),
        (["--app", "no-colon", "--path", "/"], "--app must look like module:attribute"),
        (["--app", NOTES], "--app needs --path"),
        (["--app", NOTES, "--path", "/notes", "--header", "broken"], "--header must look like"),
        (["--app", NOTES, "--path", "/notes", "--body-file", "/no/such/file"], "--body-file"),
        (["--path", "/notes"], "are for --app"),
        (["--app", NOTES, "--path", "/a b"], "printable ASCII without spaces"),
        (["--app", NOTES, "--path", "/café"], "printable ASCII without spaces"),
        (["--app", NOTES, "--path", "/n", "--header", "X Foo: 1"], "--header must look like"),
        (["--app", NOTES, "--path", "/n", "--header", "Host: evil"], "echobench sets it itself"),
        (["--app", NOTES, "--path", "/n", "--method", "HEAD"], "--method HEAD"),
    ],
)
def test_a_bad_app_or_request_is_one_line_and_exit_2_before_anything_starts(
    capsys, tmp_path, monkeypatch, argv, said
):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(results, "RUNS_DIR", tmp_path / "runs")
    assert said in refused(capsys, [*argv, "--dry-run"])
    assert not (tmp_path / "runs").exists(), "nothing written"


def test_detection_tells_wsgi_from_asgi(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert userapp.detect("examples.notes_app.flask_app:app") == "wsgi"
    assert userapp.detect(NOTES) == "asgi"
    assert user_app.detect("servers.fastapi_app:async_app") == {"interface": "asgi"}


def test_each_family_serves_one_kind_of_app_and_the_wrapper_takes_its_place():
    kinds = {c: userapp.interface_of(get_config(c)) for c in (
        "flask-sync-2", "flask-gevent-2", "flask-waitress-16", "flask-granian-2x8",
        "fastapi-async", "fastapi-hypercorn", "fastapi-granian-2", "fastapi-threadpool",
        "fastapi-blocking")}  # fmt: skip
    assert kinds == {"flask-sync-2": "wsgi", "flask-gevent-2": "wsgi",
                     "flask-waitress-16": "wsgi", "flask-granian-2x8": "wsgi",
                     "fastapi-async": "asgi", "fastapi-hypercorn": "asgi",
                     "fastapi-granian-2": "asgi", "fastapi-threadpool": None,
                     "fastapi-blocking": None}  # fmt: skip
    argv = userapp.swap(get_config("flask-sync-2").argv("127.0.0.1", 8000), "wsgi")
    assert argv[-1] == "servers.user_app:wsgi"


def test_run_json_keeps_no_header_value_and_no_body_of_the_users_request():
    from echobench.point import Point

    request = userapp.AppRequest(NOTES, "asgi", "/notes", "POST", (("Authorization", "t0k"),),
                                 "c2VjcmV0", same_body=True)  # fmt: skip
    point = Point(1, "steady", get_config("fastapi-async"), 4, 0.01, 1, app=request)
    said = json.dumps(point.describe())
    assert "t0k" not in said and "c2VjcmV0" not in said and "Authorization" in said


def test_the_probe_reads_d_and_c_from_one_users_row():
    assert userapp.probe_figures({"ok": 100, "p50_ms": 12.0, "server_cpu_s": 0.2}) == (0.01, 2.0)
    with pytest.raises(userapp.AppError, match="no ok answer"):
        userapp.probe_figures({"ok": 0, "p50_ms": None})


def test_the_wrappers_add_only_the_worker_header():
    import asyncio
    import os

    def wsgi(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hi"]

    seen = {}
    body = user_app._wsgi_wrapper(wsgi)({}, lambda s, h, e=None: seen.update(status=s, h=h))
    assert body == [b"hi"] and seen["h"] == [("Content-Type", "text/plain"),
                                             ("X-Echobench-Worker", str(os.getpid()))]  # fmt: skip

    async def asgi(scope, receive, send):
        await send({"type": "http.response.start", "status": 201, "headers": [(b"a", b"b")]})
        await send({"type": "http.response.body", "body": b"ok"})

    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(user_app._asgi_wrapper(asgi)({"type": "http"}, None, send))
    assert sent[0]["headers"] == [(b"a", b"b"), (b"x-echobench-worker", str(os.getpid()).encode())]
    assert sent[0]["status"] == 201 and sent[1] == {"type": "http.response.body", "body": b"ok"}


def _profile(tmp_path: Path) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text('client_cost = false\n[[groups]]\nscenario = "steady"\n'
                    'configs = ["fastapi-async", "flask-sync-2"]\nusers = [4]\ndelay_s = 0.05\n'
                    "warmup_s = 0.3\nwindow_s = 1.5\n")  # fmt: skip
    return path


def _echobench_servers() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["environ"]):
        try:
            if (proc.info["environ"] or {}).get(userapp.TARGET_ENV):
                found.append(proc)
        except psutil.Error:
            continue
    return found


@pytest.mark.slow
def test_the_example_app_runs_end_to_end_with_its_probe_in_the_report(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("NOTES_DB", str(tmp_path / "notes.sqlite3"))
    out = tmp_path / "run"
    code = main(["run", "--app", NOTES, "--path", "/notes?limit=5", "--same-body",
                 "--profile", str(_profile(tmp_path)), "--out", str(out)])  # fmt: skip
    assert code in (0, 3)
    meta = json.loads((out / "run.json").read_text())
    assert meta["app"]["interface"] == "asgi" and meta["app"]["probe"]["answers"] > 10
    summary = results.load_summary(out)
    assert list(summary["config"]) == ["fastapi-async"], "flask-sync-2 serves WSGI only"
    row = summary.iloc[0]
    assert row["ok"] == row["requests"] > 0, "every answer 2xx with the first one's body"
    assert row["work_ms"] == meta["app"]["probe"]["cpu_ms"]
    assert row["workers_seen"] == 1, "the wrapper names the worker in each answer"
    report = (out / "report.md").read_text()
    assert "## Your app" in report and f"c = {meta['app']['probe']['cpu_ms']:g} ms" in report
    assert not _echobench_servers()


@pytest.mark.slow
def test_a_path_the_app_refuses_stops_the_run_before_anything_is_left(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("NOTES_DB", str(tmp_path / "notes.sqlite3"))
    monkeypatch.setattr(results, "RUNS_DIR", tmp_path / "runs")
    said = refused(capsys, ["--app", "examples.notes_app.flask_app:app", "--path",
                            "/notes?limit=0", "--profile", str(_profile(tmp_path))])  # fmt: skip
    assert "answered GET /notes?limit=0 with 400" in said
    assert not (tmp_path / "runs").exists() and not _echobench_servers()
