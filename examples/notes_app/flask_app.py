"""The notes service as a Flask (WSGI) app."""

from __future__ import annotations

from flask import Flask, Response, request

from examples.notes_app import store

app = Flask(__name__)


@app.get("/notes")
def notes() -> Response:
    limit = store.limit_from(request.args.get("limit"))
    if limit is None:
        return Response(store.ERROR, status=400, mimetype="application/json")
    return Response(store.notes_json(limit), mimetype="application/json")
