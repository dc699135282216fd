"""Debian's nginx in front of a server, as sync servers are deployed (`+nginx` configs).

nginx runs as echobench's child (`daemon off`, its own process group, stopped by PID
like every server), from a configuration written per point into a temporary folder:
listening on loopback, buffering request bodies and answers as it does by default,
passing each request to the server's port. `+limitN` adds `limit_conn`: past N
requests at once, nginx answers 503 at once.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from echobench import processes

NGINX = "nginx"
MISSING = "needs nginx: apt-get install nginx"
# Open files nginx may use: two per proxied request (client and upstream), well under
# the machine's 20,000 per process.
WORKER_CONNECTIONS = 8192
# nginx's defaults, written out so a reader sees what the points measured
# (https://nginx.org/en/docs/http/ngx_http_core_module.html and ..._proxy_module.html)
TIMEOUTS = {
    "client_header_timeout": "60s",
    "client_body_timeout": "60s",
    "send_timeout": "60s",
    "keepalive_timeout": "75s",
}
CONF = """\
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile {rlimit};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{timeouts}
    # buffering is nginx's default; said here because it is the point of the proxy
    proxy_buffering on;
    proxy_request_buffering on;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_read_timeout 120s;
{limit_zone}
    upstream app {{ server {upstream}; keepalive 64; }}
    server {{
        listen {listen} backlog=4096;
{limit}
        location / {{ proxy_pass http://app; }}
    }}
}}
"""


class ProxyError(RuntimeError):
    """nginx is missing, would not start, or did not listen in time."""


def installed() -> str | None:
    """The nginx program's path, or None."""
    return shutil.which(NGINX) or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def version() -> str | None:
    """nginx's version (`nginx/1.22.1`), or None when it is not installed."""
    program = installed()
    if program is None:
        return None
    try:
        said = subprocess.run([program, "-v"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"nginx/\S+", said.stderr + said.stdout)
    return found.group() if found else None


def configuration(prefix: Path, listen: str, upstream: str, limit: int | None) -> str:
    """The nginx.conf of one point."""
    zone = "    limit_conn_zone $server_port zone=echobench:1m;" if limit else ""
    rule = f"        limit_conn echobench {limit};\n        limit_conn_status 503;" if limit else ""
    timeouts = "\n".join(f"    {name} {value};" for name, value in TIMEOUTS.items())
    return CONF.format(prefix=prefix, listen=listen, upstream=upstream, limit_zone=zone,
                       limit=rule, timeouts=timeouts, connections=WORKER_CONNECTIONS,
                       rlimit=2 * WORKER_CONNECTIONS + 64)  # fmt: skip


class Nginx:
    """nginx listening on `listen` (host:port), passing to `upstream` (host:port)."""

    def __init__(self, listen: str, upstream: str, limit: int | None = None,
                 log_path: Path | None = None) -> None:  # fmt: skip
        self.listen, self.upstream, self.limit = listen, upstream, limit
        self.log_path = log_path or Path("/dev/null")
        self.proc: subprocess.Popen | None = None
        self.prefix: Path | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self, ready_timeout_s: float = 10.0) -> Nginx:
        program = installed()
        if program is None:
            raise ProxyError(MISSING)
        self.prefix = Path(tempfile.mkdtemp(prefix="echobench-nginx-"))
        self.prefix.chmod(0o755)  # run as root, nginx's workers are `nobody`: they write here
        conf = self.prefix / "nginx.conf"
        conf.write_text(configuration(self.prefix, self.listen, self.upstream, self.limit))
        argv = [program, "-p", str(self.prefix), "-c", str(conf), "-e", "stderr"]
        self.proc = processes.spawn(argv, self.log_path)
        host, _, port = self.listen.rpartition(":")
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise ProxyError(f"nginx exited with code {self.proc.returncode}: "
                                 f"{self._log_tail()}")  # fmt: skip
            if processes.port_in_use(host.strip("[]"), int(port)):
                return self
            time.sleep(0.05)
        self.stop()
        raise ProxyError(f"nginx did not listen on {self.listen} within {ready_timeout_s:g} s")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            processes.stop(self.proc)
        if self.prefix is not None:
            shutil.rmtree(self.prefix, ignore_errors=True)

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-3:])
        except OSError:
            return ""
