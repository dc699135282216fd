"""Both apps answer every input with the same status, headers and bytes."""

from __future__ import annotations

import asyncio
import html
import time
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servers import contract

LONG_OK = "a" * 1000
LONG_BAD = "a" * 1001

# (query string, expected status, the text echoed or None)
CORPUS = [
    ("", 200, None),
    ("field=", 200, None),
    ("field=&delay=0", 200, None),
    ("field=hello&delay=0", 200, "hello"),
    ("field=hello+world&delay=0", 200, "hello world"),
    ("field=caf%C3%A9&delay=0", 200, "café"),
    ("field=%E6%97%A5%E6%9C%AC%F0%9F%98%80&delay=0", 200, "日本😀"),
    ("field=%3Cscript%3Ealert(1)%3C%2Fscript%3E&delay=0", 200, "<script>alert(1)</script>"),
    ("field=%22double%22+%27single%27&delay=0", 200, "\"double\" 'single'"),
    ("field=a%26b%26amp%3B&delay=0", 200, "a&b&amp;"),
    ("field=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E&delay=0", 200, "<img src=x onerror=alert(1)>"),
    ("field=tab%09and%0Anewline&delay=0", 200, "tab\tand\nnewline"),
    (f"field={LONG_OK}&delay=0", 200, LONG_OK),
    (f"field={LONG_BAD}&delay=0", 400, None),
    ("field=x&delay=0.0", 200, "x"),
    ("field=x&delay=.01", 200, "x"),
    ("field=x&delay=0&submit=Echo", 200, "x"),
    ("delay=0", 200, None),
    ("field=x&delay=abc", 400, None),
    ("field=x&delay=-1", 400, None),
    ("field=x&delay=nan", 400, None),
    ("field=x&delay=inf", 400, None),
    ("field=x&delay=1e1", 400, None),
    ("field=x&delay=60.001", 400, None),
    ("field=x&delay=1e9", 400, None),
    ("field=x&delay=", 400, None),
    ("field=x&delay=+1", 400, None),
    ("field=x&delay=1_0", 400, None),
    ("delay=abc", 400, None),
    ("field=a&field=b&delay=0", 400, None),
    ("field=x&delay=0&delay=1", 400, None),
    ("field=%FF%FE&delay=0", 400, None),
    ("field=nul%00byte&delay=0", 400, None),
    ("field=bell%07&delay=0", 400, None),
]


def _flask(client, method, url):
    r = client.open(url, method=method)
    return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.data


def _fastapi(client, method, url):
    r = client.request(method, url)
    return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content


def _comparable(headers):
    return {k: v for k, v in headers.items() if k not in ("date", "server")}


@pytest.mark.parametrize(("query", "status", "said"), CORPUS, ids=[q[:40] for q, _, _ in CORPUS])
def test_identical_answers(flask_client, fastapi_client, query, status, said):
    url = f"/?{query}" if query else "/"
    f_status, f_headers, f_body = _flask(flask_client, "GET", url)
    a_status, a_headers, a_body = _fastapi(fastapi_client, "GET", url)
    assert (f_status, _comparable(f_headers), f_body) == (a_status, _comparable(a_headers), a_body)
    assert f_status == status
    assert f_headers["content-length"] == str(len(f_body))
    if status == 200:
        assert f_headers["content-type"] == "text/html; charset=utf-8"
        assert f_body == contract.render_page(said)
        if said is not None:
            assert f"You said: {html.escape(said)}<br>".encode() in f_body
    else:
        assert f_headers["content-type"] == "text/plain; charset=utf-8"
        assert f_body.startswith(b"Bad Request: ")


def test_page_is_the_form(flask_client):
    body = flask_client.get("/").data.decode()
    assert '<input type="text" name="field"' in body
    assert 'type="submit"' in body
    assert "You said" not in body


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/missing", 404),
        ("GET", "/index.html", 404),
        ("POST", "/missing", 404),
        ("PUT", "/", 405),
        ("DELETE", "/", 405),
        ("PATCH", "/", 405),
        ("OPTIONS", "/", 405),
        ("HEAD", "/?field=x&delay=0", 200),
        ("HEAD", "/missing", 404),
    ],
)
def test_identical_routing_errors(flask_client, fastapi_client, method, path, status):
    f = _flask(flask_client, method, path)
    a = _fastapi(fastapi_client, method, path)
    assert (f[0], _comparable(f[1]), f[2]) == (a[0], _comparable(a[1]), a[2])
    assert f[0] == status
    if status == 405:
        assert f[1]["allow"] == "GET, HEAD, POST"
        assert f[2] == b"Method Not Allowed\n"
    if status == 404:
        assert f[1]["content-type"] == "text/plain; charset=utf-8"


# (query, form body, expected status, what the answer is)
POSTS = [
    ("delay=0", b"field=posted", 200, contract.render_page("posted")),
    ("delay=0", b"", 200, contract.render_page()),
    ("delay=0&size=5000", b"field=big", 200, contract.render_page("big", 5000)),
    ("delay=0", b"field=" + b"a" * contract.MAX_BODY_BYTES, 413, None),
    ("field=q&delay=0", b"field=b", 400, None),
    ("delay=0", b"field=%FF%FE", 400, None),
    ("delay=0", b"field=" + b"a" * 1001, 400, None),
]


@pytest.mark.parametrize(("query", "body", "status", "page"), POSTS,
                         ids=[f"{q}-{len(b)}" for q, b, _, _ in POSTS])  # fmt: skip
def test_a_posted_form_is_echoed_alike(flask_client, fastapi_client, query, body, status, page):
    form = {"content-type": "application/x-www-form-urlencoded"}
    f = flask_client.post(f"/?{query}", data=body, headers=form)
    a = fastapi_client.post(f"/?{query}", content=body, headers=form)
    f_headers = _comparable({k.lower(): v for k, v in f.headers.items()})
    a_headers = _comparable({k.lower(): v for k, v in a.headers.items()})
    assert (f.status_code, f_headers, f.data) == (a.status_code, a_headers, a.content)
    assert f.status_code == status
    if page is not None:
        assert f.data == page
    elif status == 413:
        assert f.data.startswith(b"Payload Too Large: ")


@pytest.mark.parametrize("size", [contract.MAX_SIZE_BYTES, 300, 4096])
def test_size_pads_the_page_to_exactly_its_bytes(size):
    reply = contract.echo(f"field=x&delay=0&size={size}".encode(), 0.0)
    assert reply.status == 200 and len(reply.body) == size
    assert reply.body.startswith(contract.render_page("x")) and reply.body.endswith(b"-->\n")


@pytest.mark.parametrize("text", ["", "1e6", "-1", "1.5", " 5", str(contract.MAX_SIZE_BYTES + 1),
                                  "99999999", "10", "٣٠٠"])  # fmt: skip
def test_size_past_its_bounds_is_a_clear_400(text):
    reply = contract.echo(f"field=x&delay=0&size={text}".encode(), 0.0)
    assert reply.status == 400 and reply.body.startswith(b"Bad Request: size ")


def test_a_declared_body_past_the_bound_is_refused_unread():
    assert contract.body_too_large(contract.MAX_BODY_BYTES + 1)
    assert not contract.body_too_large(contract.MAX_BODY_BYTES)
    assert not contract.body_too_large(None)


BAD_WORK = ["", "-0", "-1", "nan", "inf", "1e3", "1000.5", "1001", " 1", "0x10", "5ms", "+5",
            "1_0", "١"]  # fmt: skip


@pytest.mark.parametrize("text", ["0", "5", "0.5", ".25", "999.9", "1000", "1000.0"])
def test_parse_work_accepts_plain_decimal_milliseconds(text):
    assert contract.parse_work(text) == float(text)


@pytest.mark.parametrize("text", BAD_WORK)
def test_parse_work_refuses_everything_else(text, flask_client, fastapi_client):
    with pytest.raises(contract.BadRequest, match="work must be"):
        contract.parse_work(text)
    url = f"/?field=x&delay=0&work={quote(text)}"
    f_status, _, f_body = _flask(flask_client, "GET", url)
    a_status, _, a_body = _fastapi(fastapi_client, "GET", url)
    assert (
        (f_status, f_body)
        == (a_status, a_body)
        == (
            400,
            contract.bad_request(
                f"work must be a decimal number of milliseconds from 0 to {contract.MAX_WORK_MS:g}"
            ).body,
        )
    )


def test_work_is_burned_after_the_wait_and_only_for_an_echo(flask_client, monkeypatch):
    """The app sleeps, then burns the request's (or the server's) CPU work."""
    from servers import flask_app

    done = []
    monkeypatch.setattr(flask_app.contract, "wait", lambda s: done.append(("sleep", s)))
    monkeypatch.setattr(flask_app.contract, "burn", lambda s: done.append(("burn", s)))
    monkeypatch.setattr(flask_app, "SERVER_WORK_MS", 5.0)
    flask_client.get("/?field=x&delay=0.25&work=20")
    flask_client.get("/?field=x&delay=0.25")
    flask_client.get("/?work=20")
    assert done == [("sleep", 0.25), ("burn", 0.02), ("sleep", 0.25), ("burn", 0.005)]
    assert flask_client.get("/?field=x&work=1&work=2").status_code == 400


def test_burn_spends_cpu_time():
    started = time.thread_time()
    contract.burn(0.05)
    assert time.thread_time() - started >= 0.05


@pytest.mark.parametrize("text", ["0", "2", "2.0", "0.5", "60", "60.0", ".25"])
def test_parse_delay_accepts_plain_decimals(text):
    assert contract.parse_delay(text) == float(text)


@pytest.mark.parametrize(
    "text", ["", "-0", "-1", "nan", "inf", "1e3", "61", " 1", "0x10", "1.5s", "١", "２"]
)
def test_parse_delay_refuses_everything_else(text):
    with pytest.raises(contract.BadRequest, match="delay must be"):
        contract.parse_delay(text)


def test_delay_is_applied(flask_client, monkeypatch):
    """The app sleeps exactly the requested delay, and only when a field is given."""
    from servers import flask_app

    slept = []
    monkeypatch.setattr(flask_app.contract, "wait", slept.append)
    monkeypatch.setattr(flask_app, "SERVER_DELAY_S", 0.5)
    flask_client.get("/?field=x&delay=1.25")
    flask_client.get("/?delay=1.25")
    flask_client.get("/?field=&delay=3")
    flask_client.get("/?field=x")
    assert slept == [1.25, 0.5]


def test_server_delay_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(contract.DELAY_ENV, "0.75")
    assert contract.default_delay() == 0.75
    monkeypatch.delenv(contract.DELAY_ENV)
    assert contract.default_delay() == contract.DEFAULT_DELAY_S


# --- random queries: Flask and every FastAPI app answer alike (Hypothesis) -------------

# Waits and work stay at zero or near it so each example is quick; the invalid values
# are what the parser has to refuse.
NUMBERS = st.one_of(
    st.sampled_from(
        [
            "0",
            "0.0",
            ".0",
            "0.001",
            "1e-3",
            "-0",
            "nan",
            "inf",
            "",
            "0x0",
            "١",
            "61",
            "1001",
            " 0",
            "0_0",
            "+0",
        ]
    ),
    st.text(alphabet="0123456789.-e", max_size=6),
)
FIELD = st.text(max_size=40) | st.sampled_from(["", "<script>x</script>", "a&b", "\x00"])
PARAM = st.tuples(
    st.sampled_from(["field", "delay", "work", "submit", "x", ""]),
    st.one_of(FIELD, NUMBERS),
)


def _query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pairs=st.lists(PARAM, max_size=5))
def test_random_queries_get_identical_answers(flask_client, fastapi_client, pairs):
    # a valid delay or work must stay tiny: swap large accepted values for zero
    safe = [(k, "0" if k in ("delay", "work") and _big(v) else v) for k, v in pairs]
    url = "/?" + _query(safe)
    f_status, f_headers, f_body = _flask(flask_client, "GET", url)
    a_status, a_headers, a_body = _fastapi(fastapi_client, "GET", url)
    assert (f_status, _comparable(f_headers), f_body) == (a_status, _comparable(a_headers), a_body)
    assert f_status in (200, 400)


def _big(value: str) -> bool:
    try:
        return float(value) > 0.01
    except ValueError:
        return False


def test_a_wait_never_ends_before_its_delay():
    """A timer that fires early (uvloop's can, by up to a millisecond) is waited out."""
    slept = []

    def early(seconds):  # sleeps 60% of what it is asked
        slept.append(seconds)
        time.sleep(0.6 * seconds)

    start = time.monotonic()
    contract.wait(0.05, sleep=early)
    assert time.monotonic() - start >= 0.05 and len(slept) > 1

    async def early_async(seconds):
        slept.append(seconds)
        await asyncio.sleep(0.6 * seconds)

    start = time.monotonic()
    asyncio.run(contract.await_wait(0.05, sleep=early_async))
    assert time.monotonic() - start >= 0.05
