"""The burst's last-byte release: answers read off raw sockets, and echobench's burst
beside a minimal independent client on the same server."""

from __future__ import annotations

import http.client
import socket

import pytest

from loadtests.answers import read_answer
from servers import contract
from tests import minimal_client


def _answer(raw: bytes):
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(raw)
        theirs.shutdown(socket.SHUT_WR)
        return read_answer(ours)


def test_an_answer_is_read_to_the_end_and_split():
    body = contract.render_page("x")
    status, headers, got = _answer(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        + f"Content-Length: {len(body)}\r\nX-Echobench-Worker: 42\r\n\r\n".encode()
        + body
    )
    assert (status, got) == (200, body)
    assert headers["x-echobench-worker"] == "42" and headers["content-type"].startswith("text/")


def test_a_chunked_answer_is_joined():
    status, _, body = _answer(
        b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n"
    )
    assert (status, body) == (503, b"hello world")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", http.client.IncompleteRead),  # closed before answering
        (b"HTTP/1.1 200 OK\r\nContent-Len", http.client.IncompleteRead),  # cut in its head
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", http.client.IncompleteRead),
        (b"SSH-2.0-OpenSSH\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 OK\r\n\r\n", http.client.BadStatusLine),
    ],
)
def test_a_broken_answer_is_an_error_never_a_pass(raw, error):
    with pytest.raises(error):
        _answer(raw)


@pytest.mark.slow
def test_echobench_bursts_as_fast_as_a_minimal_client():
    """200 x 0.5 s on fastapi-async, echobench's burst and the minimal client's, each on a
    fresh server: every answer right, the release loop short, makespans alike (the
    measured ratio is a recorded result, not a goal asserted here: this bound only
    catches a release that is no longer simultaneous)."""
    ours = minimal_client.echobench_burst("fastapi-async", 200, 0.5)
    theirs = minimal_client.minimal_burst("fastapi-async", 200, 0.5)
    assert ours["ok"] == theirs.ok == 200 and not ours["problems"]
    assert ours["send_spread_ms"] < 100
    assert ours["p50_ms"] >= 500, "latency runs from the last byte: never under D"
    assert 0.8 < ours["makespan_s"] / theirs.makespan_s < 1.3


@pytest.mark.slow
def test_users_past_the_primed_share_send_right_after_the_release(tmp_path, monkeypatch):
    """A burst larger than a bounded server's slots and half its backlog primes only what
    it can take in; here half of 40 is forced: every request still answered and counted,
    the late half sent after the release."""
    import pandas as pd

    from echobench import loadgen, runner
    from echobench.configs import get_config
    from echobench.point import Point

    monkeypatch.setattr(loadgen, "primed_share", lambda point: 0.5)
    point = Point(1, "burst", get_config("fastapi-async"), 40, 0.3, 1)
    row, problems = runner.measure_point(point, tmp_path / "raw")
    assert not problems and row["ok"] == row["requests"] == 40
    records = pd.read_csv(tmp_path / "raw" / "requests.csv")
    sends = records[records["event"] == "send"].set_index("user")["sent_at"]
    release = records[(records["event"] == "mark") & (records["kind"] == "release")]["sent_at"]
    primed, late = sends[sends.index < 20], sends[sends.index >= 20]
    assert primed.max() - primed.min() < 0.05, "the primed half leaves in one loop"
    assert (late >= primed.max()).all() and (late >= release.iloc[0]).all()
