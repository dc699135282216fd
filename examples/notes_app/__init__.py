"""A small notes service, written twice with the same behaviour: Flask (WSGI,
`examples.notes_app.flask_app:app`) and FastAPI (ASGI, `examples.notes_app.fastapi_app:app`).
Both read notes from one SQLite file through a small connection pool and answer
`GET /notes?limit=N` with the same JSON bytes, so `--same-body` holds for either.
"""
