"""An app module that cannot import without its environment variable (tests/test_user_app.py)."""

import os

TOKEN = os.environ["ECHOBENCH_TEST_TOKEN"]


def app(environ, start_response):  # pragma: no cover - never imported successfully
    start_response("200 OK", [])
    return [TOKEN.encode()]
