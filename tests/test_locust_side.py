"""The locustfile's own logic: open-loop schedule, shipping rows, clock skew, outcomes.

Each probe runs in a child process (tests/locust_probe.py): importing locust patches
the whole process with gevent. No server and no load: fast.
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from echobench import loadgen, metrics, verdict

ROOT = Path(__file__).resolve().parents[1]


def probe(name: str, folder: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "tests.locust_probe", name, str(folder)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_open_loop_arrivals_are_spaced_exactly_one_over_the_rate(tmp_path):
    found = probe("arrivals", tmp_path)
    steady = found["steady"]
    due = steady["due"]
    assert len(due) == pytest.approx(steady["rate"] * steady["seconds"], abs=1)
    assert due[0] == pytest.approx(steady["started"], abs=0.01), "the schedule starts at once"
    # as exact as a wall-clock float allows (one step, about 0.24 us), and no drift
    ulp = math.ulp(due[0])
    gaps = [b - a for a, b in itertools.pairwise(due)]
    assert gaps == pytest.approx([1 / steady["rate"]] * len(gaps), abs=ulp)
    assert due[-1] - due[0] == pytest.approx((len(due) - 1) / steady["rate"], abs=ulp)
    poisson = found["poisson"]
    gaps = [b - a for a, b in itertools.pairwise(poisson["due"])]
    mean = sum(gaps) / len(gaps)
    assert mean == pytest.approx(1 / poisson["rate"], rel=0.25)
    assert len(set(gaps)) > 0.9 * len(gaps), "Poisson gaps vary"


def test_a_worker_ships_every_row_in_chunks_stamped_in_the_masters_clock(tmp_path):
    found = probe("shipping", tmp_path)
    rows = found["rows"]
    assert len(found["chunk_sizes"]) == math.ceil(rows / 5000) == 3
    assert sum(found["chunk_sizes"]) == rows, "the row recorded after shipping is not kept"
    # the master's clock ran 123.456 s ahead: the offset is known to within the round trip
    assert found["clock_offset"] == pytest.approx(found["skew"], abs=found["clock_rtt"] / 2 + 1e-3)
    sent_at = [float(r[4]) for r in found["sent"] if r[0] == "send"]
    assert min(sent_at) - found["wall"] == pytest.approx(found["skew"], abs=1.0)

    written = pd.read_csv(tmp_path / "requests.w3.csv", keep_default_na=False, dtype=str)
    assert len(written) == rows
    assert written.values.tolist() == [[str(c) for c in r] for r in found["sent"]]
    roll = json.loads((tmp_path / "workers.json").read_text())
    (worker,) = roll["workers"].values()
    assert worker["rows_sent"] == worker["rows_received"] == rows
    assert worker["file"] == "requests.w3.csv" and worker["done"]
    assert loadgen.worker_problems(tmp_path) == []
    requests, marks = metrics.read_point(tmp_path)
    assert len(requests) == rows - 2 and marks["end"] > marks["release"]
    judged = verdict.judge({"requests": len(requests)}, loadgen.worker_problems(tmp_path))
    assert judged["valid"]


def test_arrivals_never_sent_are_recorded_as_sends_without_a_send_time(tmp_path):
    rows = probe("never_sent", tmp_path)["rows"]
    assert [r["event"] for r in rows] == ["send"] * 3
    assert [r["intended_at"] for r in rows] == [5.0, 5.5, 6.0]
    assert {r["sent_at"] for r in rows} == {""}
    assert len({r["req_id"] for r in rows}) == 3


def test_client_errors_are_classified_as_timeouts_or_failures(tmp_path):
    assert probe("classify", tmp_path) == {
        "TimeoutError": "timeout",
        "gevent.Timeout": "timeout",
        "socket timed out": "timeout",
        "ConnectionRefusedError": "failed",
        "ConnectionResetError": "failed",
    }
