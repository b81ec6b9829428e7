"""plughost's exceptions.

Two trees. The first is for people running plughost: a bad config, a plugin
that will not load. Each class carries the CLI exit code it maps to::

    PlughostError                exit 1 (a user error; click's UsageError is exit 2)
    ├── ConfigError                       path, line, col
    │   └── ParamsError                   plugin, key, expected
    ├── PluginNameError                   refused before anything is written
    └── PluginError                       plugin, path, line
        ├── PluginImportError             SyntaxError / ImportError / raise at import
        ├── PluginSetupError              setup() raised
        ├── RouteConflictError            two plugins claim one method + path
        ├── NotAWrapperError              install() of something no wrapper (also a TypeError)
        └── PluginSourceConflictError     two places provide one plugin name

The second is for plugin code answering a request::

    HTTPError(status, message)
    ├── BadRequest        400
    ├── Unauthorized      401
    ├── AccessDenied      403
    └── NotFound          404
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

__all__ = [
    "AccessDenied",
    "BadRequest",
    "ConfigError",
    "HTTPError",
    "NotAWrapperError",
    "NotFound",
    "ParamsError",
    "PluginError",
    "PluginImportError",
    "PluginNameError",
    "PluginSourceConflictError",
    "PluginSetupError",
    "PlughostError",
    "RouteConflictError",
    "Unauthorized",
]


class PlughostError(Exception):
    """Base of every error plughost reports to a person."""

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ConfigError(PlughostError):
    """plughost.toml is missing, does not parse, or does not validate."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        col: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.col = col
        where = _where(self.path, line, col)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.reason = message


class ParamsError(ConfigError):
    """A plugin's params do not match what the plugin declares."""

    def __init__(
        self,
        message: str,
        *,
        plugin: str,
        key: str | None = None,
        expected: str | None = None,
        path: Path | str | None = None,
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        self.plugin = plugin
        self.key = key
        self.expected = expected
        super().__init__(message, path=path, line=line, col=col)


class PluginNameError(PlughostError):
    """A name that cannot be a plugin's; nothing has been written."""


class PluginError(PlughostError):
    """A plugin failed to load, set up or register."""

    def __init__(
        self,
        message: str,
        *,
        plugin: str | None = None,
        path: Path | str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.plugin = plugin
        self.path = Path(path) if path is not None else None
        self.line = line
        where = _where(self.path, line, None)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.reason = message


class PluginImportError(PluginError):
    """The plugin's code raised while being imported (SyntaxError included)."""


class PluginSetupError(PluginError):
    """The plugin's setup() raised."""


class RouteConflictError(PluginError):
    """Two plugins claim the same method and rule."""


class NotAWrapperError(PluginError, TypeError):
    """``install()`` was given something that is neither callable nor has ``apply``.

    A TypeError too, as Bottle raises for the same mistake.
    """


def _where(path: Path | None, line: int | None, col: int | None) -> str:
    if path is None:
        return ""
    parts = [str(path)]
    if line is not None:
        parts.append(str(line))
        if col is not None:
            parts.append(str(col))
    return ":".join(parts)


class PluginSourceConflictError(PluginError):
    """One plugin name is provided by the plugins folder and a package, or by two packages."""

    def __init__(self, message: str, *, plugin: str, sources: tuple[str, ...], hint: str) -> None:
        super().__init__(message, plugin=plugin, hint=hint)
        #: each place that provides the name, as shown in the message
        self.sources = sources


class HTTPError(Exception):
    """Raise from plugin code to answer with ``status`` and a JSON error body."""

    status: int = 500

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _NamedHTTPError(HTTPError):
    default_status: ClassVar[int] = 500

    def __init__(self, message: str = "") -> None:
        super().__init__(self.default_status, message or type(self).__name__)


class BadRequest(_NamedHTTPError):
    """400: the request's input is malformed or incomplete."""

    default_status = 400


class Unauthorized(_NamedHTTPError):
    """401: no valid credentials were given."""

    default_status = 401


class AccessDenied(_NamedHTTPError):
    """403: the client may not use this route."""

    default_status = 403


class NotFound(_NamedHTTPError):
    """404: nothing here."""

    default_status = 404


def did_you_mean(word: str, known: Iterable[str], otherwise: str | None = None) -> str | None:
    """A hint naming the known word nearest to ``word``, or ``otherwise`` when none is near.

    >>> did_you_mean("prot", ["port", "host"])
    "did you mean 'port'?"
    """
    import difflib

    close = difflib.get_close_matches(word, list(known), n=1)
    return f"did you mean {close[0]!r}?" if close else otherwise
