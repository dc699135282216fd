"""Requests and answers as bytes on raw sockets: the least HTTP/1.1 a client can send.

Kept free of locust (and of gevent's monkey-patching: inside locust the standard
`socket` module is gevent's, outside it blocks as usual), so tests and the minimal
client use the same request bytes and readers: the server's work per request is then
the same whoever sends it.
"""

from __future__ import annotations

import http.client
import re
import socket

READ_SIZE = 65536
HEX_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


def request_bytes(netloc: str, path: str, close: bool = True, method: str = "GET",
                  headers: tuple = (), body: bytes = b"") -> bytes:  # fmt: skip
    """The least HTTP/1.1 request: its line, Host (required) and, for one request per
    connection (a burst's, a calibration's), Connection: close. Every header more is
    server work: with a User-Agent and an Accept-Encoding more, a 10,000 burst on one
    uvicorn took 0.45 s longer here (about 45 us per request). A user's app (`run
    --app`) may ask for its own method, headers and body (with its Content-Length)."""
    parts = [path, method, *(x for pair in headers for x in pair)]
    if any(c in part for part in parts for c in "\r\n"):
        raise ValueError("a request line or header holds a CR or LF")
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers)
    if body or method not in ("GET", "HEAD"):
        extra += f"Content-Length: {len(body)}\r\n"
    ending = "Connection: close\r\n\r\n" if close else "\r\n"
    head = f"{method} {path} HTTP/1.1\r\nHost: {netloc}\r\n{extra}{ending}"
    return head.encode("latin-1") + body


def parse_head(head: bytes) -> tuple[str, int, dict[str, str]]:
    """The status line and headers of an answer: (version, status, lower-cased headers)."""
    status_line, *lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise http.client.BadStatusLine(status_line)
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return parts[0], int(parts[1]), headers


def read_answer(sock) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 answer on a connection the server closes after it (`Connection:
    close`): read to the end, then split; lean, because at the end of a burst thousands
    arrive at once and a slow reader would stretch the makespan it measures."""
    chunks = []
    while data := sock.recv(READ_SIZE):
        chunks.append(data)
    head, found, body = b"".join(chunks).partition(b"\r\n\r\n")
    if not found:
        raise http.client.IncompleteRead(head)
    _version, status, headers = parse_head(head)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        whole = _dechunk(body)
        if whole is None:
            raise http.client.IncompleteRead(body)
        body = whole[0]
    elif "content-length" in headers and int(headers["content-length"]) != len(body):
        raise http.client.IncompleteRead(body)
    return status, headers, body


class StaleConnection(ConnectionError):
    """A kept-alive connection the server had closed before it read the request."""


class KeepAlive:
    """One client's HTTP/1.1 connection, kept open between requests while the server
    keeps it (an answer with `Connection: close`, as gunicorn's sync workers send, ends
    it; the next request connects anew). Every socket operation is bounded by
    `timeout_s`. A reused connection that the server had already closed (it idled past
    the server's keep-alive timeout) is reopened once and the request sent again, as
    HTTP clients do: no answer had begun, so nothing is counted twice."""

    def __init__(self, address: tuple[str, int], timeout_s: float) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self.sock: socket.socket | None = None
        # False where a lost request must count as lost (a killed worker's): no resend
        self.resend_stale = True

    def exchange(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        reused = self.sock is not None and self.resend_stale
        try:
            try:
                return self._send_and_read(request)
            except StaleConnection:
                self.close()
                if not reused:
                    raise
                return self._send_and_read(request)  # its own failure closes it below
        except BaseException:
            self.close()  # a connection left mid-answer would hand its answer to the next
            raise

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _send_and_read(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=self.timeout_s)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock.sendall(request)
            data = self.sock.recv(READ_SIZE)
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise StaleConnection(str(exc)) from exc
        if not data:
            raise StaleConnection("closed before answering")
        while (end := data.find(b"\r\n\r\n")) < 0:
            data += self._more(data)
        version, status, headers = parse_head(data[:end])
        body = data[end + 4 :]
        extra = False
        if status < 200 or status in (204, 304):  # no body, whatever the headers say
            extra, body = bool(body), b""
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while (whole := _dechunk(body)) is None:
                body += self._more(body)
            extra = whole[1] < len(body)
            body = whole[0]
        elif "content-length" in headers:
            length = int(headers["content-length"])
            while len(body) < length:
                body += self._more(body)
            extra, body = len(body) > length, body[:length]
        else:  # the answer ends when the server closes
            while more := self.sock.recv(READ_SIZE):
                body += more
            self.close()
        connection = headers.get("connection", "").lower()
        closing = connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive")
        if closing or extra:  # bytes past the answer would be taken for the next one
            self.close()
        return status, headers, body

    def _more(self, partial: bytes) -> bytes:
        data = self.sock.recv(READ_SIZE)
        if not data:
            raise http.client.IncompleteRead(partial)
        return data


def _dechunk(data: bytes) -> tuple[bytes, int] | None:
    """A chunked body's content and where it ends in `data`, or None while its last chunk
    (and trailers) is not all here yet. A size that is not plain hex is an error: a
    negative one would send the parse backwards for ever."""
    out, at = [], 0
    while True:
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            return None
        size_field = data[at:line_end].split(b";")[0].strip()
        if not HEX_SIZE.fullmatch(size_field):
            raise http.client.IncompleteRead(data)
        size = int(size_field, 16)
        at = line_end + 2
        if size == 0:  # the last chunk, then an empty line or trailers and an empty line
            if data[at : at + 2] == b"\r\n":
                return b"".join(out), at + 2
            trailers_end = data.find(b"\r\n\r\n", at)
            return (b"".join(out), trailers_end + 4) if trailers_end >= 0 else None
        if len(data) < at + size + 2:
            return None
        out.append(data[at : at + size])
        at += size + 2
