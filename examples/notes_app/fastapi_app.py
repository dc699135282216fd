"""The notes service as a FastAPI (ASGI) app: a `def` endpoint, so the blocking SQLite
query runs on AnyIO's thread pool and never stalls the event loop."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

from examples.notes_app import store

app = FastAPI()


@app.get("/notes")
def notes(request: Request) -> Response:
    limit = store.limit_from(request.query_params.get("limit"))
    if limit is None:
        return Response(store.ERROR, status_code=400, media_type="application/json")
    return Response(store.notes_json(limit), media_type="application/json")
