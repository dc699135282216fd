"""The echo contract as a WSGI app: Flask, blocking `time.sleep`.

Under gunicorn's gevent worker `time.sleep` is monkey-patched and yields, which is
how the same code becomes concurrent without a rewrite.
"""

from flask import Flask, Response, request

from servers import contract, database

app = Flask(__name__)
SERVER_DELAY_S = contract.default_delay()
SERVER_WORK_MS = contract.default_work()
# io = db: this worker's own pool, open (every connection made) before it is ready.
_settings = database.PoolSettings.from_env()
DB = database.SyncDatabase(_settings) if _settings else None


def _respond(reply: contract.Reply) -> Response:
    return Response(reply.body, status=reply.status, headers=reply.headers)


@app.route("/", methods=["GET", "POST"], provide_automatic_options=False)
def echo() -> Response:
    body = None
    if request.method == "POST":  # the field in a form body, read up to its bound
        if contract.body_too_large(request.content_length):
            return _respond(contract.too_large())
        body = request.stream.read(contract.MAX_BODY_BYTES + 1)
    reply = contract.echo(request.query_string, SERVER_DELAY_S, SERVER_WORK_MS, body)
    reply = contract.waited(reply, DB)  # time.sleep or psycopg: gevent makes both yield
    if reply.work_s:
        contract.burn(reply.work_s)
    return _respond(reply)


@app.errorhandler(404)
def not_found(_error) -> Response:
    return _respond(contract.not_found())


@app.errorhandler(405)
def method_not_allowed(_error) -> Response:
    return _respond(contract.method_not_allowed())


contract.announce_ready()  # in each gunicorn worker, once its app is loaded
