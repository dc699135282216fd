"""A burst's request and its answer as bytes on a raw socket.

Kept free of locust (and of gevent's monkey-patching) so tests and the minimal client
can use the same request bytes: the server's work per request is then the same.
"""

from __future__ import annotations

import http.client


def request_bytes(netloc: str, path: str) -> bytes:
    """The least HTTP/1.1 request: its line, Host (required) and Connection: close (one
    request per connection, as a burst has). Every header more is server work: with a
    User-Agent and an Accept-Encoding more, a 10,000 burst on one uvicorn took 0.45 s
    longer here (about 45 us per request)."""
    return f"GET {path} HTTP/1.1\r\nHost: {netloc}\r\nConnection: close\r\n\r\n".encode("ascii")


def read_answer(sock) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 answer on a connection the server closes after it (`Connection:
    close`): read to the end, then split; lean, because at the end of a burst thousands
    arrive at once and a slow reader would stretch the makespan it measures."""
    chunks = []
    while data := sock.recv(65536):
        chunks.append(data)
    head, found, body = b"".join(chunks).partition(b"\r\n\r\n")
    if not found:
        raise http.client.IncompleteRead(head)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise http.client.BadStatusLine(status_line)
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _unchunk(body)
    elif "content-length" in headers and int(headers["content-length"]) != len(body):
        raise http.client.IncompleteRead(body)
    return int(parts[1]), headers, body


def _unchunk(data: bytes) -> bytes:
    out, rest = [], data
    while True:
        size_line, found, rest = rest.partition(b"\r\n")
        if not found:
            raise http.client.IncompleteRead(data)
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(rest[:size])
        rest = rest[size + 2 :]
