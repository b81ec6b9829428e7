"""The CORS origin matrix: every response, to every origin, carries exactly the right headers."""

from __future__ import annotations

from typing import Any

import pytest

from plughost.testing import ClientFactory, ProjectFactory

API = """
import plughost
from plughost import BadRequest

@plughost.route("/items", method=["GET", "POST"])
async def items():
    return {"items": []}

@plughost.route("/fails")
async def fails():
    raise BadRequest("no")

@plughost.route("/secret", auth="global")
async def secret():
    return {"secret": 1}
"""

LISTED = ("https://app.example", "http://localhost:3000")
UNLISTED = (
    None,
    "",
    "null",
    "https://app.example.evil.test",
    "http://app.example",
    "https://app.example:8443",
    "https://APP.example",
    "https://evil.test",
)


def _config(origins: tuple[str, ...], credentials: bool) -> str:
    listed = ", ".join(f'"{o}"' for o in origins)
    return (
        f'[auth]\napikey = "k"\n\n[cors]\nenabled = true\nallow_origins = [{listed}]\n'
        f'allow_methods = ["GET", "POST"]\nallow_credentials = {str(credentials).lower()}\n'
    )


REQUESTS = [
    ("GET", "/items", 200),
    ("POST", "/items", 200),
    ("GET", "/fails", 400),
    ("GET", "/secret", 401),
    ("GET", "/nowhere", 404),
    ("DELETE", "/items", 405),
]


@pytest.mark.parametrize("credentials", [False, True])
async def test_origin_matrix(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, credentials: bool
) -> None:
    client = await plughost_client(
        plughost_project({"api": API}, config=_config(LISTED, credentials))
    )
    wrong: list[Any] = []
    for origin in (*LISTED, *UNLISTED):
        headers = {"Origin": origin} if origin is not None else {}
        for method, path, status in REQUESTS:
            resp = await client.request(method, path, headers=headers)
            await resp.read()
            got = resp.headers.get("Access-Control-Allow-Origin")
            want = origin if origin in LISTED else None
            creds = resp.headers.get("Access-Control-Allow-Credentials")
            want_creds = "true" if want is not None and credentials else None
            vary = resp.headers.get("Vary", "")
            if (resp.status, got, creds) != (status, want, want_creds) or "Origin" not in vary:
                wrong.append((origin, method, path, resp.status, got, creds, vary))
    assert wrong == []


async def test_wildcard_matrix(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"api": API}, config=_config(("*",), False)))
    for origin in (*LISTED, *UNLISTED):
        headers = {"Origin": origin} if origin is not None else {}
        for method, path, status in REQUESTS:
            resp = await client.request(method, path, headers=headers)
            assert resp.status == status
            want = "*" if origin else None
            assert resp.headers.get("Access-Control-Allow-Origin") == want, (origin, path)
            assert "Origin" in resp.headers.get("Vary", "")


async def test_preflight_matrix(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"api": API}, config=_config(LISTED, False)))
    cases = [
        ("https://app.example", "/items", "POST", 204),
        ("http://localhost:3000", "/items", "GET", 204),
        ("https://app.example", "/items", "DELETE", 403),
        ("https://evil.test", "/items", "GET", 403),
        ("null", "/items", "GET", 403),
        ("https://app.example", "/nowhere", "GET", 404),
        ("https://evil.test", "/nowhere", "GET", 404),
    ]
    for origin, path, method, status in cases:
        resp = await client.options(
            path, headers={"Origin": origin, "Access-Control-Request-Method": method}
        )
        assert resp.status == status, (origin, path, method)
        allowed = resp.headers.get("Access-Control-Allow-Origin")
        assert allowed == (origin if status != 403 and origin in LISTED else None)
        assert "Origin" in resp.headers["Vary"]
        if status == 204:
            assert resp.headers["Access-Control-Allow-Methods"] == "GET, POST"


async def test_cors_off_adds_nothing(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"api": API}))
    for path in ("/items", "/nowhere"):
        resp = await client.get(path, headers={"Origin": "https://app.example"})
        assert "Vary" not in resp.headers
        assert not [h for h in resp.headers if h.lower().startswith("access-control-")]
