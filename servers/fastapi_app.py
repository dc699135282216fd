"""The echo contract as ASGI apps: one FastAPI app per way of waiting.

- `async_app`: `async def` + `await asyncio.sleep`, the intended async style.
- `threadpool_app`: plain `def` + `time.sleep`; FastAPI runs it in AnyIO's thread
  pool (40 threads by default), so its capacity is that pool's size.
- `blocking_app`: `async def` calling blocking `time.sleep`, the classic mistake
  that stalls the event loop and serves one request at a time.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request, Response
from starlette.exceptions import HTTPException

from servers import contract, database

SERVER_DELAY_S = contract.default_delay()
SERVER_WORK_MS = contract.default_work()


def _respond(reply: contract.Reply) -> Response:
    return Response(reply.body, status_code=reply.status, headers=reply.headers)


async def _http_error(_request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 405:
        return _respond(contract.method_not_allowed())
    if exc.status_code == 404:
        return _respond(contract.not_found())
    return _respond(contract.bad_request(str(exc.detail)))


def _lifespan(pool: type) -> Callable:
    """Startup in each worker: with io = db, open its pool (an async one for `async def`)
    before it says it is ready; close it at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = database.PoolSettings.from_env()
        db = None
        if settings is not None:
            db = pool(settings)
            if isinstance(db, database.AsyncDatabase):
                await db.open()
        app.state.db = db
        contract.announce_ready()  # in each worker, as it starts serving
        yield
        if isinstance(db, database.AsyncDatabase):
            await db.close()
        elif db is not None:
            db.close()

    return lifespan


# A POST whose declared length is past the contract's bound: refused unread.
TOO_LARGE = b"\0" * (contract.MAX_BODY_BYTES + 1)


async def posted(request: Request) -> bytes | None:
    """A POST's form body, read on the event loop up to one byte past its bound (so a plain
    `def` endpoint in the thread pool gets it too); None for GET and HEAD."""
    if request.method != "POST":
        return None
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and contract.body_too_large(int(length)):
        return TOO_LARGE
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > contract.MAX_BODY_BYTES:
            break
    return body


def _build(endpoint: Callable, pool: type) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=_lifespan(pool))
    app.state.db = None  # sleep, until a lifespan with io = db opens a pool
    app.add_api_route("/", endpoint, methods=["GET", "HEAD", "POST"], include_in_schema=False)
    app.add_exception_handler(HTTPException, _http_error)
    return app


async def echo_async(request: Request, body: bytes | None = Depends(posted)) -> Response:
    reply = contract.echo(request.scope["query_string"], SERVER_DELAY_S, SERVER_WORK_MS, body)
    reply = await contract.awaited(reply, request.app.state.db)
    if reply.work_s:
        contract.burn(reply.work_s)  # on the event loop: that is the point
    return _respond(reply)


def echo_threadpool(request: Request, body: bytes | None = Depends(posted)) -> Response:
    reply = contract.echo(request.scope["query_string"], SERVER_DELAY_S, SERVER_WORK_MS, body)
    reply = contract.waited(reply, request.app.state.db)
    if reply.work_s:
        contract.burn(reply.work_s)  # in this pool thread
    return _respond(reply)


async def echo_blocking(request: Request, body: bytes | None = Depends(posted)) -> Response:
    reply = contract.echo(request.scope["query_string"], SERVER_DELAY_S, SERVER_WORK_MS, body)
    # time.sleep or a blocking query: deliberately blocks the event loop
    reply = contract.waited(reply, request.app.state.db)
    if reply.work_s:
        contract.burn(reply.work_s)
    return _respond(reply)


async_app = _build(echo_async, database.AsyncDatabase)
threadpool_app = _build(echo_threadpool, database.SyncDatabase)
blocking_app = _build(echo_blocking, database.SyncDatabase)
