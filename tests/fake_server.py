"""A server that passes or fails echobench's checks on purpose: python fake_server.py MODE BIND.

MODE `wrong-verify`: answers the verification request with other bytes.
MODE `wrong-load`: verifies correctly, then answers load with a wrong body or a 503.
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from servers import contract

MODE = sys.argv[1]
HOST, _, PORT = sys.argv[2].rpartition(":")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        field = parse_qs(urlsplit(self.path).query).get("field", [None])[0]
        status, body = 200, contract.render_page(field)
        if field and field.startswith("echobench <verify>"):
            body = body if MODE != "wrong-verify" else body.replace(b"You said", b"You sad")
        elif field:
            wrong = int(field.rsplit("u", 1)[-1].split("r")[0]) % 2  # user index: odd, even
            status, body = (503, b"busy") if wrong else (200, body.replace(b"said", b"sad"))
        self.send_response(status)
        self.send_header("Content-Type", contract.HTML_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args) -> None:
        pass


server = ThreadingHTTPServer((HOST, int(PORT)), Handler)
contract.announce_ready()  # as the real apps do, once they can answer
server.serve_forever()
