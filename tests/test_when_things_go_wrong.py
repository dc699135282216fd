"""Slow clients, nginx in front, overload and a crashed worker (#24): the configs'
variants, the figures on planted records, and one real run of each fault."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import psutil
import pytest

from echobench import advice, findings, processes, profiles, proxy, results, slowclients
from echobench.configs import ConfigError, get_config, require_installed
from echobench.point import Point
from echobench.scenarios.crash import CRASH, recovery_s
from echobench.scenarios.open import shedding_figures
from echobench.scenarios.overload import OVERLOAD
from echobench.scenarios.slow import SLOW
from echobench.server import Server
from tests.helpers import ROOT, alive, pids_of, run_profile

needs_nginx = pytest.mark.skipif(proxy.installed() is None, reason=proxy.MISSING)


# --- the config variants -----------------------------------------------------------------


def test_a_limit_sets_the_servers_own_flag_before_its_app_and_caps_what_it_holds():
    limited = get_config("fastapi-async-2+limit8")
    argv = limited.argv("127.0.0.1", 8000)
    assert argv[-3:] == ["--limit-concurrency", "8", "servers.fastapi_app:async_app"]
    assert limited.capacity == 16 and limited.limit == 8 and limited.proxy == ""
    assert limited.base_id == "fastapi-async-2" and limited.variant == "+limit8"
    backlog = get_config("flask-sync-4+limit8")  # a queue limit: K stays the workers
    assert backlog.capacity == 4 and backlog.argv("127.0.0.1", 1)[-3:-1] == ["--backlog", "8"]


def test_nginx_in_front_keeps_the_servers_command_and_its_limit_is_nginxs():
    behind = get_config("flask-sync-4+nginx+limit2")
    assert behind.proxy == "nginx" and behind.limit == 2 and behind.capacity == 2
    assert behind.argv("127.0.0.1", 1) == get_config("flask-sync-4").argv("127.0.0.1", 1)


@pytest.mark.parametrize(
    ("config_id", "said"),
    [
        ("flask-waitress-4+limit3", "has no limit of its own"),
        ("flask-sync-4+limit0", "limit must be from 1"),
        ("flask-sync-4+limit3+nginx", "only +nginx, then +limitN"),
        ("flask-sync-4+squid", "only +nginx, then +limitN"),
    ],
)
def test_a_variant_that_cannot_be_is_refused_in_one_line(config_id, said):
    with pytest.raises(ConfigError, match=re.escape(said)):
        get_config(config_id)


def test_nginx_missing_is_one_line_and_exit_2_before_anything_runs(monkeypatch, tmp_path):
    monkeypatch.setattr(proxy, "installed", lambda: None)
    with pytest.raises(ConfigError, match="needs nginx: apt-get install nginx"):
        require_installed(get_config("flask-sync-4+nginx"))
    require_installed(get_config("flask-sync-4"))  # a bare config does not need it
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from echobench import proxy; "
         "proxy.installed = lambda: None; from echobench.cli import main; "
         "sys.exit(main(['run', '--profile', 'quick', '--configs', 'flask-sync-4+nginx', "
         "'--out', sys.argv[1]]))", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "needs nginx: apt-get install nginx" in done.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "out").exists(), "nothing measured, nothing written"


# --- profiles --------------------------------------------------------------------------


def _profile(tmp_path, text: str):
    path = tmp_path / "p.toml"
    path.write_text(text)
    return profiles.load_profile(str(path))


def test_a_slow_group_has_one_point_without_slow_clients_and_one_per_kind_and_count(tmp_path):
    profile = _profile(
        tmp_path,
        """[[groups]]
scenario = "slow"
configs = ["flask-sync-4"]
rates = [10]
slow_kinds = ["headers", "idle"]
slow_clients = [0, 4]
delay_s = 0.1
""",
    )
    ways = sorted((p.slow_kind, p.slow_clients) for p in profile.points)
    assert ways == [("", 0), ("headers", 4), ("idle", 4)]
    assert len({p.point_id for p in profile.points}) == 3


def test_load_factors_offer_the_bare_configs_capacity_times_each(tmp_path):
    profile = _profile(
        tmp_path,
        """[[groups]]
scenario = "overload"
configs = ["flask-sync-4", "flask-sync-4+nginx+limit4"]
load_factors = [1.5, 3]
work_ms = 10
delay_s = 0.1
window_s = 3.0
""",
    )
    capacity = 4 / 0.11
    rates = sorted({round(p.rate, 6) for p in profile.points})
    assert rates == pytest.approx([1.5 * capacity, 3 * capacity])
    senders = {p.users for p in profile.points if p.rate > 2 * capacity}
    # the warm-up (1 s by default) and the window: every arrival until the window's end held
    assert senders == {math.ceil(3 * capacity * 4.0) + 10}


@pytest.mark.parametrize(
    ("group", "said"),
    [
        ('scenario = "slow"\nrates = [5]\nslow_clients = [1]', "needs slow_kinds"),
        ('scenario = "slow"\nrates = [5]\nslow_kinds = ["fast"]\nslow_clients = [1]',
         "needs slow_kinds"),
        ('scenario = "slow"\nrates = [5]\nslow_kinds = ["idle"]\nslow_clients = [50000]',
         "whole numbers from 0 to 5000"),
        ('scenario = "steady"\nusers = [1]\nslow_kinds = ["idle"]', "are for a slow group"),
        ('scenario = "overload"\nload_factors = [2]', "need a finite capacity"),
        ('scenario = "overload"\nload_factors = [2]\nrates = [3]\nwork_ms = 1', "without rates"),
    ],
)  # fmt: skip
def test_a_fault_group_that_cannot_be_is_refused(tmp_path, group, said):
    with pytest.raises(profiles.ProfileError, match=said):
        _profile(tmp_path, f'[[groups]]\nconfigs = ["fastapi-async"]\n{group}\n')


def test_slow_clients_are_held_no_longer_than_their_driver_allows(tmp_path):
    with pytest.raises(profiles.ProfileError, match="held at most 540 s"):
        _profile(
            tmp_path,
            '[[groups]]\nscenario = "slow"\nconfigs = ["fastapi-async"]\n'
            'rates = [5]\nslow_kinds = ["idle"]\nslow_clients = [1]\nwindow_s = 600\n',
        )


@pytest.mark.parametrize(
    ("extra", "said"),
    [(["--target", "http://127.0.0.1:9", "--configs", "fastapi-async"], "not with --target"),
     (["--bind", "0.0.0.0"], "loopback only")],
)  # fmt: skip
def test_a_fault_on_a_server_that_is_not_ours_or_not_on_loopback_is_refused(tmp_path, extra,
                                                                            said):  # fmt: skip
    profile = tmp_path / "f.toml"
    profile.write_text(
        '[[groups]]\nscenario = "crash"\nconfigs = ["fastapi-async"]\nusers = [2]\ndelay_s = 0.1\n'
    )
    done = subprocess.run([sys.executable, "-m", "echobench", "run", "--profile", str(profile),
                           "--out", str(tmp_path / "out"), *extra], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert said in done.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "out").exists()


def test_the_slow_clients_go_to_loopback_only_and_within_their_bounds():
    base = ["--port", "1", "--kind", "idle", "--hold-s", "1", "--out", "x", "--ready", "y"]
    for args in (["--host", "10.0.0.1", "--count", "1"], ["--host", "127.0.0.1", "--count",
                 "5001"]):  # fmt: skip
        with pytest.raises(SystemExit):
            slowclients.parse([*args, *base])
    assert slowclients.parse(["--host", "::1", "--count", "3", *base]).count == 3


# --- figures on planted records --------------------------------------------------------


def test_recovery_is_the_first_bin_back_at_nine_tenths_of_the_rate_before():
    before = np.arange(0.0, 2.0, 0.01)  # 100 answers a second for 2 s
    after = np.arange(3.0, 5.0, 0.01)  # nothing from the kill at 2.0 until 3.0
    assert recovery_s(np.concatenate([before, after]), 0.0, 2.0, 5.0) == pytest.approx(1.0)
    assert recovery_s(before, 0.0, 2.0, 5.0) is None, "never back within the window"


def _open_requests(latency_ms, outcome, error=""):
    n = len(latency_ms)
    return pd.DataFrame({
        "intended_at": np.linspace(0.0, 2.0, n), "latency_ms": latency_ms,
        "outcome": outcome, "error": error,
    })  # fmt: skip


def test_shedding_figures_count_503s_and_resets_and_fit_the_latencys_growth():
    growing = _open_requests(np.linspace(100.0, 2100.0, 50), "ok")
    in_time = growing["latency_ms"] <= 200.0
    got = shedding_figures(growing, in_time, window_s=2.0)
    assert got["latency_growth_ms_per_s"] == pytest.approx(1000.0)
    assert got["refused_share"] == 0.0 and got["goodput_rps"] == in_time.sum() / 2.0
    shed = pd.concat([
        _open_requests([100.0] * 30, "ok"),
        _open_requests([5.0] * 10, "failed", "status 503: Service Unavailable"),
        _open_requests([7.0] * 5, "failed", "ConnectionResetError"),
        _open_requests([7.0] * 5, "failed", "StaleConnection"),  # a fresh connection reset
        _open_requests([900.0] * 10, "failed", "status 400: Bad Request"),
    ])  # fmt: skip
    got = shedding_figures(shed, shed["outcome"] == "ok", window_s=2.0)
    assert got["refused_share"] == pytest.approx(20 / 60)
    assert got["refused_p50_ms"] == pytest.approx(6.0)


def test_only_a_limit_that_refuses_keeps_the_admitted_latency_flat_in_the_model():
    def growth(config_id: str) -> float:
        point = Point(index=1, scenario="overload", config=get_config(config_id), users=500,
                      delay_s=0.1, repeat=1, window_s=3.0, rate=109.0, work_ms=10.0)  # fmt: skip
        return OVERLOAD.ideal_growth_ms_per_s(point)

    unlimited = growth("flask-sync-4")
    assert unlimited == pytest.approx(1000 * (109.0 - 4 / 0.11) / (4 / 0.11))
    assert growth("flask-sync-4+limit8") == unlimited, "a listen backlog refuses nothing"
    assert growth("flask-sync-4+nginx+limit4") == 0.0
    assert growth("fastapi-async+limit6") == 0.0


def test_the_fast_streams_model_rate_with_held_slots_is_at_most_its_arrivals():
    def held(config_id: str, slow: int) -> float:
        point = Point(index=1, scenario="slow", config=get_config(config_id), users=20,
                      delay_s=0.1, repeat=1, window_s=3.0, rate=16.0, slow_kind="headers",
                      slow_clients=slow)  # fmt: skip
        row, *_ = SLOW.summarize(point, _no_requests(), {"release": 0.0, "end": 5.0})
        return row["held_ideal_rps"]

    assert held("flask-sync-4", 0) == 16.0 and held("fastapi-async", 40) == 16.0
    assert held("flask-sync-4", 3) == pytest.approx(10.0) and held("flask-sync-4", 4) == 0.0


def _no_requests() -> pd.DataFrame:
    return pd.DataFrame(columns=["req_id", "kind", "sent_at", "intended_at", "done_at",
                                 "latency_ms", "status", "outcome", "error", "worker",
                                 "server_timing"])  # fmt: skip


def test_a_crash_point_counts_what_the_kill_took_and_what_failed_after():
    point = Point(index=1, scenario="crash", config=get_config("flask-sync-2"), users=2,
                  delay_s=0.1, repeat=1, warmup_s=0.5, window_s=3.0)  # fmt: skip
    start = 1000.0 + CRASH.effective_warmup_s(point)
    killed = start + 1.0
    rows = [(start + 0.01 * i, start + 0.01 * i + 0.1, "ok") for i in range(99)]
    rows += [(killed - 0.05, killed + 0.01, "failed"), (killed + 0.2, killed + 0.21, "failed")]
    rows += [(killed + 0.5 + 0.01 * i, killed + 0.6 + 0.01 * i, "ok") for i in range(140)]
    requests = pd.DataFrame(rows, columns=["sent_at", "done_at", "outcome"]).assign(
        kind="echo", intended_at=np.nan, latency_ms=100.0, error="", status=200,
        worker="", server_timing="", req_id=range(len(rows)))  # fmt: skip
    marks = {"release": 1000.0, "end": 1000.0 + 5.0,
             "companion": {"killed_at": killed, "was_whole_server": False,
                           "respawned_at": killed + 0.3}}  # fmt: skip
    row, *_ = CRASH.summarize(point, requests, marks)
    assert row["lost_requests"] == 1 and row["failed_after_kill"] == 1
    assert row["respawn_s"] == pytest.approx(0.3)
    assert row["recovery_s"] == pytest.approx(0.5, abs=0.11)


def _planted_faults() -> pd.DataFrame:
    """Rows as the faults profile writes them: sync denied at S = 10 K alone, kept
    behind nginx; an unlimited server queueing, a limited one shedding; two kills."""

    def row(scenario, config, **figures):
        return {"scenario": scenario, "config": config, "valid": True, "capacity": 4.0,
                "delay_s": 0.1, "work_ms": 10.0, "parallel": 4, "cores": 2, "users": 16,
                **figures}  # fmt: skip

    rows = []
    for repeat in (1, 2, 3):
        for config, share in (("flask-sync-4", 0.0), ("flask-sync-4+nginx", 1.0)):
            rows.append(
                row(
                    "slow",
                    config,
                    slow_kind="headers",
                    slow_clients=40,
                    answered_in_bound_share=share,
                    slow_closed=0,
                    repeat=repeat,
                )
            )
            rows.append(
                row(
                    "slow",
                    config,
                    slow_kind=None,
                    slow_clients=0,
                    answered_in_bound_share=1.0,
                    slow_closed=0,
                    repeat=repeat,
                )
            )
        rows.append(
            row(
                "overload",
                "flask-sync-4",
                offered_rps=109.1,
                ideal_rps=36.4,
                goodput_rps=0.0,
                refused_share=0.0,
                refused_p50_ms=None,
                latency_growth_ms_per_s=1800.0,
                repeat=repeat,
            )
        )
        rows.append(
            row(
                "overload",
                "flask-sync-4+nginx+limit4",
                offered_rps=109.1,
                ideal_rps=36.4,
                goodput_rps=33.0,
                refused_share=0.66,
                refused_p50_ms=2.0,
                latency_growth_ms_per_s=1.0,
                repeat=repeat,
            )
        )
        rows.append(
            row(
                "crash",
                "flask-sync-4",
                lost_requests=1,
                failed_after_kill=0,
                recovery_s=0.2,
                killed_whole_server=False,
                repeat=repeat,
            )
        )
    return pd.DataFrame(rows)  # fmt: skip


def test_a_config_that_refuses_yet_queues_or_has_too_few_answers_is_said_so():
    faults = _planted_faults()
    rows = faults[faults["config"] == "flask-sync-4+nginx+limit4"]
    queued = rows.assign(latency_growth_ms_per_s=900.0)
    assert "refused 66% and still queued the rest" in OVERLOAD.survives(queued)
    unfitted = rows.assign(latency_growth_ms_per_s=float("nan"))
    assert "(too few answers to fit)" in OVERLOAD.survives(unfitted)
    mixed = faults[(faults["scenario"] == "slow") & (faults["config"] == "flask-sync-4")]
    mixed = pd.concat([mixed, mixed.head(1).assign(slow_kind="body", slow_clients=8)])
    said = SLOW.survives(mixed)
    assert said.startswith("slow clients: ") and "headers (40)" in said and "body (8)" in said


def test_the_decision_column_and_sentences_say_what_each_config_survived():
    faults = _planted_faults()
    said = advice.fault_sentences(faults)
    slow = next(s for s in said if s.startswith("Slow clients"))
    assert "flask-sync-4: 40 slow clients: denied by headers;" in slow
    assert "flask-sync-4+nginx: 40 slow clients: kept its service against headers." in slow
    shed = next(s for s in said if s.startswith("Overload"))
    assert (
        "flask-sync-4: at 3.0x its capacity it queued every arrival: 0 of its 36 req/s in "
        "time, the wait growing 1.8 s a second"
    ) in shed
    # the factor is of the bare config's capacity, the same load for both
    assert (
        "flask-sync-4+nginx+limit4: at 3.0x its capacity it shed 66% at once and kept 33 "
        "of its 36 req/s in time"
    ) in shed
    crash = next(s for s in said if s.startswith("Crashed worker"))
    assert (
        "flask-sync-4: a killed worker took 1 request with it; the rate was back in 0.2 s" in crash
    )
    lines = findings.faults(faults)
    assert any("flask-sync-4, 40 headers slow clients (K = 4): the fast stream's share "
               "answered in time 0.00 (denied), 1.00 with none (3 repeats)" in line
               for line in lines), lines  # fmt: skip
    assert SLOW.survives(faults[faults["scenario"] == "none"]) == ""
    assert OVERLOAD.rows(faults)["config"].nunique() == 2


# --- real runs -------------------------------------------------------------------------


@needs_nginx
@pytest.mark.slow
def test_nginx_starts_in_front_buffers_and_leaves_nothing_behind(tmp_path):
    server = Server(get_config("flask-sync-1+nginx"), delay_s=0.0, log_path=tmp_path / "s.log")
    with server:
        server.verify()  # through nginx, byte for byte
        nginx_pids = {p.pid for p in processes.tree(server.nginx.pid)}
        assert len(nginx_pids) == 2, "master and one worker"
        status, headers, body = _get(server.port, "/?field=big&delay=0&size=300000")
        assert (status, len(body), headers["server"].startswith("nginx")) == (200, 300000, True)
        assert body == __import__("servers.contract").contract.render_page("big", 300000)
        assert server.beside == (server.nginx.pid,)
    assert not alive(nginx_pids | {server.proc.pid})
    assert not (server.nginx.prefix).exists(), "its configuration folder is removed"


def _get(port: int, path: str):
    from echobench.server import get

    return get("127.0.0.1", port, path)


FAULTS = """repeat = 1
[[groups]]
scenario = "slow"
configs = ["flask-sync-2", "flask-sync-2+nginx"]
rates = [8]
slow_kinds = ["headers"]
slow_clients = [5]
delay_s = 0.05
warmup_s = 0.3
window_s = 1.5

[[groups]]
scenario = "crash"
configs = ["flask-sync-2", "fastapi-async"]
users = [4]
delay_s = 0.05
warmup_s = 0.3
window_s = 2.4
"""


@needs_nginx
@pytest.mark.slow
def test_slowloris_denies_a_bare_sync_server_not_one_behind_nginx_and_a_kill_is_counted(
    tmp_path,
):
    run_dir = run_profile(tmp_path, "faults", FAULTS)
    summary = results.load_summary(run_dir).set_index("config")
    slow = summary[summary["scenario"] == "slow"]
    # 5 slowloris clients hold both sync workers; behind nginx none reaches them
    assert slow.loc["flask-sync-2", "answered_in_bound_share"] < 0.5
    assert slow.loc["flask-sync-2+nginx", "answered_in_bound_share"] > 0.99
    assert (slow["slow_open"] == 5).all() and (slow["server_connections"] >= 5).all()
    crash = summary[summary["scenario"] == "crash"]
    sync, loop = crash.loc["flask-sync-2"], crash.loc["fastapi-async"]
    assert sync["valid"] and sync["lost_requests"] <= 1, "a sync worker held one request"
    assert pd.notna(sync["respawn_s"]) and not sync["killed_whole_server"]
    assert loop["killed_whole_server"] and pd.isna(loop["respawn_s"])
    assert loop["lost_requests"] >= 1 and "took the whole server down" in loop["note"]
    for raw in run_dir.glob("raw/*crash*"):
        killed = json.loads((raw / "companion.json").read_text())
        described = json.loads((raw / "pids.json").read_text())["pids"]
        assert killed["pid"] in described, "a PID of the server's own tree"
    assert not alive(pids_of(run_dir)), "servers, nginx, slow clients and locust all gone"
    assert not [p for p in psutil.process_iter(["cmdline"])
                if "echobench.slowclients" in " ".join(p.info["cmdline"] or [])]  # fmt: skip


def test_a_gap_to_the_model_is_said_with_its_measured_cause():
    from echobench import verdict

    denied = {"scenario": "slow", "config": "flask-sync-4", "efficiency": 0.0, "rps": 0.0,
              "ideal_rps": 16.0, "held_ideal_rps": 0.0, "slow_clients": 40,
              "slow_kind": "headers", "capacity": 4.0, "workers": 4, "delay_s": 0.1}  # fmt: skip
    said = verdict.model_gap(denied).text
    assert said.startswith(
        "100% below the model: 40 headers slow clients held the server's "
        "slots: with each holding one of K = 4, the model allows 0 req/s"
    )
    kept = {**denied, "config": "flask-sync-4+nginx", "efficiency": 1.0, "rps": 16.0}
    assert verdict.model_gap(kept) is None
    limited = {"scenario": "overload", "config": "fastapi-async+limit6", "efficiency": 0.55,
               "rps": 30.0, "ideal_rps": 54.5, "p50_ms": 200.0, "refused_share": 0.9,
               "capacity": 6.0, "workers": 1, "delay_s": 0.1}  # fmt: skip
    assert ("a limit of 6 at once admits about 6 / 0.200 s = 30 req/s at the admitted's "
            "median latency (Little's law); 90% of arrivals were refused"
            in verdict.model_gap(limited).text)  # fmt: skip
