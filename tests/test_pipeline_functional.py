"""The hook pipeline (Flask-Micron model) on a real loopback server.

Hook plugins here record what ran into a log file the test reads back, so the
order asserted is the order the server really ran them in.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from _support import host_of

from plughost.testing import ClientFactory, ProjectFactory

ORDINARY_HOOKS = (
    "start_request",
    "check_access",
    "after_check_access",
    "process_input",
    "process_output",
    "process_error",
    "process_response",
    "end_request",
)

# A module plugin: every ordinary hook as a module-level function.
MODULE_HOOKS = """
LOG = {log!r}


def record(event):
    with open(LOG, "a") as log:
        log.write(event + "\\n")


{functions}
"""

# An object plugin registered in setup(); its hooks are async methods.
OBJECT_HOOKS = """
import plughost

LOG = {log!r}


def record(event):
    with open(LOG, "a") as log:
        log.write(event + "\\n")


class Recorder(plughost.HookPlugin):
    name = {label!r}

{methods}


def setup(host):
    host.add_hooks(Recorder())
"""

ENDPOINTS = """
import plughost


@plughost.route("/ok")
async def ok():
    return {"ok": True}


@plughost.route("/fails")
async def fails():
    raise plughost.BadRequest("that will not do")
"""


def _module_hooks(log: Path, label: str, *, is_async: bool = False) -> str:
    keyword = "async def" if is_async else "def"
    functions = "\n\n".join(
        f"{keyword} {hook}(context):\n    record({label + ':' + hook!r})\n"
        for hook in ORDINARY_HOOKS
    )
    return MODULE_HOOKS.format(log=str(log), functions=functions)


def _object_hooks(log: Path, label: str) -> str:
    methods = "\n".join(
        f"    async def {hook}(self, context):\n        record({label + ':' + hook!r})\n"
        for hook in ORDINARY_HOOKS
    )
    return OBJECT_HOOKS.format(log=str(log), label=label, methods=methods)


def _events(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


async def test_hook_order_across_three_plugins(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, tmp_path: Path
) -> None:
    log = tmp_path / "hooks.log"
    project = plughost_project(
        {
            "sync_module": _module_hooks(log, "sync_module"),
            "async_module": _module_hooks(log, "async_module", is_async=True),
            "hook_object": _object_hooks(log, "hook_object"),
            "endpoints": ENDPOINTS,
        },
        # Config order, not name order, is load order.
        enabled=["hook_object", "sync_module", "endpoints", "async_module"],
    )
    client = await plughost_client(project)
    order = ["hook_object", "sync_module", "async_module"]

    assert await (await client.get("/ok")).json() == {"ok": True}
    expected = [
        f"{plugin}:{hook}" for hook in ORDINARY_HOOKS if hook != "process_error" for plugin in order
    ]
    assert _events(log) == expected

    log.unlink()
    resp = await client.get("/fails")
    assert resp.status == 400
    # On an error: no process_output, and process_error runs in every plugin.
    ran = [h for h in ORDINARY_HOOKS if h != "process_output"]
    assert _events(log) == [f"{plugin}:{hook}" for hook in ran for plugin in order]


SINGLE = """
import plughost

LOG = {log!r}
LABEL = {label!r}


def record(event):
    with open(LOG, "a") as log:
        log.write(event + "\\n")


async def read_input(context):
    record(LABEL + ":read_input")
    context.input = {{"source": LABEL}}


def call_function(context):
    record(LABEL + ":call_function")
    context.output = {{"called_by": LABEL, **context.input}}


def create_response(context):
    record(LABEL + ":create_response")
    from aiohttp import web

    context.response = web.json_response({{**context.output, "created_by": LABEL}})
"""


@pytest.mark.parametrize("order", [["first", "second"], ["second", "first"]])
async def test_single_hooks_last_registered_wins_and_others_do_not_run(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    tmp_path: Path,
    order: list[str],
) -> None:
    log = tmp_path / "hooks.log"
    project = plughost_project(
        {
            "first": SINGLE.format(log=str(log), label="first"),
            "second": SINGLE.format(log=str(log), label="second"),
            "endpoints": ENDPOINTS,
        },
        enabled=[*order, "endpoints"],
    )
    client = await plughost_client(project)
    winner = order[-1]
    resp = await client.get("/ok")
    assert await resp.json() == {"source": winner, "called_by": winner, "created_by": winner}
    assert _events(log) == [
        f"{winner}:read_input",
        f"{winner}:call_function",
        f"{winner}:create_response",
    ]


HTML = """
import html

from aiohttp import web


def create_response(context):
    output = context.output
    items = "".join(
        f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in output.items()
    )
    context.response = web.Response(text=f"<ul>{items}</ul>", content_type="text/html")
"""


async def test_a_replaced_create_response_needs_no_other_change(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    endpoint = """
import plughost


@plughost.route("/page")
async def page(name="<world>"):
    return {"hello": name}
"""
    client = await plughost_client(plughost_project({"html": HTML, "page": endpoint}))
    resp = await client.get("/page", params={"name": "Ann & Bob"})
    assert resp.status == 200
    assert resp.content_type == "text/html"
    assert await resp.text() == "<ul><li>hello: Ann &amp; Bob</li></ul>"


CONTEXT = """
import plughost


def start_request(context):
    context.state["seen"] = ["start_request"]


def process_input(context):
    context.state["seen"].append("process_input")
    context.input["extra"] = "added by process_input"
    context.state["input_keys"] = sorted(context.input)


def process_output(context):
    context.state["seen"].append("process_output")
    context.output = {
        **context.output,
        "config": dict(context.config),
        "route": [context.route.method, context.route.rule],
        "function_is_route_call": context.function is context.route.call,
        "input_keys": context.state["input_keys"],
    }


def process_response(context):
    context.state["seen"].append("process_response")
    context.response.headers["X-Seen"] = ",".join(context.state["seen"])
    context.response.headers["X-Path"] = context.request.path


@plughost.route("/context/{part}", label="configured")
async def endpoint(part, extra="missing"):
    return {"part": part, "extra": extra}
"""


async def test_hooks_read_and_modify_the_context(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(
        plughost_project({"ctx": CONTEXT}, config="[server]\ndebug = true")
    )
    resp = await client.get("/context/p1", params={"q": "1"})
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {
        "part": "p1",
        "extra": "added by process_input",
        "config": {"label": "configured"},
        "route": ["GET", "/context/{part}"],
        "function_is_route_call": True,
        "input_keys": ["extra", "part", "q", "request_headers"],
    }
    assert resp.headers["X-Seen"] == "start_request,process_input,process_output,process_response"
    assert resp.headers["X-Path"] == "/context/p1"


ERRORS = """
from aiohttp import web

import plughost


@plughost.route("/bad-request")
async def bad_request():
    raise plughost.BadRequest("bad input here")


@plughost.route("/unauthorized")
async def unauthorized():
    raise plughost.Unauthorized("who are you")


@plughost.route("/access-denied")
async def access_denied():
    raise plughost.AccessDenied("not for you")


@plughost.route("/not-found")
def not_found():
    raise plughost.NotFound("no such thing")


@plughost.route("/teapot")
async def teapot():
    raise plughost.HTTPError(418, "short and stout")


@plughost.route("/unnamed")
async def unnamed():
    raise plughost.BadRequest()


@plughost.route("/aiohttp-error")
async def aiohttp_error():
    raise web.HTTPConflict(reason="Conflict here")


@plughost.route("/aiohttp-text")
async def aiohttp_text():
    raise web.HTTPUnprocessableEntity(text="field 'x' is wrong")


@plughost.route("/redirect")
async def redirect():
    raise web.HTTPFound("/teapot")


@plughost.route("/crash")
async def crash():
    raise RuntimeError("secret detail 1234")


@plughost.route("/crash-sync")
def crash_sync():
    raise KeyError("secret detail 5678")
"""


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/bad-request", 400, "bad input here"),
        ("/unauthorized", 401, "who are you"),
        ("/access-denied", 403, "not for you"),
        ("/not-found", 404, "no such thing"),
        ("/teapot", 418, "short and stout"),
        ("/unnamed", 400, "BadRequest"),
        ("/aiohttp-error", 409, "Conflict here"),
        ("/aiohttp-text", 422, "field 'x' is wrong"),
        ("/crash", 500, "Internal Server Error"),
        ("/crash-sync", 500, "Internal Server Error"),
    ],
)
async def test_each_error_class_and_its_status(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    path: str,
    status: int,
    message: str,
) -> None:
    client = await plughost_client(plughost_project({"errors": ERRORS}))
    resp = await client.get(path)
    assert resp.status == status
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert body == {"error": message, "status": status}


async def test_redirect_passes_through(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"errors": ERRORS}))
    resp = await client.get("/redirect", allow_redirects=False)
    assert resp.status == 302
    assert resp.headers["Location"] == "/teapot"


@pytest.mark.parametrize(
    ("path", "detail"),
    [("/crash", "RuntimeError: secret detail 1234"), ("/crash-sync", "KeyError: 'secret detail")],
)
async def test_no_traceback_without_debug(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
    path: str,
    detail: str,
) -> None:
    client = await plughost_client(plughost_project({"errors": ERRORS}))
    with caplog.at_level(logging.ERROR):
        resp = await client.get(path)
    text = await resp.text()
    assert resp.status == 500
    assert "secret detail" not in text
    assert "traceback" not in json.loads(text)
    # The log always has it.
    assert detail in caplog.text


async def test_traceback_in_debug(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(
        plughost_project({"errors": ERRORS}, config="[server]\ndebug = true")
    )
    resp = await client.get("/crash")
    assert resp.status == 500
    body = await resp.json()
    assert body["error"] == "Internal Server Error"
    assert "RuntimeError: secret detail 1234" in body["traceback"]
    assert "in crash" in body["traceback"]
    # Errors meant for the client are the same with or without debug.
    resp = await client.get("/teapot")
    assert await resp.json() == {"error": "short and stout", "status": 418}


MEDDLER = """
def process_output(context):
    context.response = None


def process_input(context):
    context.state["allowed"] = True
"""

SNOOP = """
def check_access(context):
    context.output = {"granted": True}
"""


@pytest.mark.parametrize(
    ("plugin", "source", "hook", "field"),
    [
        ("meddler", MEDDLER, "process_output", "response"),
        ("snoop", SNOOP, "check_access", "output"),
    ],
)
async def test_debug_mode_refuses_writes_a_hook_may_only_read(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
    plugin: str,
    source: str,
    hook: str,
    field: str,
) -> None:
    project = plughost_project(
        {plugin: source, "endpoints": ENDPOINTS}, config="[server]\ndebug = true"
    )
    client = await plughost_client(project)
    with caplog.at_level(logging.ERROR):
        resp = await client.get("/ok")
    assert resp.status == 500
    body = await resp.json()
    expected = f"hook {hook!r} of plugin {plugin!r} assigned context.{field}"
    assert expected in body["traceback"]
    assert expected in caplog.text


async def test_the_same_writes_are_not_checked_without_debug(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"snoop": SNOOP, "endpoints": ENDPOINTS}))
    resp = await client.get("/ok")
    assert resp.status == 200


FAULTY_HOOKS = """
def process_error(context):
    raise RuntimeError("process_error blew up")


def end_request(context):
    raise RuntimeError("end_request blew up")
"""


async def test_exceptions_in_process_error_and_end_request_still_answer(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    project = plughost_project({"faulty": FAULTY_HOOKS, "endpoints": ENDPOINTS})
    client = await plughost_client(project)
    with caplog.at_level(logging.ERROR):
        resp = await client.get("/fails")
        assert resp.status == 400
        assert await resp.json() == {"error": "that will not do", "status": 400}
        resp = await client.get("/ok")
        assert resp.status == 200
        assert await resp.json() == {"ok": True}
    assert "process_error blew up" in caplog.text
    assert "end_request blew up" in caplog.text
    assert "'faulty'" in caplog.text


async def test_exception_in_process_response_is_a_500(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    faulty = "def process_response(context):\n    raise RuntimeError('oops')\n"
    client = await plughost_client(plughost_project({"faulty": faulty, "endpoints": ENDPOINTS}))
    resp = await client.get("/ok")
    assert resp.status == 500
    assert await resp.json() == {"error": "Internal Server Error", "status": 500}


ENVELOPE = """
from aiohttp import web

import plughost


def process_error(context):
    error = context.error
    status = error.status if isinstance(error, plughost.HTTPError) else 500
    context.response = web.json_response({"problem": str(error)}, status=status)
"""


async def test_process_error_may_answer_itself(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"envelope": ENVELOPE, "endpoints": ENDPOINTS}))
    resp = await client.get("/fails")
    assert resp.status == 400
    assert await resp.json() == {"problem": "that will not do"}


# -- input: bodies, limits, missing arguments -------------------------------

INPUTS = """
import plughost


@plughost.route("/echo", method=["GET", "POST", "PUT"])
async def echo(**kwargs):
    kwargs.pop("request_headers")
    return kwargs


@plughost.route("/greet", method=["GET", "POST"])
def greet(name, greeting="hello"):
    return {"text": f"{greeting} {name}"}
"""


async def test_body_values_reach_the_callback(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"inputs": INPUTS}))
    resp = await client.post("/greet", json={"name": "ann", "greeting": "hi"})
    assert await resp.json() == {"text": "hi ann"}
    resp = await client.post("/greet", data={"name": "bob"})
    assert await resp.json() == {"text": "hello bob"}
    resp = await client.put("/echo", params={"q": "1"}, json={"n": 2, "nested": {"a": [1]}})
    assert await resp.json() == {"q": "1", "n": 2, "nested": {"a": [1]}}
    # A JSON body that is not an object arrives as `body`.
    resp = await client.post("/echo", json=[1, 2])
    assert await resp.json() == {"body": [1, 2]}


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_missing_required_argument_is_400_naming_it(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, method: str
) -> None:
    client = await plughost_client(plughost_project({"inputs": INPUTS}))
    resp = await client.request(method, "/greet", params={"greeting": "hi"})
    assert resp.status == 400
    assert await resp.json() == {"error": "missing required argument 'name'", "status": 400}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"name": ', "malformed JSON body"),
        (b"{'single': 'quotes'}", "malformed JSON body"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
    ids=["truncated", "not-json", "deeply-nested"],
)
async def test_malformed_json_is_400(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, body: bytes, reason: str
) -> None:
    client = await plughost_client(plughost_project({"inputs": INPUTS}))
    resp = await client.post("/greet", data=body, headers={"Content-Type": "application/json"})
    assert resp.status == 400
    payload = await resp.json()
    assert payload["status"] == 400
    assert reason in payload["error"]


@pytest.mark.parametrize("kind", ["json", "form"])
async def test_oversized_body_is_400(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, kind: str
) -> None:
    project = plughost_project({"inputs": INPUTS}, config="[server]\nclient_max_size = 1000")
    client = await plughost_client(project)
    small = {"name": "x" * 100}
    large = {"name": "x" * 5000}
    if kind == "json":
        assert (await client.post("/greet", json=small)).status == 200
        resp = await client.post("/greet", json=large)
    else:
        assert (await client.post("/greet", data=small)).status == 200
        resp = await client.post("/greet", data=large)
    assert resp.status == 400
    payload = await resp.json()
    assert "request body too large" in payload["error"]


# -- Flask-Micron's access-control example, as a module and as an object ---

LOCAL_ONLY_MODULE = """
import plughost

LOCAL = {local}


def check_access(context):
    if context.request.remote not in LOCAL:
        raise plughost.AccessDenied("local clients only")
"""

LOCAL_ONLY_OBJECT = """
import plughost


class LocalOnly:
    def __init__(self, local):
        self.local = set(local)

    def check_access(self, context):
        if context.request.remote not in self.local:
            raise plughost.AccessDenied("local clients only")


def setup(host):
    host.add_hooks(LocalOnly(host.params.get("local", ["127.0.0.1", "::1"])))
"""

GUARDED = """
import plughost


@plughost.route("/guarded")
def guarded():
    open({marker!r}, "a").close()
    return {{"ran": True}}
"""


@pytest.mark.parametrize("form", ["module", "object"])
async def test_access_control_example(
    plughost_project: ProjectFactory,
    plughost_client: ClientFactory,
    tmp_path: Path,
    form: str,
) -> None:
    marker = tmp_path / "endpoint-ran"
    endpoint = GUARDED.format(marker=str(marker))
    if form == "module":
        allowing = LOCAL_ONLY_MODULE.format(local='{"127.0.0.1", "::1"}')
        denying = LOCAL_ONLY_MODULE.format(local='{"192.0.2.1"}')
        params_allow: dict[str, dict[str, object]] = {}
        params_deny: dict[str, dict[str, object]] = {}
    else:
        allowing = denying = LOCAL_ONLY_OBJECT
        params_allow = {}
        params_deny = {"local_only": {"local": ["192.0.2.1"]}}

    client = await plughost_client(
        plughost_project({"local_only": allowing, "guarded": endpoint}, params=params_allow)
    )
    resp = await client.get("/guarded")
    assert resp.status == 200
    assert await resp.json() == {"ran": True}
    marker.unlink()

    # The same plugin, where this client is not "local": refused before the
    # endpoint runs.
    other = plughost_project(
        {"local_only": denying, "guarded": endpoint},
        params=params_deny,
        root=tmp_path / "denying",
    )
    client = await plughost_client(other)
    resp = await client.get("/guarded")
    assert resp.status == 403
    assert await resp.json() == {"error": "local clients only", "status": 403}
    assert not marker.exists()


async def test_route_skip_applies_to_hook_plugins(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    denier = """
import plughost


def check_access(context):
    raise plughost.AccessDenied("closed")
"""
    endpoints = """
import plughost


@plughost.route("/closed")
async def closed():
    return "never"


@plughost.route("/open", skip=["denier"])
async def open_():
    return "open"
"""
    client = await plughost_client(plughost_project({"denier": denier, "endpoints": endpoints}))
    assert (await client.get("/closed")).status == 403
    resp = await client.get("/open")
    assert resp.status == 200
    assert await resp.text() == "open"


async def test_hooks_registered_at_runtime_apply_to_compiled_routes(
    plughost_project: ProjectFactory, plughost_client: ClientFactory
) -> None:
    client = await plughost_client(plughost_project({"endpoints": ENDPOINTS}))
    assert (await client.get("/ok")).status == 200

    class Closed:
        def check_access(self, context: object) -> None:
            from plughost import AccessDenied

            raise AccessDenied("closed for now")

    host_of(client).add_hooks(Closed())
    resp = await client.get("/ok")
    assert resp.status == 403
    assert await resp.json() == {"error": "closed for now", "status": 403}


RECOVER = """
import plughost


def process_error(context):
    if isinstance(context.error, KeyError):
        # Handled: no error any more, and an output to answer with.
        context.error = None
        context.output = {"recovered": True}
    elif isinstance(context.error, LookupError):
        context.error = plughost.NotFound("mapped from LookupError")
"""

RECOVERABLE = """
import plughost


@plughost.route("/key")
async def key():
    raise KeyError("k")


@plughost.route("/lookup")
async def lookup():
    raise LookupError("l")
"""


@pytest.mark.parametrize("debug", [False, True])
async def test_process_error_may_handle_or_replace_the_error(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, debug: bool
) -> None:
    project = plughost_project(
        {"recover": RECOVER, "endpoints": RECOVERABLE},
        config=f"[server]\ndebug = {'true' if debug else 'false'}",
    )
    client = await plughost_client(project)
    resp = await client.get("/key")
    assert resp.status == 200
    assert await resp.json() == {"recovered": True}
    resp = await client.get("/lookup")
    assert resp.status == 404
    assert await resp.json() == {"error": "mapped from LookupError", "status": 404}


# def hooks, one per stage: what they return is ignored unless it is awaitable (an async
# hook behind a plain decorator), and then it is awaited before the next stage runs.
RETURNING_HOOKS = """
import functools

LOG = {log!r}


def record(event):
    with open(LOG, "a") as log:
        log.write(event + "\\n")


def looks_sync(function):
    @functools.wraps(function)
    def wrapper(context):
        return function(context)

    return wrapper


def start_request(context):
    record("start_request")
    return "not awaitable"


@looks_sync
async def check_access(context):
    record("check_access, awaited")


def process_output(context):
    record("process_output")
    return {{"not": "the output"}}


@looks_sync
async def process_response(context):
    context.response.headers["X-Awaited"] = "yes"


@looks_sync
async def end_request(context):
    record("end_request, awaited")
"""


async def test_def_hooks_results_are_awaited_only_when_awaitable(
    plughost_project: ProjectFactory, plughost_client: ClientFactory, tmp_path: Path
) -> None:
    log = tmp_path / "events.log"
    project = plughost_project(
        {"returning": RETURNING_HOOKS.format(log=str(log)), "endpoints": ENDPOINTS}
    )
    client = await plughost_client(project)
    resp = await client.get("/ok")
    assert resp.status == 200
    assert await resp.json() == {"ok": True}
    assert resp.headers["X-Awaited"] == "yes"
    assert _events(log) == [
        "start_request",
        "check_access, awaited",
        "process_output",
        "end_request, awaited",
    ]
