"""Usage mistakes end in exit 2, one line, no traceback, and nothing written."""

from __future__ import annotations

import ast
import inspect
import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest

import echobench
from echobench import cli, configs, loadgen, profiles, results
from echobench.configs import FAMILIES, ConfigError, get_config
from echobench.options import RunOptions
from echobench.server import LOOPBACK_V4, Server, free_port

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "echobench", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )


def assert_usage_error(done: subprocess.CompletedProcess, cwd: Path, *expected: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    for text in expected:
        assert text in last, last
    assert not (cwd / "results").exists(), "nothing may be written"


BAD_PROFILE = {
    "not-toml.toml": ("description = [", "not valid TOML"),
    "no-groups.toml": ('description = "x"', "at least one [[groups]]"),
    "bad-scenario.toml": (
        '[[groups]]\nscenario = "soak"\nconfigs = ["fastapi-async"]\nusers = [1]',
        "scenario must be one of",
    ),
    "bad-users.toml": (
        '[[groups]]\nscenario = "burst"\nconfigs = ["fastapi-async"]\nusers = [0]',
        "users must be whole numbers",
    ),
    "bad-delay.toml": (
        '[[groups]]\nscenario = "burst"\nconfigs = ["fastapi-async"]\nusers = [1]\ndelay_s = -1',
        "delay_s must be a number",
    ),
    "bad-config.toml": (
        '[[groups]]\nscenario = "burst"\nconfigs = ["flask-sync-0"]\nusers = [1]',
        "workers must be from 1",
    ),
    "unknown-key.toml": (
        '[[groups]]\nscenario = "burst"\nconfigs = ["fastapi-async"]\nusers = [1]\nrps = 5',
        "unknown key 'rps'",
    ),
    "k-unbounded.toml": (
        '[[groups]]\nscenario = "steady"\nconfigs = ["fastapi-async"]\nusers = ["K"]',
        "needs a bounded config",
    ),
    "bad-repeat.toml": (
        'repeat = 0\n[[groups]]\nscenario = "burst"\nconfigs = ["fastapi-async"]\nusers = [1]',
        "repeat must be",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_PROFILE))
def test_invalid_profiles_are_refused(tmp_path, name):
    text, reason = BAD_PROFILE[name]
    (tmp_path / name).write_text(text)
    assert_usage_error(run_cli("run", "--profile", name, cwd=tmp_path), tmp_path, reason)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["run", "--profile", "nope"], "unknown profile 'nope'"),
        (["run", "--profile", "missing.toml"], "does not exist"),
        (["run", "--profile", "smoke", "--configs", "flask-sync-0"], "workers must be from 1"),
        (["run", "--profile", "smoke", "--configs", "flask-gthread-4x"], "unknown config"),
        (["run", "--profile", "smoke", "--repeat", "0"], "--repeat"),
        (["run", "--profile", "smoke", "--repeat", "x"], "--repeat"),
        (["run", "--profile", "smoke", "--scenarios", "soak"], "invalid choice"),
        (
            ["run", "--profile", "smoke", "--out", "/proc/echobench/run"],
            "cannot create output folder",
        ),
        (["serve", "flask-sync-0"], "flask-sync-0: workers must be from 1 to 64, got 0"),
        (["serve", "fastapi-asnyc"], "did you mean fastapi-async?"),
        (["serve", "flask-gthred-4x8"], "did you mean flask-gthread-4x8?"),
        (["run", "--profile", "quik"], "did you mean quick?"),
        (["run", "--profile", "quick.toml"], "the built-in profile is `--profile quick`"),
        (["run", "--profle", "smoke"], "(did you mean --profile?)"),
        (
            ["run", "--profile", "smoke", "--configs", "fastapi-asnyc"],
            "did you mean fastapi-async?",
        ),
        (["serve", "flask-waitress-0"], "threads must be from 1"),
        (["serve", "flask-granian-2x0"], "threads must be from 1"),
        (["serve", "fastapi-granian-65"], "workers must be from 1 to 64"),
        (["serve", "fastapi-unicorn-2"], "unknown config"),
        (["serve", "flask-gthread-4x"], "unknown config"),
        (["serve", "fastapi-async", "--delay", "inf"], "delay must be"),
        (["report", "no/such/run"], "not a run folder"),
        (["report", "."], "not a run folder"),
        (["serve", "nope"], "unknown config"),
        (["serve", "fastapi-async", "--port", "x"], "port must be"),
        (["serve", "fastapi-async", "--delay", "-1"], "delay must be"),
        (["serve", "fastapi-async", "--delay", "nan"], "delay must be"),
        (["serve", "fastapi-async", "--work", "1001"], "work must be"),
        (["serve", "fastapi-async", "--work", "-5"], "work must be"),
        (["run", "--loadgen-workers", "2", "--loadgen-processes", "2"], "cannot be combined"),
        (["run", "--bind", "127.0.0.2", "--target", "http://127.0.0.1:9"], "not with --target"),
        (["run", "--bind", "127.0.0.1", "--target", "http://127.0.0.1:9"], "not with --target"),
        (["run", "--loadgen-workers", "0"], "whole number from 1 to 100"),
        (["run", "--loadgen-port", "70000"], "port must be"),
        (["loadgen-worker"], "--master"),
        (["loadgen-worker", "--master", "h", "--points", "0"], "from 1 to 100000"),
        (["loadgen-worker", "--master", "h", "--max-time", "-1"], "seconds from 0"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_in_one_line(tmp_path, args, reason):
    assert_usage_error(run_cli(*args, cwd=tmp_path), tmp_path, reason)


def test_version():
    done = run_cli("--version", cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == f"echobench {echobench.__version__}"


def test_a_dry_run_lists_the_points_and_their_time_and_starts_nothing(tmp_path):
    out = tmp_path / "never"
    done = run_cli("run", "--profile", "smoke", "--dry-run", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    profile = profiles.load_profile("smoke")
    for point in profile.points:
        assert point.point_id in done.stderr
    assert f"{len(profile.points)} points, about" in done.stderr
    assert not out.exists() and not (tmp_path / "results").exists()


def test_report_without_a_run_points_to_the_reference_report(tmp_path):
    (tmp_path / "results" / "reference").mkdir(parents=True)
    (tmp_path / "results" / "reference" / "report.md").write_text("# reference")
    done = run_cli("report", cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "no run of yours yet in results/latest: `nox -s bench` makes one" in line
    assert "results/reference/report.md" in line


def test_existing_output_folder_is_never_overwritten(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    done = run_cli("run", "--profile", "smoke", "--out", str(out), cwd=tmp_path)
    assert_usage_error(done, tmp_path, "already exists")
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_help_explains_every_command(tmp_path):
    for command in ("run", "serve", "report", "servers"):
        done = run_cli(command, "--help", cwd=tmp_path)
        assert done.returncode == 0 and "usage:" in done.stdout


def test_servers_lists_every_family_with_its_k_and_p(tmp_path):
    done = run_cli("servers", cwd=tmp_path)
    assert done.returncode == 0
    lines = {line.split()[0]: line.split() for line in done.stdout.splitlines()[1:-1]}
    for name, family in FAMILIES.items():
        assert lines[name][1:4] == [family.model, family.slots.text, family.parallel.text], name
    assert lines["fastapi-async-N"][1:4] == ["async", "unbounded", "N"]
    assert lines["flask-gthread-NxT"][1:4] == ["threads", "N*T", "N"]


@pytest.mark.parametrize(
    "bad",
    [
        "flask-sync-0",
        "flask-sync-65",
        "flask-gthread-4x",
        "flask-gthread-0x4",
        "flask-gevent-",
        "fastapi",
        "FASTAPI-ASYNC",
        "flask-sync-1; rm -rf /",
        "flask-sync-01x",
    ],
)
def test_malformed_config_ids(bad):
    with pytest.raises(ConfigError):
        get_config(bad)


@pytest.mark.parametrize(
    ("host", "exposed"),
    [
        ("127.0.0.1", False),
        ("127.0.0.2", False),
        ("::1", False),
        ("localhost", False),
        ("0.0.0.0", True),
        ("::", True),
        ("192.168.1.10", True),
        ("example.org", True),
    ],
)
def test_binding_beyond_loopback_is_flagged(host, exposed):
    assert cli.exposed(host) is exposed


def test_everything_binds_loopback_unless_told_otherwise():
    """The defaults as the code declares them, never passed in by the test."""
    assert ipaddress.ip_address(LOOPBACK_V4).is_loopback
    parser = cli.build_parser()
    assert parser.parse_args(["serve", "fastapi-async"]).host == LOOPBACK_V4
    run = RunOptions.from_args(parser.parse_args(["run"]))
    assert run.bind is None and run.server_host == run.loadgen_bind == LOOPBACK_V4
    assert RunOptions(bind="").server_host == LOOPBACK_V4, "an empty --bind is loopback"
    assert RunOptions() == run, "the parser's defaults are the options' own"
    assert loadgen.LoadSetup().host == LOOPBACK_V4
    assert inspect.signature(Server).parameters["host"].default == LOOPBACK_V4
    assert inspect.signature(free_port).parameters["host"].default == LOOPBACK_V4
    argv = get_config("flask-sync-2").argv(LOOPBACK_V4, 8000)
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv)


def test_no_shell_strings_anywhere():
    """Every process is started from an argument list; no module asks for a shell."""
    for path in [
        *ROOT.glob("echobench/*.py"),
        *ROOT.glob("servers/*.py"),
        *ROOT.glob("loadtests/*.py"),
    ]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "shell":
                pytest.fail(f"{path.name}: shell= keyword")
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("system", "popen")
                and getattr(node.value, "id", "") == "os"
            ):
                pytest.fail(f"{path.name}: os.{node.attr}")


def test_builtin_profiles_expand():
    """Their budgets: tests/test_profile_budgets.py."""
    for name in profiles.available():
        assert profiles.load_profile(name).points, name


def test_atomic_write_never_leaves_a_torn_file(tmp_path, monkeypatch):
    target = tmp_path / "summary.csv"
    results.atomic_write(target, "old,complete\n")

    def crash(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        results.atomic_write(target, "new,half")
    assert target.read_text() == "old,complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.csv"]


def test_a_server_package_that_is_missing_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path):
    """granian hidden from this Python: `serve` and `run` refuse before starting anything."""
    real = configs.importlib.util.find_spec
    monkeypatch.setattr(
        configs.importlib.util, "find_spec", lambda name: None if name == "granian" else real(name)
    )
    assert cli.main(["serve", "fastapi-granian-2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "fastapi-granian-2 needs granian, not installed" in err
    out = tmp_path / "run"
    assert cli.main(["run", "--profile", "smoke", "--configs", "flask-granian-1x2",
                     "--out", str(out)]) == 2  # fmt: skip
    assert "flask-granian-1x2 needs granian" in capsys.readouterr().err
    assert not out.exists(), "nothing written"
    configs.require_installed(configs.get_config("fastapi-async"))  # uvicorn is here


@pytest.mark.parametrize("budget", ["0", "-3", "true", '"15"'])
def test_a_budget_that_is_not_a_positive_number_is_refused(tmp_path, budget):
    path = tmp_path / "p.toml"
    path.write_text(f'budget_min = {budget}\n[[groups]]\nscenario = "burst"\n'
                    'configs = ["fastapi-async"]\nusers = [2]\ndelay_s = 0.1\n')  # fmt: skip
    with pytest.raises(profiles.ProfileError, match="budget_min must be a positive number"):
        profiles.load_profile(str(path))
