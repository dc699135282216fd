"""Faults and interruptions: each leaves no process behind and every completed point on disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import psutil
import pytest

from echobench import loadgen, profiles, results, runner
from echobench.configs import get_config
from echobench.server import Server, ServerError, free_port
from tests.helpers import ROOT, alive, pids_of, wait_until

pytestmark = pytest.mark.slow


def fake_config(code: str):
    """A config whose server is a Python one-liner: to fake servers that misbehave."""
    real = get_config("fastapi-async")
    return type(real)(**{**real.__dict__, "_argv": lambda bind: [sys.executable, "-c", code]})


def write_profile(path: Path, *groups: str) -> Path:
    path.write_text(
        'description = "test"\nclient_cost = false\n'
        + "".join(f"\n[[groups]]\n{g}\n" for g in groups)
    )
    return path


QUICK = 'scenario = "burst"\nconfigs = ["fastapi-async"]\nusers = [4]\ndelay_s = 0.2'
SLOW = (
    'scenario = "steady"\nconfigs = ["flask-sync-1"]\nusers = [1]\ndelay_s = 0.5\n'
    "warmup_s = 0.5\nwindow_s = 30.0"
)


def test_server_that_never_gets_ready_is_stopped():
    server = Server(fake_config("import time; time.sleep(600)"), port=free_port())
    with pytest.raises(ServerError, match=r"not ready within 1\.5 s"):
        server.start(ready_timeout_s=1.5)
    assert alive({server.pid}) == set()


def test_server_that_exits_at_start_says_why(tmp_path):
    code = "import sys; print('cannot bind: boom', file=sys.stderr); sys.exit(3)"
    server = Server(fake_config(code), log_path=tmp_path / "server.log")
    with pytest.raises(ServerError, match=r"exited with code 3 .*cannot bind: boom"):
        server.start()


def _run_in_process(tmp_path: Path, *groups: str, first_config=None) -> runner.Run:
    """Run a profile in this process; `first_config` replaces the first point's config."""
    profile = profiles.load_profile(str(write_profile(tmp_path / "p.toml", *groups)))
    if first_config is not None:
        profile.points[0] = replace(profile.points[0], config=first_config)
    run_dir = results.create_run_dir(tmp_path / "run")
    return runner.execute(runner.Run("test", profile, run_dir))


def fake_server(mode: str):
    """A config whose server is tests/fake_server.py in `mode`."""
    script = str(ROOT / "tests" / "fake_server.py")
    real = get_config("fastapi-async")
    return type(real)(
        **{**real.__dict__, "_argv": lambda bind: [sys.executable, script, mode, bind]}
    )


def test_a_wrong_verification_answer_is_recorded_and_the_run_goes_on(tmp_path):
    run = _run_in_process(tmp_path, QUICK, QUICK, first_config=fake_server("wrong-verify"))
    first, second = run.rows
    assert not first["valid"] and "answered the verification request wrongly" in first["note"]
    assert first.get("requests") is None, "no load on a server that answers wrongly"
    assert not (run.run_dir / "raw" / first["point_id"] / "locust.log").exists()
    assert second["valid"], second["note"]
    assert alive(pids_of(run.run_dir)) == set()


def test_wrong_answers_under_load_count_as_failed(tmp_path):
    """Even users get a wrong body, odd ones a 503: every request failed, and says why."""
    run = _run_in_process(tmp_path, QUICK, first_config=fake_server("wrong-load"))
    (row,) = run.rows
    assert (row["requests"], row["ok"], row["failed"]) == (4, 0, 4)
    assert "4 failed" in row["note"]
    records = pd.read_csv(run.run_dir / "raw" / row["point_id"] / "requests.csv")
    errors = records[records["event"] == "done"].set_index("user")["error"].to_dict()
    assert errors == {0: "wrong body", 1: "status 503", 2: "wrong body", 3: "status 503"}
    assert alive(pids_of(run.run_dir)) == set()


def test_a_cpu_warning_in_locusts_log_invalidates_the_point(tmp_path, monkeypatch):
    """The real chain: locust's log says it ran over 90%, the row is load-generator bound."""
    real = loadgen.locust_argv
    note = "import os, sys; open(sys.argv[1], 'a').write('CPU usage above 90%! (test)\\n'); "
    note += "os.execv(sys.argv[2], sys.argv[2:])"

    def warned(point, url, raw, setup=None):
        return [sys.executable, "-c", note, str(raw / "locust.log"), *real(point, url, raw, setup)]

    monkeypatch.setattr(loadgen, "locust_argv", warned)
    (row,) = _run_in_process(tmp_path, QUICK).rows
    assert row["requests"] == row["ok"] == 4, "the load itself ran"
    assert row["loadgen_bound"] and not row["valid"]
    assert "locust warned: CPU usage above 90%" in row["note"]


def test_server_killed_mid_point_is_recorded_and_the_run_goes_on(tmp_path):
    victim = 'scenario = "burst"\nconfigs = ["flask-sync-1"]\nusers = [6]\ndelay_s = 1.0'

    def kill_gunicorn_once_requests_are_in_flight() -> None:
        records = tmp_path / "run" / "raw" / "001-burst-flask-sync-1-u6-r1" / "requests.csv"
        wait_until(lambda: records.exists() and "\nsend," in records.read_text(), 60)
        time.sleep(0.5)
        for child in psutil.Process().children():
            if "gunicorn" in " ".join(child.cmdline()):
                os.killpg(child.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_gunicorn_once_requests_are_in_flight, daemon=True)
    killer.start()
    run = _run_in_process(tmp_path, victim, QUICK)
    killer.join()
    first, second = run.rows
    assert not first["valid"]
    assert "server died mid-point" in first["note"]
    assert first["requests"] == 6
    assert first["ok"] + first["failed"] + first["timeouts"] + first["unfinished"] == 6
    assert first["ok"] < 6
    assert second["valid"], second["note"]
    assert run.status == "complete"
    assert alive(pids_of(run.run_dir)) == set()


def test_locust_that_fails_is_recorded(tmp_path, monkeypatch):
    fails = [sys.executable, "-c", "raise SystemExit(7)"]
    monkeypatch.setattr(loadgen, "locust_argv", lambda *_args: fails)
    run = _run_in_process(tmp_path, QUICK)
    (row,) = run.rows
    assert not row["valid"]
    assert "locust exited with code 7" in row["note"]
    assert row.get("requests") is None, "nothing measured is empty, not 0"
    assert alive(pids_of(run.run_dir)) == set()


def test_locust_that_hangs_is_stopped(tmp_path, monkeypatch):
    hangs = [sys.executable, "-c", "import time; time.sleep(600)"]
    monkeypatch.setattr(loadgen, "locust_argv", lambda *_args: hangs)
    monkeypatch.setattr(loadgen.LocustProcess, "timeout_s", property(lambda self: 2.0))
    started = time.monotonic()
    run = _run_in_process(tmp_path, QUICK)
    assert time.monotonic() - started < 30
    (row,) = run.rows
    assert "locust did not finish in time" in row["note"]
    assert not row["valid"]
    assert alive(pids_of(run.run_dir)) == set()


def _start_run(tmp_path: Path, command: list[str]) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / "run"
    profile = write_profile(tmp_path / "p.toml", QUICK, SLOW, QUICK)
    # `nox --no-venv` runs the `python` first on PATH: make it this one
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen(
        [*command, "--profile", str(profile), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    return proc, out


def _wait_for_second_point(out: Path) -> None:
    def second_point_loading() -> bool:
        summary = out / "summary.csv"
        return (
            summary.exists()
            and len(summary.read_text().splitlines()) == 2
            and any(out.glob("raw/002-*/requests.csv"))
        )

    wait_until(second_point_loading, 60)
    time.sleep(1.0)


def _interrupt_mid_run(proc: subprocess.Popen, out: Path, sig: int) -> str:
    """Signal the run while its second point is under load; its stderr once it exits."""
    try:
        _wait_for_second_point(out)
        proc.send_signal(sig)
        return proc.communicate(timeout=90)[1]
    finally:
        proc.kill()


def _assert_interrupted_cleanly(out: Path) -> None:
    run = results.load_run(out)
    assert run["status"] == "interrupted"
    assert run["points_done"] == 1
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == results.COLUMNS
    assert len(summary) == 1 and bool(summary.loc[0, "valid"])
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))
    pids = pids_of(out)
    assert len(pids) >= 3  # both points' servers and load generators
    wait_until(lambda: alive(pids) == set(), 30)  # each stop may take its 5 s grace


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_run_interrupted_keeps_completed_points(tmp_path, sig):
    proc, out = _start_run(tmp_path, [sys.executable, "-m", "echobench", "run"])
    stderr = _interrupt_mid_run(proc, out, sig)
    assert proc.returncode == 130, stderr[-2000:]
    assert "interrupted" in stderr and "Traceback" not in stderr
    _assert_interrupted_cleanly(out)


def test_nox_bench_interrupted_keeps_completed_points(tmp_path):
    """SIGTERM, the signal nox's own handler turns into KeyboardInterrupt (Ctrl-C's path
    through echobench is the test above)."""
    command = [
        sys.executable,
        "-m",
        "nox",
        "-f",
        str(ROOT / "noxfile.py"),
        "-s",
        "bench",
        "--no-venv",
        "--no-install",
        "--",
    ]
    proc, out = _start_run(tmp_path, command)
    stderr = _interrupt_mid_run(proc, out, signal.SIGTERM)
    assert proc.returncode != 0, stderr[-2000:]
    _assert_interrupted_cleanly(out)
