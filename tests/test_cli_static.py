"""What ``plugins list`` reads from a plugin's source without importing it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from plughost._static import analyse


def source(tmp_path: Path, text: str, name: str = "plugin.py") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_endpoint_class_route_path_and_its_override(tmp_path: Path) -> None:
    path = source(
        tmp_path,
        """
        import plughost

        class Blog(plughost.BasePlugin):
            route_path = "/blog"

        class Shop(plughost.BasePlugin):
            pass
        """,
    )
    info = analyse(path)
    assert info.kind == "endpoint"
    assert info.routes == (
        ("GET", "/blog"),
        ("POST", "/blog"),
        ("GET", "/shop"),
        ("POST", "/shop"),
    )
    assert analyse(path, route_path="news").routes[0] == ("GET", "/news")


def test_routes_declared_by_decorators_and_in_setup(tmp_path: Path) -> None:
    path = source(
        tmp_path,
        """
        from plughost import route

        @route("/a")
        def a(): ...

        @route(rule="/b", method=("put", "DELETE"))
        async def b(): ...

        def setup(host):
            @host.route("/c", "POST")
            def c(): ...

            if True:
                host.add_route("/d", c, ["GET", "HEAD"])
        """,
    )
    info = analyse(path)
    assert info.kind == "endpoint"
    assert info.routes == (
        ("GET", "/a"),
        ("PUT", "/b"),
        ("DELETE", "/b"),
        ("POST", "/c"),
        ("GET", "/d"),
        ("HEAD", "/d"),
    )


def test_hooks_and_wrappers(tmp_path: Path) -> None:
    hooks = source(tmp_path, "def start_request(ctx): ...\nasync def end_request(ctx): ...\n")
    assert analyse(hooks).kind == "hooks"
    assert analyse(hooks).hooks == ("start_request", "end_request")
    added = source(tmp_path, "def setup(host):\n    host.add_hooks(object())\n", "added.py")
    assert analyse(added).kind == "hooks"
    wrapper = source(
        tmp_path,
        """
        class Timing:
            name = "timing"
            def apply(self, callback, route):
                return callback

        def setup(host):
            try:
                host.install(Timing())
            finally:
                pass
        """,
        "wrapper.py",
    )
    assert (analyse(wrapper).kind, analyse(wrapper).wrappers) == ("wrapper", ("timing",))


def test_mixed_and_unknown(tmp_path: Path) -> None:
    mixed = source(
        tmp_path,
        """
        from plughost import BasePlugin

        class Blog(BasePlugin): ...

        def process_response(ctx): ...
        """,
    )
    assert analyse(mixed).kind == "mixed"
    assert analyse(source(tmp_path, "X = 1\n", "empty.py")).kind is None


def test_hook_names_in_strings_or_nested_do_not_count(tmp_path: Path) -> None:
    path = source(
        tmp_path,
        '''
        """Mentions start_request and install( in prose."""

        class Helper:
            def start_request(self, ctx): ...
        ''',
    )
    assert analyse(path).kind is None


@pytest.mark.parametrize("text", ["def broken(:\n", "\x00"])
def test_unreadable_source(tmp_path: Path, text: str) -> None:
    path = source(tmp_path, text)
    info = analyse(path)
    assert info.kind is None
    assert info.error is not None and info.error.startswith(str(path))
