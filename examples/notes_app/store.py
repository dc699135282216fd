"""The notes' SQLite file and a connection pool, shared by both apps.

The file (NOTES_DB, default a file in the temporary folder) is filled once with the
same 200 notes, whichever worker process gets there first; each process keeps its own
pool of NOTES_POOL connections (default 4), which a request borrows for one query and
gives back, as a psycopg or SQLAlchemy pool would.
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import tempfile
from contextlib import contextmanager
from pathlib import Path

PATH = Path(os.environ.get("NOTES_DB") or Path(tempfile.gettempdir()) / "echobench-notes.sqlite3")
POOL_SIZE = int(os.environ.get("NOTES_POOL", "4"))
NOTES = 200
MAX_LIMIT = 100


def _connect() -> sqlite3.Connection:
    conn = sqlite3.connect(PATH, timeout=30, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


def _fill() -> None:
    with _connect() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, title TEXT, "
                     "body TEXT)")  # fmt: skip
        conn.executemany(
            "INSERT OR IGNORE INTO notes (id, title, body) VALUES (?, ?, ?)",
            [(i, f"note {i}", f"the text of note {i}, " * 4) for i in range(1, NOTES + 1)],
        )


_fill()
_POOL: queue.Queue = queue.Queue()
for _ in range(POOL_SIZE):
    _POOL.put(_connect())


@contextmanager
def connection():
    """One pooled connection for the length of a query (waits when all are out)."""
    conn = _POOL.get()
    try:
        yield conn
    finally:
        _POOL.put(conn)


def limit_from(text: str | None) -> int | None:
    """The `limit` parameter: 1 to MAX_LIMIT (default 10); None when it is not."""
    if text is None:
        return 10
    return int(text) if text.isdigit() and 1 <= int(text) <= MAX_LIMIT else None


def notes_json(limit: int) -> bytes:
    """The first `limit` notes as compact JSON bytes: the same for both apps."""
    with connection() as conn:
        rows = conn.execute("SELECT id, title, body FROM notes ORDER BY id LIMIT ?", (limit,))
        notes = [dict(row) for row in rows]
    return json.dumps({"notes": notes}, separators=(",", ":")).encode()


ERROR = json.dumps({"error": f"limit must be 1 to {MAX_LIMIT}"}).encode()
