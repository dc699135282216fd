"""One running server config: start it, wait until it answers, stop its whole tree."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from echobench import processes, proxy, userapp
from echobench.configs import ServerConfig
from echobench.processes import port_in_use
from echobench.userapp import AppRequest
from servers import contract, database

LOOPBACK_V4 = "127.0.0.1"


class ServerError(RuntimeError):
    """A server that could not start, never became ready, or answered wrongly."""


def free_port(host: str = LOOPBACK_V4) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def get(host: str, port: int, path: str, timeout_s: float = 5.0) -> tuple[int, dict, bytes]:
    """One plain HTTP GET; (status, lower-cased headers, body)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def verify_echo(host: str, port: int, label: str) -> None:
    """Check the echo answer byte for byte before any load is applied."""
    text = 'echobench <verify> & "quotes" é'
    path = "/?field=echobench+%3Cverify%3E+%26+%22quotes%22+%C3%A9&delay=0"
    try:
        status, headers, body = get(host, port, path)
    except OSError as exc:
        raise ServerError(f"{label} did not answer the verification request: {exc}") from None
    expected = contract.render_page(text)
    if status != 200 or body != expected or headers.get("content-type") != contract.HTML_TYPE:
        raise ServerError(f"{label} answered the verification request wrongly")


def app_answer(host: str, port: int, app: AppRequest, timeout_s: float = 5.0) -> tuple:
    """One request as the user described it: (status, lower-cased headers, body)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        conn.request(app.method, app.path, body=app.body or None, headers=dict(app.headers))
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def verify_app(host: str, port: int, app: AppRequest, label: str) -> str:
    """A 2xx to the user's request before any load, or ServerError; its body's SHA-256."""
    try:
        status, _headers, body = app_answer(host, port, app)
    except OSError as exc:
        raise ServerError(f"{label} did not answer {app.method} {app.path}: {exc}") from None
    if not 200 <= status < 300:
        raise ServerError(f"{app.target} answered {app.method} {app.path} with {status} "
                          f"under {label}: the endpoint must answer 2xx")  # fmt: skip
    return userapp.sha256(body)


class ExternalServer:
    """A server that runs elsewhere (`run --target URL`): verified, never started or stopped.

    echobench cannot sample its memory or CPU, nor restart it between points.
    """

    proc = None
    pid = None
    beside = ()

    def __init__(self, config: ServerConfig, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
            raise ServerError(f"--target must look like http://HOST:PORT, got {url!r}")
        self.config = config
        self.host = parts.hostname
        self.port = parts.port or 80
        self.url = f"http://{url_host(self.host)}:{self.port}"

    def start(self, ready_timeout_s: float = 10.0) -> ExternalServer:
        try:
            status = get(self.host, self.port, "/", timeout_s=ready_timeout_s)[0]
        except OSError as exc:
            raise ServerError(f"target {self.url} does not answer: {exc}") from None
        if status != 200:
            raise ServerError(f"target {self.url} answered GET / with {status}")
        return self

    def verify(self) -> str:
        verify_echo(self.host, self.port, f"target {self.url}")
        return ""

    def alive(self) -> bool:
        return True

    def stop(self) -> None:
        """Not ours to stop."""


class Server:
    """A server config running as a child process group; use as a context manager."""

    def __init__(
        self,
        config: ServerConfig,
        host: str = LOOPBACK_V4,
        port: int | None = None,
        delay_s: float = contract.DEFAULT_DELAY_S,
        log_path: Path | None = None,
        work_ms: float = 0.0,
        db: database.PoolSettings | None = None,
        app: AppRequest | None = None,
    ) -> None:
        self.config = config
        self.app = app  # `run --app`: the user's app, wrapped, instead of the echo app
        self.db = db  # io = db: where its workers' pools connect, and their size
        self.host = host
        self.port = port or free_port(host)
        self.delay_s = delay_s
        self.work_ms = work_ms
        self.log_path = log_path or Path("/dev/null")
        self.proc: subprocess.Popen | None = None
        self.ready_dir: Path | None = None
        # `+nginx`: nginx listens on `port` and passes to the server on a port of its own
        self.nginx: proxy.Nginx | None = None
        self.server_port = free_port(host) if config.proxy else self.port

    @property
    def url(self) -> str:
        return f"http://{url_host(self.host)}:{self.port}"

    @property
    def beside(self) -> tuple[int, ...]:
        """Processes that serve with it (nginx), sampled as part of the server."""
        return (self.nginx.pid,) if self.nginx is not None and self.nginx.pid else ()

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise ServerError("server not started")
        return self.proc.pid

    def start(self, ready_timeout_s: float = 30.0) -> Server:
        if port_in_use(self.host, self.port):
            raise ServerError(f"port {self.port} on {self.host} is already in use")
        self.ready_dir = Path(tempfile.mkdtemp(prefix="echobench-ready-"))
        argv = self.config.argv(self.host, self.server_port)
        env = {
            contract.DELAY_ENV: repr(self.delay_s),
            contract.WORK_ENV: repr(self.work_ms),
            contract.READY_ENV: str(self.ready_dir),
            **self._db_env(),
        }
        if self.app is not None:  # the user's module imports from where echobench runs
            argv = userapp.swap(argv, self.app.interface)
            path = os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))
            env |= {userapp.TARGET_ENV: self.app.target, "PYTHONPATH": path}
        self.proc = processes.spawn(argv, self.log_path, env=env)
        try:
            self._wait_ready(ready_timeout_s)
            if self.config.proxy:
                self._start_nginx()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_nginx(self) -> None:
        bind = f"{url_host(self.host)}:{self.port}"
        upstream = f"{url_host(self.host)}:{self.server_port}"
        log = self.log_path.with_name("nginx.log") if self.log_path.name != "null" else None
        self.nginx = proxy.Nginx(bind, upstream, self.config.limit, log)
        try:
            self.nginx.start()
        except proxy.ProxyError as exc:
            raise ServerError(f"{self.config.id}: {exc} (listening on {bind})") from None

    def _db_env(self) -> dict[str, str]:
        if self.db is None:
            return {database.IO_ENV: "sleep"}
        return {
            database.IO_ENV: "db",
            database.DB_URL_ENV: self.db.url,
            database.POOL_ENV: str(self.db.pool),
            database.POOL_TIMEOUT_ENV: repr(self.db.timeout_s),
        }

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(
                    f"{self.config.id} exited with code {self.proc.returncode} before it was "
                    f"ready{self._log_tail()}"
                )
            booted = self.serving_workers() >= self.config.workers
            try:
                if booted and self._answers(self.server_port):
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise ServerError(f"{self.config.id} was not ready within {timeout_s:g} s")

    def _answers(self, port: int) -> bool:
        """Ready: the echo app's GET / answers 200; a user's app only accepts connections
        (its request, which may change its data, is sent once, by `verify`)."""
        if self.app is None:
            return get(self.host, port, "/", timeout_s=1.0)[0] == 200
        return port_in_use(self.host, port)

    def serving_workers(self) -> int:
        """Workers of this tree that have loaded the app (a manager's own PID never counts)."""
        tree = {p.pid for p in processes.tree(self.proc.pid)}
        if len(tree) > 1:
            tree.discard(self.proc.pid)
        announced = {int(p.name) for p in self.ready_dir.iterdir() if p.name.isdigit()}
        return len(announced & tree)

    def verify(self) -> str:
        """The echo answer byte for byte; a user's app: a 2xx, and its body's SHA-256."""
        if self.app is None:
            verify_echo(self.host, self.port, self.config.id)
            return ""
        return verify_app(self.host, self.port, self.app, self.config.id)

    def alive(self) -> bool:
        serving = self.proc is not None and self.proc.poll() is None
        return serving and (self.nginx is None or self.nginx.alive())

    def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        if self.proc is not None:
            processes.stop(self.proc)
        if self.ready_dir is not None:
            shutil.rmtree(self.ready_dir, ignore_errors=True)

    def _log_tail(self, lines: int = 5) -> str:
        try:
            tail = self.log_path.read_text(errors="replace").strip().splitlines()[-lines:]
        except OSError:
            return ""
        return (": " + " | ".join(tail)) if tail else ""

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
