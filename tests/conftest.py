"""Shared fixtures: in-process clients for both apps and real servers on free ports."""

from __future__ import annotations

import os

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
