"""Your own app (`echobench run --app module:attr`), as every server of echobench runs it.

The server imports `servers.user_app:wsgi` or `servers.user_app:asgi`; each imports
the app named by ECHOBENCH_APP and wraps it, changing nothing it answers but one
header: each answer names the process that served it (X-Echobench-Worker, as the echo
apps do), and each worker announces that it has loaded the app (the ready folder), so
echobench measures your app with the same accounting as its own.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys

from servers import contract

TARGET_ENV = "ECHOBENCH_APP"


def load(target: str):
    """The object `module:attr` names (attr may be dotted)."""
    module_name, _, attr = target.partition(":")
    found = importlib.import_module(module_name)
    for part in (attr or "app").split("."):
        found = getattr(found, part)
    return found


def _app():
    return load(os.environ[TARGET_ENV])


def _wsgi_wrapper(app):
    def wsgi(environ, start_response):
        pid = str(os.getpid())

        def start(status, headers, exc_info=None):
            return start_response(status, [*headers, (contract.WORKER_HEADER, pid)], exc_info)

        return app(environ, start)

    return wsgi


def _asgi_wrapper(app):
    header = contract.WORKER_HEADER.lower().encode()

    async def asgi(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        pid = str(os.getpid()).encode()

        async def named(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (header, pid)]}
            await send(message)

        return await app(scope, receive, named)

    return asgi


def detect(target: str) -> dict:
    """{"interface": "wsgi" | "asgi"} or {"error": one line} for `module:attr`: an ASGI
    app is a coroutine function of (scope, receive, send), or has one as __call__; a
    WSGI app is a callable of (environ, start_response)."""
    module_name, _, attr = target.partition(":")
    try:
        found = load(target)
    except KeyError as exc:
        name = exc.args[0] if exc.args else ""
        if isinstance(name, str) and name and name not in os.environ:
            return {"error": f"{module_name} needs the environment variable {name}"}
        return {"error": f"{module_name} does not import: KeyError: {exc}"}
    except ModuleNotFoundError as exc:
        return {"error": f"{module_name} does not import: {exc}"}
    except AttributeError as exc:
        if getattr(exc, "name", None) == attr.split(".")[-1]:
            return {"error": f"{module_name} has no attribute {attr!r}"}
        return {"error": f"{module_name} does not import: AttributeError: {exc}"}
    except Exception as exc:  # the user's code, whatever it raised at import
        return {"error": f"{module_name} does not import: {type(exc).__name__}: {exc}"}
    if not callable(found):
        return {"error": f"{target} is not callable: not a WSGI or an ASGI app"}
    plain = inspect.isfunction(found) or inspect.ismethod(found)
    if inspect.iscoroutinefunction(found if plain else found.__call__):
        return {"interface": "asgi"}
    try:
        params = list(inspect.signature(found).parameters)
    except (TypeError, ValueError):
        params = []
    if len(params) == 2:
        return {"interface": "wsgi"}
    return {"error": f"{target} is neither a WSGI app (environ, start_response) nor an "
                     "ASGI app (async scope, receive, send)"}  # fmt: skip


if __name__ == "__main__" and sys.argv[1:2] == ["--detect"]:  # echobench asks, in a child
    sys.path.insert(0, os.getcwd())
    print(json.dumps(detect(sys.argv[2])))
elif os.environ.get(TARGET_ENV):  # inside a server started by echobench
    _loaded = _app()
    wsgi = _wsgi_wrapper(_loaded)
    asgi = _asgi_wrapper(_loaded)
    contract.announce_ready()  # in each worker, once the app is loaded
