"""What ``plugins list`` reads from a plugin's source without importing it."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from plughost.cli import sourcecache as _sourcecache
from plughost.cli import static as _static
from plughost.cli.sourcecache import analyse_cached
from plughost.cli.static import analyse


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
    micron = source(tmp_path, "def validate_input(ctx): ...\n", "micron.py")
    assert (analyse(micron).kind, analyse(micron).hooks) == ("hooks", ("validate_input",))
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


# -- the cache under plugins/__pycache__ --------------------------------------------


def fail_if_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    def parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed although the cache is fresh")

    monkeypatch.setattr(_static, "analyse", parse)


@pytest.mark.usefixtures("writes_bytecode")
def test_fresh_entries_come_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = source(tmp_path, "def start_request(ctx): ...\n")
    first = analyse_cached(tmp_path, [(path, None)])
    assert (tmp_path / "__pycache__" / _sourcecache.CACHE_NAME).is_file()
    fail_if_parsed(monkeypatch)
    assert analyse_cached(tmp_path, [(path, None)]) == first


@pytest.mark.usefixtures("writes_bytecode")
def test_an_edit_or_a_new_route_path_is_read_again(tmp_path: Path) -> None:
    path = source(tmp_path, "from plughost import BasePlugin\nclass A(BasePlugin): ...\n")
    assert analyse_cached(tmp_path, [(path, None)])[0].routes[0] == ("GET", "/a")
    assert analyse_cached(tmp_path, [(path, "b")])[0].routes[0] == ("GET", "/b")
    path.write_text("def end_request(ctx): ...\n")
    os.utime(path, ns=(1, 1))
    assert analyse_cached(tmp_path, [(path, "b")])[0].kind == "hooks"


@pytest.mark.usefixtures("writes_bytecode")
def test_a_broken_cache_is_rebuilt(tmp_path: Path) -> None:
    path = source(tmp_path, "def end_request(ctx): ...\n")
    cache = tmp_path / "__pycache__" / _sourcecache.CACHE_NAME
    cache.parent.mkdir()
    cache.write_bytes(b"\x00garbage")
    assert analyse_cached(tmp_path, [(path, None)])[0].kind == "hooks"
    assert cache.read_bytes() != b"\x00garbage"


def test_no_cache_without_byte_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    path = source(tmp_path, "def end_request(ctx): ...\n")
    assert analyse_cached(tmp_path, [(path, None)])[0].kind == "hooks"
    assert not (tmp_path / "__pycache__").exists()
