"""A client's bad request is a 4xx with a clear message, never a 500, and logs no traceback."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import FormData

from plughost.testing import ClientFactory, ProjectFactory

ECHO = """
import plughost
from plughost import BasePlugin

@plughost.route("/echo", method=["GET", "POST"])
async def echo(**kwargs):
    return {k: v for k, v in kwargs.items() if k != "request_headers"}

@plughost.route("/text", method=["GET", "POST"])
async def text(name="x"):
    return f"hello {name}"

@plughost.route("/guarded", method=["GET", "POST"], auth="global")
async def guarded(name="x"):
    return f"hello {name}"

class Keyed(BasePlugin):
    route_path = "keyed"
    auth_type = "global"

    def request_handler(self, **args):
        return {"ok": True}
"""

CONFIG = '[auth]\napikey = "the-key"\n'

#: (method, path, request keywords) that a client may send; none may be a 5xx.
CORPUS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", path, kwargs)
    for path in ("/echo", "/text", "/guarded", "/keyed")
    for kwargs in (
        {"data": b'{"apikey": "\\ud800"}', "headers": {"Content-Type": "application/json"}},
        {"data": b'{"name": "\\udfff"}', "headers": {"Content-Type": "application/json"}},
        {"data": b'{"\\ud800": 1}', "headers": {"Content-Type": "application/json"}},
        {"data": b'["\\ud800"]', "headers": {"Content-Type": "application/json"}},
        {
            "data": b"apikey=x&name=y",
            "headers": {"Content-Type": "application/x-www-form-urlencoded; charset=nope"},
        },
        {
            "data": b"name=%ED%A0%80",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
        {
            "data": b"name=\xff\xfe",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
        {
            "data": (
                b'--B\r\nContent-Disposition: form-data; name="name"\r\n'
                b"Content-Type: text/plain; charset=nope\r\n\r\nvalue\r\n--B--\r\n"
            ),
            "headers": {"Content-Type": "multipart/form-data; boundary=B"},
        },
        {
            "data": (
                b'--B\r\nContent-Disposition: form-data; name="name"\r\n\r\n\xff\xfe\r\n--B--\r\n'
            ),
            "headers": {"Content-Type": "multipart/form-data; boundary=B"},
        },
        {"data": b"--B\r\ngarbage", "headers": {"Content-Type": "multipart/form-data; boundary=B"}},
        {"data": b"x", "headers": {"Content-Type": "multipart/form-data"}},
        {"data": b"\xff\xfe{", "headers": {"Content-Type": "application/json"}},
        {"data": b"[" * 100000, "headers": {"Content-Type": "application/json"}},
        {"data": b"{}", "headers": {"Content-Type": "application/json; charset=nope"}},
        {"data": b'{"request": 1}', "headers": {"Content-Type": "application/json"}},
        {
            "data": b"name=1&" * 5000,
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
        {"data": b'"\\ud800"', "headers": {"Content-Type": "application/json"}},
    )
] + [
    ("GET", "/text?name=%ED%A0%80", {}),
    ("GET", "/text?name=%FF", {}),
    ("GET", "/guarded?apikey=%ED%A0%80", {}),
    ("GET", "/echo?request_headers=1", {}),
    (
        "GET",
        "/keyed?apikey=%ff",
        {"headers": {"X-API-Key": "\udcff".encode("utf-8", "surrogateescape").decode("latin-1")}},
    ),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), CORPUS, ids=range(len(CORPUS)))
async def test_bad_input_is_a_client_error(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    kwargs: dict[str, Any],
) -> None:
    client = await plughost_client(plughost_project({"echo": ECHO}, config=CONFIG))
    with caplog.at_level(logging.INFO):
        resp = await client.request(method, path, **kwargs)
        body = await resp.read()
    assert resp.status < 500, body
    assert not [r for r in caplog.records if r.exc_info], caplog.text


async def test_a_lone_surrogate_in_json_is_a_400_that_says_so(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"echo": ECHO}, config=CONFIG))
    resp = await client.post(
        "/text", data=b'{"name": "\\ud800"}', headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert "lone surrogate" in (await resp.json())["error"]
    paired = await client.post(
        "/text", data=b'{"name": "\\ud83d\\ude00"}', headers={"Content-Type": "application/json"}
    )
    assert await paired.text() == "hello \N{GRINNING FACE}"


async def test_a_lone_surrogate_key_is_refused_not_an_error(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await plughost_client(plughost_project({"echo": ECHO}, config=CONFIG))
    for path in ("/guarded", "/keyed"):
        resp = await client.post(
            path, data=b'{"apikey": "\\ud800"}', headers={"Content-Type": "application/json"}
        )
        assert resp.status in (400, 401)
    assert not [r for r in caplog.records if r.exc_info]


def test_keys_with_lone_surrogates_compare() -> None:
    from plughost.request.auth import keys_equal

    assert not keys_equal("\ud800", "the-key")
    assert keys_equal("\ud800x", "\ud800x")
    assert not keys_equal("\udcff", "\ud800")


async def test_too_many_form_fields_says_what_was_exceeded(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"echo": ECHO}, config=CONFIG))
    form = FormData([(f"f{i}", "1") for i in range(10_000)])
    resp = await client.post("/echo", data=form)
    assert resp.status == 400
    message = (await resp.json())["error"]
    assert message == "too many form fields: at most 1000 are accepted"


async def test_generated_json_bodies_are_never_a_5xx(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    )
    bodies: list[bytes] = []

    @settings(
        max_examples=200,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(values, st.sampled_from(["/echo", "/text", "/guarded", "/keyed"]))
    def collect(value: object, path: str) -> None:
        import json

        bodies.append(path.encode() + b" " + json.dumps(value).encode())

    collect()
    client = await plughost_client(plughost_project({"echo": ECHO}, config=CONFIG))
    statuses = []
    for item in bodies:
        path, _, body = item.partition(b" ")
        resp = await client.post(
            path.decode(), data=body, headers={"Content-Type": "application/json"}
        )
        await resp.read()
        statuses.append(resp.status)
    assert len(statuses) == len(bodies) > 0
    assert [s for s in statuses if s >= 500] == []
