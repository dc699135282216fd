"""Shared fixtures: in-process clients for both apps and real servers on free ports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Apps read the server delay at import; tests use short delays through `delay=`.
os.environ.setdefault("ECHOBENCH_DELAY", "0")


@pytest.fixture(scope="session")
def flask_client():
    from servers.flask_app import app

    return app.test_client()


@pytest.fixture(scope="session", params=["async_app", "threadpool_app", "blocking_app"])
def fastapi_client(request):
    from fastapi.testclient import TestClient

    from servers import fastapi_app

    return TestClient(getattr(fastapi_app, request.param))


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """One real `echobench run --profile smoke`, shared by every test that reads a run."""
    out = tmp_path_factory.mktemp("runs") / "smoke"
    done = subprocess.run(
        [sys.executable, "-m", "echobench", "run", "--profile", "smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done
