"""Where a result came from: machine, software versions and git revision."""

from __future__ import annotations

import os
import platform
import resource
import socket
import subprocess
from importlib import metadata
from pathlib import Path

import psutil

from echobench import proxy

PACKAGES = [
    "echobench",
    "flask",
    "werkzeug",
    "gunicorn",
    "gevent",
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "anyio",
    "locust",
    "geventhttpclient",
    "psutil",
    "pandas",
    "matplotlib",
]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


CHECKOUT = Path(__file__).resolve().parents[1]


def git_revision() -> dict:
    """The commit of the echobench checkout (not of the working directory)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(CHECKOUT), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    # results/ holds outputs, not code: `nox -s reference` rewrites the committed runs
    # there one after another, and a later run's code is no less clean for it
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results")
    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(status) if status is not None else None,
    }


def versions() -> dict[str, str | None]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    found["nginx"] = proxy.version()  # a system program, for `+nginx` configs
    return found


def machine() -> dict:
    memory = psutil.virtual_memory()
    return {
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "cores_logical": psutil.cpu_count(logical=True),
        "cores_physical": psutil.cpu_count(logical=False),
        "memory_gib": round(memory.total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "load_average_at_start": list(os.getloadavg()),
        "open_files_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "somaxconn": _read("/proc/sys/net/core/somaxconn"),
    }


def describe() -> dict:
    return {"machine": machine(), "versions": versions(), "git": git_revision()}
