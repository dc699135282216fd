"""The echo contract as a WSGI app: Flask, blocking `time.sleep`.

Under gunicorn's gevent worker `time.sleep` is monkey-patched and yields, which is
how the same code becomes concurrent without a rewrite.
"""

from flask import Flask, Response, request

from servers import contract

app = Flask(__name__)
SERVER_DELAY_S = contract.default_delay()
SERVER_WORK_MS = contract.default_work()


def _respond(reply: contract.Reply) -> Response:
    return Response(reply.body, status=reply.status, headers=reply.headers)


@app.route("/", methods=["GET"], provide_automatic_options=False)
def echo() -> Response:
    reply = contract.echo(request.query_string, SERVER_DELAY_S, SERVER_WORK_MS)
    if reply.delay_s:
        contract.wait(reply.delay_s)  # time.sleep, which gevent patches to yield
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
