"""The raw-socket HTTP/1.1 client every locust user speaks (loadtests/answers.py).

Against a scripted server on loopback: each connection it accepts answers with the
bytes a test gives, so keep-alive, a server that closes, chunked framing, a stale
connection and a silent server are each one case. No locust, no gevent: fast.
"""

from __future__ import annotations

import http.client
import socket
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtests.answers import KeepAlive, StaleConnection, _dechunk, read_answer, request_bytes

OK_BODY = b"<p>hello</p>"


def answer(body: bytes = OK_BODY, *headers: str, status: str = "200 OK") -> bytes:
    head = "".join(f"{h}\r\n" for h in (f"Content-Length: {len(body)}", *headers))
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body


class Scripted:
    """A loopback server: connection i answers its requests with script[i] (a list of
    answers, one per request read, then it closes; None: close without answering).
    Keeps every request it read."""

    def __init__(self, script: list[list[bytes | None]]) -> None:
        self.script = script
        self.requests: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(5)
        self.address = self.listener.getsockname()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for answers in self.script:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                for reply in answers:
                    data = b""
                    while b"\r\n\r\n" not in data and (more := conn.recv(4096)):
                        data += more
                    self.requests.append(data)
                    if reply is None:
                        break
                    conn.sendall(reply)

    def close(self) -> None:
        self.listener.close()
        self.thread.join(5)


@pytest.fixture
def server(request):
    made = []

    def make(*script):
        made.append(Scripted(list(script)))
        return made[-1]

    yield make
    for s in made:
        s.close()


def test_the_keep_alive_request_is_the_least_and_the_fresh_one_closes():
    assert request_bytes("h:1", "/?a=1", close=False) == b"GET /?a=1 HTTP/1.1\r\nHost: h:1\r\n\r\n"
    assert request_bytes("h:1", "/").endswith(b"Host: h:1\r\nConnection: close\r\n\r\n")


def test_a_kept_connection_carries_several_requests(server):
    s = server([answer(), answer(b"two"), answer(b"three")])
    conn = KeepAlive(s.address, 5)
    bodies = [conn.exchange(request_bytes("x", "/", close=False))[2] for _ in range(3)]
    assert bodies == [OK_BODY, b"two", b"three"]
    assert len(s.requests) == 3, "one connection, three requests"


def test_an_answer_that_closes_ends_the_connection_and_the_next_connects_anew(server):
    s = server([answer(OK_BODY, "Connection: close")], [answer(b"again")])
    conn = KeepAlive(s.address, 5)
    status, headers, body = conn.exchange(request_bytes("x", "/", close=False))
    assert (status, headers["connection"], body, conn.sock) == (200, "close", OK_BODY, None)
    assert conn.exchange(request_bytes("x", "/", close=False))[2] == b"again"


def test_an_answer_without_a_length_ends_at_close(server):
    s = server([b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + OK_BODY])
    conn = KeepAlive(s.address, 5)
    assert conn.exchange(request_bytes("x", "/"))[2] == OK_BODY
    assert conn.sock is None


def test_a_chunked_answer_with_a_trailer_and_status_and_headers(server):
    head = b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n"
    chunked = head + b"X-Echobench-Worker: 42\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n"
    chunked += b"0\r\nT: 1\r\n\r\n"
    s = server([chunked, answer()])
    conn = KeepAlive(s.address, 5)
    status, headers, body = conn.exchange(request_bytes("x", "/", close=False))
    assert (status, headers["x-echobench-worker"], body) == (503, "42", b"hello world")
    assert conn.exchange(request_bytes("x", "/", close=False))[2] == OK_BODY, "framing kept"


def test_a_stale_kept_connection_is_reopened_once_and_the_request_sent_once_more(server):
    s = server([answer(), None], [answer(b"fresh")])
    conn = KeepAlive(s.address, 5)
    conn.exchange(request_bytes("x", "/", close=False))
    assert conn.exchange(request_bytes("x", "/", close=False))[2] == b"fresh"
    assert len(s.requests) == 3, "the first, the one the closing server dropped, its resend"


def test_a_new_connection_closed_before_answering_fails_without_a_retry(server):
    s = server([None], [answer()])
    conn = KeepAlive(s.address, 5)
    with pytest.raises(StaleConnection):
        conn.exchange(request_bytes("x", "/", close=False))
    assert len(s.requests) == 1 and conn.sock is None


def test_an_answer_cut_short_and_a_bad_status_line_fail(server):
    s = server([answer()[:-3]], [b"SMTP ready\r\n\r\n"])
    conn = KeepAlive(s.address, 5)
    with pytest.raises(http.client.IncompleteRead):
        conn.exchange(request_bytes("x", "/", close=False))
    with pytest.raises(http.client.BadStatusLine):
        conn.exchange(request_bytes("x", "/", close=False))


def test_a_silent_server_times_out_within_the_bound(server):
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (backlog) and never answers
    try:
        conn = KeepAlive(listener.getsockname(), 0.2)
        with pytest.raises(TimeoutError):
            conn.exchange(request_bytes("x", "/", close=False))
        assert conn.sock is None
    finally:
        listener.close()


def test_the_burst_reader_reads_to_the_close():
    a, b = socket.socketpair()
    with a, b:
        a.sendall(answer(b"body", "Connection: close"))
        a.shutdown(socket.SHUT_WR)
        assert read_answer(b) == (200, {"content-length": "4", "connection": "close"}, b"body")


@given(st.lists(st.binary(min_size=1, max_size=40), max_size=6), st.booleans())
def test_dechunk_reads_any_split_and_waits_on_every_prefix(chunks, trailer):
    wire = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
    wire += b"0\r\n" + (b"Trailer: t\r\n" if trailer else b"") + b"\r\n"
    assert _dechunk(wire) == (b"".join(chunks), len(wire))
    assert _dechunk(wire + b"HTTP/1.1") == (b"".join(chunks), len(wire)), "it says where it ends"
    for cut in range(len(wire)):
        assert _dechunk(wire[:cut]) is None, f"complete at {cut} of {len(wire)}"


@pytest.mark.parametrize("size", [b"-6", b"+5", b"0x5", b"5_0", b"z"])
def test_a_chunk_size_that_is_not_plain_hex_is_refused_never_looped_on(size):
    with pytest.raises(http.client.IncompleteRead):
        _dechunk(size + b"\r\nhello\r\n0\r\n\r\n")


def test_a_failed_retry_closes_its_connection_so_no_late_answer_is_taken_for_the_next(server):
    listener = socket.create_server(("127.0.0.1", 0))  # the retry's server: accepts, never answers
    try:
        conn = KeepAlive(listener.getsockname(), 0.3)
        stale_a, stale_b = socket.socketpair()
        stale_b.close()  # the kept connection the server had closed
        conn.sock = stale_a
        with pytest.raises(TimeoutError):
            conn.exchange(request_bytes("x", "/", close=False))
        assert conn.sock is None, "the retry's socket is closed with its failure"
    finally:
        listener.close()


@pytest.mark.parametrize("chunked", [False, True])
def test_bytes_past_an_answer_end_the_connection(server, chunked):
    if chunked:
        extra = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nJUNK"
    else:
        extra = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK"
    s = server([extra], [answer(b"next")])
    conn = KeepAlive(s.address, 5)
    assert conn.exchange(request_bytes("x", "/", close=False))[2] == b"ok"
    assert conn.sock is None, "JUNK would have been read as the next answer"
    assert conn.exchange(request_bytes("x", "/", close=False))[2] == b"next"


def test_a_204_has_no_body_and_keeps_its_connection(server):
    """No Content-Length and no close: the answer still ends at its head (RFC 9112 6.3)."""
    s = server([b"HTTP/1.1 204 No Content\r\n\r\n", answer(b"next")])
    conn = KeepAlive(s.address, 5)
    assert conn.exchange(request_bytes("x", "/", close=False))[:1] == (204,)
    assert conn.exchange(request_bytes("x", "/", close=False))[2] == b"next", "same connection"
    assert len(s.requests) == 2


def test_a_users_request_carries_its_method_headers_and_body_and_never_a_cr_or_lf():
    made = request_bytes("h:1", "/notes", close=False, method="POST",
                         headers=(("Accept", "application/json"),), body=b"{}")  # fmt: skip
    assert made == (b"POST /notes HTTP/1.1\r\nHost: h:1\r\nAccept: application/json\r\n"
                    b"Content-Length: 2\r\n\r\n{}")  # fmt: skip
    for bad in ({"path": "/x\r\nEvil: 1"}, {"headers": (("A", "b\r\nEvil: 1"),)}):
        with pytest.raises(ValueError, match="CR or LF"):
            request_bytes("h:1", **{"path": "/", **bad})
