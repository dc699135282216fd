"""Starting and stopping child processes by process group, never by name.

Every process echobench starts gets its own session (and so process group); stopping
sends SIGTERM to the group, waits, then SIGKILLs the group and any descendant that
left it, so no worker outlives its parent, also on error and Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import psutil


def raise_open_files_limit() -> int:
    """Raise RLIMIT_NOFILE's soft limit to the hard one; children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


def spawn(
    argv: Sequence[str],
    log_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    base_env: dict[str, str] | None = None,
    as_user: dict | None = None,
) -> subprocess.Popen:
    """Start argv in a new session, stdout and stderr to log_path.

    The child's environment is base_env (default: ours) updated with env; as_user holds
    Popen's user, group and extra_groups for a child that must not run as root.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**(os.environ if base_env is None else base_env), **(env or {})},
            cwd=cwd,
            start_new_session=True,
            **(as_user or {}),
        )


def port_in_use(host: str, port: int) -> bool:
    """Something accepts connections on host:port (a server, or nginx, is listening)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def tree(pid: int) -> list[psutil.Process]:
    """pid and all its descendants that are still alive."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def stop(proc: subprocess.Popen, grace_s: float = 5.0) -> int | None:
    """Stop proc's process group and every descendant; return its exit code."""
    members = tree(proc.pid)
    _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and (proc.poll() is None or any(map(_alive, members))):
        time.sleep(0.05)
    _signal_group(proc.pid, signal.SIGKILL)
    for member in members:
        with contextlib.suppress(psutil.Error):
            member.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace_s)
    psutil.wait_procs(members, timeout=grace_s)
    return proc.returncode


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
