"""The least server that passes echobench's checks: each echo request answered at once
with its exact page, on kept-alive connections. Against it, what a client spends per
request is the client's own cost (`client_cost.py`); never a server under test.

    python -m echobench.answerer PORT_FILE

binds 127.0.0.1 on a free port and writes the port to PORT_FILE once it listens.
"""

from __future__ import annotations

import asyncio
import os
import sys
from urllib.parse import parse_qs, urlsplit

from servers import contract

MAX_HEAD = 16384


def answer_for(head: bytes) -> bytes:
    """The echo page for the request line's `field`, with its length, kept alive."""
    target = head.split(b" ", 2)[1].decode("latin-1") if head.count(b" ") >= 2 else "/"
    said = parse_qs(urlsplit(target).query).get("field", [None])[0]
    body = contract.render_page(said)
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while head := await reader.readuntil(b"\r\n\r\n"):
            if len(head) > MAX_HEAD:
                break
            writer.write(answer_for(head))
            if b"connection: close" in head.lower():
                break
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port_file: str) -> None:
    server = await asyncio.start_server(serve_connection, "127.0.0.1", 0, limit=MAX_HEAD)
    port = server.sockets[0].getsockname()[1]
    with open(port_file + ".tmp", "w") as out:
        out.write(str(port))
    os.replace(port_file + ".tmp", port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
