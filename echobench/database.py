"""The PostgreSQL behind `io = db` points: embedded by default, or the user's own.

`EmbeddedPostgres` runs the PostgreSQL binaries that the `pgserver` wheel ships (no
system package needed): `initdb` into a temporary folder, then `postgres` as our own
child in its own session, reached only by a unix socket in that folder (it listens on no
TCP port). It is stopped by PID, fast shutdown first, then its whole tree; the folder
goes with it. PostgreSQL refuses to run as root, so as root it runs as `nobody` from a
copy of the binaries that `nobody` can read.

`ExternalPostgres` is a server the user names with `--db-url`: checked once (it answers,
it is PostgreSQL, the credentials work), never started or stopped, never written to.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from echobench import processes

# PostgreSQL's own default; part of K (docs/methodology.md).
DEFAULT_MAX_CONNECTIONS = 100
START_TIMEOUT_S = 20.0
STOP_GRACE_S = 10.0
UNPRIVILEGED_USER = "nobody"
# Settings for a throwaway server: nothing it holds must survive a crash.
EMBEDDED_SETTINGS = {
    "listen_addresses": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
}


class DatabaseError(RuntimeError):
    """A database that cannot be started, reached or used: said in one line."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check(url: str, connect_timeout_s: float = 5.0) -> dict:
    """Facts about the server at url that the model needs, or DatabaseError saying why not."""
    try:
        import psycopg
    except ImportError:
        raise DatabaseError("io = db needs psycopg (`python -m pip install -e .`)") from None
    try:
        with psycopg.connect(url, connect_timeout=connect_timeout_s, autocommit=True) as conn:
            version = conn.execute("SELECT version()").fetchone()[0]
            max_connections = int(conn.execute("SHOW max_connections").fetchone()[0])
            superuser = conn.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
            reserved = int(conn.execute("SHOW superuser_reserved_connections").fetchone()[0])
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot use the database at {redact(url)}: {_one_line(exc)}") from None
    if not str(version).startswith("PostgreSQL"):
        raise DatabaseError(f"{redact(url)} is not PostgreSQL ({version})")
    usable = max_connections if superuser and superuser[0] else max_connections - reserved
    return {"version": version, "max_connections": usable}


def redact(url: str) -> str:
    """url without its password, for logs and run.json."""
    try:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        parts = conninfo_to_dict(url)
    except Exception:
        return "<unparsable database URL>"
    if "password" in parts:
        parts["password"] = "***"
    return make_conninfo(**parts)


def binaries() -> Path:
    """The PostgreSQL install inside the pgserver wheel, found without importing it."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseError("io = db needs the pgserver package (`python -m pip install -e .`)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


class ExternalPostgres:
    """The user's own PostgreSQL (`--db-url`): checked, never started, stopped or written."""

    proc = None
    pid = None

    def __init__(self, url: str) -> None:
        self.url = url
        self.facts = check(url)

    @property
    def max_connections(self) -> int:
        return self.facts["max_connections"]

    def start(self) -> ExternalPostgres:
        return self

    def alive(self) -> bool:
        return True

    def stop(self) -> None:
        """Not ours to stop."""

    def members(self) -> list:
        return []  # another machine's, or another user's: not sampled

    def describe(self) -> dict:
        return {"kind": "external", "url": redact(self.url), **self.facts}


class EmbeddedPostgres:
    """A throwaway PostgreSQL in a temporary folder; use as a context manager."""

    def __init__(self, max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        self.max_connections = max_connections
        self.root: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.facts: dict = {}
        self.starts = 0
        self.seen: dict[int, psutil.Process] = {}  # its tree's members until it stops
        self.pids_ever: set[int] = set()  # every PID it ever had: nothing may outlive it

    def members(self) -> list[psutil.Process]:
        """The server's tree now (postmaster and backends), remembered for `stop`: each
        backend leads its own session, and outlives a killed postmaster for a moment."""
        tree = processes.tree(self.proc.pid) if self.alive() else []
        self.seen.update((p.pid, p) for p in tree)
        self.pids_ever.update(self.seen)
        return tree

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.root / 'socket'}"

    def _as_user(self) -> dict:
        if os.geteuid() != 0:
            return {}
        try:
            user = pwd.getpwnam(UNPRIVILEGED_USER)
        except KeyError:
            raise DatabaseError(
                f"PostgreSQL refuses to run as root, and there is no `{UNPRIVILEGED_USER}` "
                "user to run it as; run echobench as another user, or give --db-url"
            ) from None
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def _install(self) -> Path:
        """The binaries to run: the wheel's own, or as root a copy that `nobody` can read
        (the wheel's libpq sits three folders above its bin, where its RPATH looks)."""
        source = binaries()
        if os.geteuid() != 0:
            return source
        copy = self.root / "pg"
        shutil.copytree(source, copy / "pgserver" / "pginstall", symlinks=True)
        libs = source.parent.parent / "pgserver.libs"
        if libs.is_dir():
            shutil.copytree(libs, copy / "pgserver.libs", symlinks=True)
        return copy / "pgserver" / "pginstall"

    def start(self) -> EmbeddedPostgres:
        if self.alive():
            return self
        self._remove_folder()
        self.root = Path(tempfile.mkdtemp(prefix="echobench-db-"))
        self.root.chmod(0o755)
        try:
            self._start()
        except (OSError, subprocess.SubprocessError) as exc:  # a disk, a binary, a timeout
            self.stop()
            raise DatabaseError(
                f"the embedded PostgreSQL could not start: {_one_line(exc)}"
            ) from None
        except BaseException:
            self.stop()
            raise
        self.starts += 1
        return self

    def _start(self) -> None:
        install = self._install()
        as_user = self._as_user()
        data, socket_dir = self.root / "data", self.root / "socket"
        for folder in (data, socket_dir):
            folder.mkdir()
            if as_user:
                os.chown(folder, as_user["user"], as_user["group"])
        log = self.root / "postgres.log"
        initdb = [
            install / "bin" / "initdb", "-D", data, "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        ]  # fmt: skip
        done = subprocess.run(initdb, capture_output=True, text=True, timeout=60, **as_user)
        if done.returncode:
            raise DatabaseError(f"initdb failed: {_one_line(done.stderr or done.stdout)}")
        settings = {**EMBEDDED_SETTINGS, "max_connections": str(self.max_connections),
                    "unix_socket_directories": str(socket_dir)}  # fmt: skip
        argv = [install / "bin" / "postgres", "-D", data]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        self.proc = processes.spawn(argv, log, as_user=as_user)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise DatabaseError(f"postgres exited with code {self.proc.returncode}: "
                                    f"{_tail(log)}")  # fmt: skip
            try:
                self.facts = check(self.url, connect_timeout_s=2)
                self.members()
                return
            except DatabaseError:
                if time.monotonic() > deadline:
                    raise DatabaseError(
                        f"postgres did not accept connections within {START_TIMEOUT_S:g} s"
                    ) from None
                time.sleep(0.05)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Fast shutdown (SIGINT: clients are cut, nothing is waited for), then the tree."""
        if self.proc is not None:
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.send_signal(signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=STOP_GRACE_S)
            self.members()
            processes.stop(self.proc)
        for member in self.seen.values():  # backends of a postmaster killed under them
            with contextlib.suppress(psutil.Error):
                member.kill()
        psutil.wait_procs(list(self.seen.values()), timeout=STOP_GRACE_S)
        self.seen.clear()
        self._remove_folder()

    def _remove_folder(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def describe(self) -> dict:
        return {
            "kind": "embedded",
            "starts": self.starts,
            "pids": sorted(self.pids_ever),
            "version": self.facts.get("version"),
            "max_connections": self.max_connections,
            "settings": EMBEDDED_SETTINGS,
        }

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _tail(log: Path, lines: int = 3) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"
