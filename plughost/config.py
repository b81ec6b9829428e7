"""Read and validate ``plughost.toml`` into frozen, typed objects.

Reading uses the standard library's ``tomllib``; every error names the file,
line and column (see :mod:`plughost.cli.configfile` for writing).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, NoReturn, cast

from .discovery import is_plugin_name
from .errors import ConfigError, did_you_mean

__all__ = [
    "AUTH_TYPES",
    "AuthConfig",
    "AuthType",
    "STATUS_ACCESS",
    "StatusAccess",
    "SOURCE_CHOICES",
    "SourceChoice",
    "Config",
    "CorsConfig",
    "PluginConfig",
    "ServerConfig",
    "TasksConfig",
    "load_config",
    "locate",
    "parse_config",
]

AuthType = Literal["global", "plugin", "none"]
AUTH_TYPES: Final = ("global", "plugin", "none")
StatusAccess = Literal["loopback", "key", "off"]
STATUS_ACCESS: Final = ("loopback", "key", "off")
#: ``[plugins.NAME] source``: where a name provided twice is loaded from
SourceChoice = Literal["package", "folder"]
SOURCE_CHOICES: Final = ("package", "folder")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """The ``[server]`` table."""

    host: str = "127.0.0.1"
    port: int = 8080
    plugins_dir: str = "plugins"
    debug: bool = False
    access_log: bool = True
    #: seconds an idle keep-alive connection stays open
    keepalive_timeout: float = 75.0
    #: largest request body accepted, in bytes
    client_max_size: int = 1024**2
    #: seconds an old plugin version may keep serving after a reload
    drain_timeout: float = 10.0
    #: seconds running background tasks get at shutdown before cancellation
    task_grace: float = 5.0
    #: worker processes (``plughost run --workers``); 1 serves in the ``plughost`` process
    workers: int = 1
    #: proxies (addresses or CIDR blocks) whose ``X-Forwarded-For`` names the client
    trusted_proxies: tuple[str, ...] = ()
    #: seconds a client has to send a request's whole body, from when its headers arrived
    body_timeout: float = 30.0
    #: seconds the whole stop may take: requests finishing, tasks, plugins' close()
    shutdown_timeout: float = 10.0
    #: who may read ``/_plughost/status``: ``loopback`` (or the key), ``key``, or ``off``
    status: StatusAccess = "loopback"
    #: run every sync endpoint in a worker thread, never on the event loop
    sync_to_thread: bool = False


@dataclass(frozen=True, slots=True)
class TasksConfig:
    """The ``[tasks]`` table: where background task results are kept, and for how long."""

    #: ``auto`` (memory for one process, SQLite for workers), ``memory``, ``sqlite``,
    #: or a Redis URL (``redis://HOST:PORT/DB``)
    store: str = "auto"
    #: finished tasks kept per plugin
    max_results: int = 100
    #: seconds a task's state and result are kept after its last change
    ttl: float = 86400.0


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """The ``[auth]`` table."""

    apikey: str | None = None
    apikey_env: str | None = None
    allow_query_key: bool = False

    @property
    def key(self) -> str | None:
        """The global API key, read from the environment when ``apikey_env`` is set."""
        return _resolve_key(self.apikey, self.apikey_env)


@dataclass(frozen=True, slots=True)
class CorsConfig:
    """The ``[cors]`` table: an allow-list of origins."""

    enabled: bool = False
    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")
    allow_headers: tuple[str, ...] = ("Authorization", "Content-Type", "X-API-Key")
    allow_credentials: bool = False
    max_age: int = 600


@dataclass(frozen=True, slots=True)
class PluginConfig:
    """One ``[plugins.NAME]`` table."""

    name: str
    enabled: bool = False
    route_path: str | None = None
    auth_type: AuthType = "none"
    apikey: str | None = None
    apikey_env: str | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    #: the plugins folder or an installed package, when both provide the name
    source: SourceChoice | None = None

    @property
    def key(self) -> str | None:
        """The plugin's own API key (``auth_type = "plugin"``)."""
        return _resolve_key(self.apikey, self.apikey_env)


@dataclass(frozen=True, slots=True)
class Config:
    """A whole, validated ``plughost.toml``."""

    path: Path
    server: ServerConfig = ServerConfig()
    auth: AuthConfig = AuthConfig()
    cors: CorsConfig = CorsConfig()
    tasks: TasksConfig = TasksConfig()
    #: in file order, which is plugin load order
    plugins: tuple[PluginConfig, ...] = ()
    _by_name: Mapping[str, PluginConfig] = field(init=False, repr=False, compare=False)
    _plugins_dir: Path = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Looked up once per plugin loaded: a search by name made starting n plugins cost n².
        object.__setattr__(self, "_by_name", {p.name: p for p in reversed(self.plugins)})
        object.__setattr__(self, "_plugins_dir", self.path.parent / self.server.plugins_dir)

    @property
    def root(self) -> Path:
        """The project folder: the one holding the config file."""
        return self.path.parent

    @property
    def plugins_dir(self) -> Path:
        return self._plugins_dir

    def plugin(self, name: str) -> PluginConfig | None:
        return self._by_name.get(name)

    @property
    def enabled(self) -> tuple[PluginConfig, ...]:
        return tuple(p for p in self.plugins if p.enabled)


def _resolve_key(apikey: str | None, apikey_env: str | None) -> str | None:
    if apikey_env:
        return os.environ.get(apikey_env) or None
    return apikey or None


# key -> (accepted types, description); lists are validated element-wise as strings.
_SERVER_KEYS: Final[dict[str, tuple[type | tuple[type, ...], str]]] = {
    "host": (str, "a string"),
    "port": (int, "an integer"),
    "plugins_dir": (str, "a string"),
    "debug": (bool, "a boolean"),
    "access_log": (bool, "a boolean"),
    "keepalive_timeout": ((int, float), "a number"),
    "client_max_size": (int, "an integer"),
    "drain_timeout": ((int, float), "a number"),
    "task_grace": ((int, float), "a number"),
    "workers": (int, "an integer"),
    "trusted_proxies": (list, "a list of addresses or networks"),
    "body_timeout": ((int, float), "a number"),
    "shutdown_timeout": ((int, float), "a number"),
    "status": (str, 'one of "loopback", "key", "off"'),
    "sync_to_thread": (bool, "a boolean"),
}
_TASKS_KEYS: Final[dict[str, tuple[type | tuple[type, ...], str]]] = {
    "store": (str, 'a string: "auto", "memory", "sqlite" or "redis://HOST:PORT/DB"'),
    "max_results": (int, "an integer"),
    "ttl": ((int, float), "a number"),
}
_STORES: Final = ("auto", "memory", "sqlite")
_REDIS_SCHEMES: Final = ("redis://", "rediss://", "unix://")
_AUTH_KEYS: Final[dict[str, tuple[type | tuple[type, ...], str]]] = {
    "apikey": (str, "a string"),
    "apikey_env": (str, "a string"),
    "allow_query_key": (bool, "a boolean"),
}
_CORS_KEYS: Final[dict[str, tuple[type | tuple[type, ...], str]]] = {
    "enabled": (bool, "a boolean"),
    "allow_origins": (list, "a list of strings"),
    "allow_methods": (list, "a list of strings"),
    "allow_headers": (list, "a list of strings"),
    "allow_credentials": (bool, "a boolean"),
    "max_age": (int, "an integer"),
}
_PLUGIN_KEYS: Final[dict[str, tuple[type | tuple[type, ...], str]]] = {
    "enabled": (bool, "a boolean"),
    "route_path": (str, "a string"),
    "auth_type": (str, 'one of "global", "plugin", "none"'),
    "apikey": (str, "a string"),
    "apikey_env": (str, "a string"),
    "params": (dict, "a table"),
    "source": (str, 'one of "package", "folder"'),
}
_SECTIONS: Final = ("server", "auth", "cors", "tasks", "plugins")
# Patterns are kept as text, which ``re`` compiles (and caches) on first use: reading
# a valid config, as every CLI command does, compiles only those its keys need.
_ROUTE_PATH: Final = r"/?[A-Za-z0-9._~\-]+(/[A-Za-z0-9._~\-]+)*/?"
_TOML_POSITION: Final = r"\(at line (\d+), column (\d+)\)"
_ORIGIN: Final = r"[a-z][a-z0-9+.-]*://[^/?#\s]+"


def load_config(path: Path | str) -> Config:
    """Read and validate the config file at ``path``.

    Raises:
        ConfigError: the file is missing, is not valid TOML, or does not validate;
            the message starts with ``file:line:col``.
    """
    path = Path(path).absolute()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{str(path)!r} not found",
            hint="create a project with `plughost init`, or point --config at one",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {str(path)!r}: {error}") from None
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> Config:
    """Validate TOML ``text`` as the contents of ``path``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = re.search(_TOML_POSITION, message)
        line = col = None
        if match:
            line, col = int(match.group(1)), int(match.group(2))
            message = message[: match.start()].strip()
        raise ConfigError(f"invalid TOML: {message}", path=path, line=line, col=col) from None
    return _Validator(text, path).config(data)


class _Validator:
    def __init__(self, text: str, path: Path) -> None:
        self.text = text
        self.path = path

    def fail(
        self, table: tuple[str, ...], key: str | None, message: str, hint: str | None = None
    ) -> NoReturn:
        line, col = locate(self.text, table, key)
        raise ConfigError(message, path=self.path, line=line, col=col, hint=hint)

    def config(self, data: dict[str, Any]) -> Config:
        for section in data:
            if section not in _SECTIONS:
                self._unknown((), section, _SECTIONS)
        server_values = self.table(data, ("server",), _SERVER_KEYS)
        if "trusted_proxies" in server_values:
            server_values["trusted_proxies"] = self.networks(server_values["trusted_proxies"])
        server = ServerConfig(**server_values)
        auth = AuthConfig(**self.table(data, ("auth",), _AUTH_KEYS))
        cors_values = self.table(data, ("cors",), _CORS_KEYS)
        for key in ("allow_origins", "allow_methods", "allow_headers"):
            if key in cors_values:
                cors_values[key] = tuple(cors_values[key])
        if "allow_methods" in cors_values:
            cors_values["allow_methods"] = tuple(m.upper() for m in cors_values["allow_methods"])
        cors = CorsConfig(**cors_values)
        if cors.allow_credentials and "*" in cors.allow_origins:
            self.fail(
                ("cors",),
                "allow_origins",
                'cors.allow_origins: "*" cannot be used with allow_credentials = true',
                hint="list each origin that may send credentials",
            )
        for origin in cors.allow_origins:
            if origin != "*" and not re.fullmatch(_ORIGIN, origin):
                self.fail(
                    ("cors",),
                    "allow_origins",
                    f"cors.allow_origins: {origin!r} is not an origin",
                    hint='write scheme://host[:port], e.g. "https://app.example.com"',
                )
        if not isinstance(server.port, bool) and not 0 <= server.port <= 65535:
            self.fail(("server",), "port", f"server.port: {server.port} is not a port number")
        if server.workers < 1:
            self.fail(("server",), "workers", "server.workers: expected at least 1")
        for key in ("body_timeout", "shutdown_timeout"):
            if getattr(server, key) <= 0:
                self.fail(("server",), key, f"server.{key}: expected a number of seconds above 0")
        if server.status not in STATUS_ACCESS:
            self.fail(
                ("server",),
                "status",
                f"server.status: expected one of "
                f"{', '.join(repr(s) for s in STATUS_ACCESS)}, got {server.status!r}",
            )
        plugins_table = data.get("plugins", {})
        if not isinstance(plugins_table, dict):
            self.fail((), "plugins", "plugins: expected a table of [plugins.NAME] sections")
        plugins = tuple(
            self.plugin(name, value) for name, value in cast(dict[str, Any], plugins_table).items()
        )
        tasks = self.tasks(data)
        return Config(
            path=self.path, server=server, auth=auth, cors=cors, tasks=tasks, plugins=plugins
        )

    def tasks(self, data: dict[str, Any]) -> TasksConfig:
        tasks = TasksConfig(**self.table(data, ("tasks",), _TASKS_KEYS))
        if tasks.store not in _STORES and not tasks.store.startswith(_REDIS_SCHEMES):
            self.fail(
                ("tasks",),
                "store",
                f"tasks.store: {tasks.store!r} is not a task store",
                hint='use "auto", "memory", "sqlite" or a Redis URL like "redis://127.0.0.1:6379/0"',
            )
        if tasks.max_results < 1:
            self.fail(("tasks",), "max_results", "tasks.max_results: expected at least 1")
        if tasks.ttl <= 0:
            self.fail(("tasks",), "ttl", "tasks.ttl: expected a number of seconds above 0")
        return tasks

    def networks(self, entries: list[str]) -> tuple[str, ...]:
        import ipaddress  # only a config that names trusted proxies pays for it

        for entry in entries:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                self.fail(
                    ("server",),
                    "trusted_proxies",
                    f"server.trusted_proxies: {entry!r} is not an IP address or network",
                    hint='write addresses or CIDR blocks, e.g. ["127.0.0.1", "10.0.0.0/8"]',
                )
        return tuple(entries)

    def plugin(self, name: str, value: object) -> PluginConfig:
        where = ("plugins", name)
        if not is_plugin_name(name):
            self.fail(
                where,
                None,
                f"plugins.{name}: {name!r} is not a plugin name",
                hint="a plugin name is a Python identifier, not a keyword, "
                "that does not start with '_'",
            )
        if not isinstance(value, dict):
            self.fail(("plugins",), name, f"plugins.{name}: expected a table")
        values = self.table({name: value}, where, _PLUGIN_KEYS, data_key=name)
        auth_type = values.get("auth_type", "none")
        if auth_type not in AUTH_TYPES:
            self.fail(
                where,
                "auth_type",
                f"plugins.{name}.auth_type: expected one of "
                f"{', '.join(repr(t) for t in AUTH_TYPES)}, got {auth_type!r}",
            )
        source = values.get("source")
        if source is not None and source not in SOURCE_CHOICES:
            self.fail(
                where,
                "source",
                f'plugins.{name}.source: expected "package" or "folder", got {source!r}',
                hint='"package": the installed distribution that declares the plugin; '
                '"folder": the plugins folder',
            )
        route_path = values.get("route_path")
        if route_path is not None and not re.fullmatch(_ROUTE_PATH, route_path):
            self.fail(
                where,
                "route_path",
                f"plugins.{name}.route_path: {route_path!r} is not a plain URL path",
                hint='use letters, digits and - _ . ~ /, e.g. "api/notes"',
            )
        values["params"] = MappingProxyType(dict(values.get("params", {})))
        return PluginConfig(name=name, **values)

    def table(
        self,
        data: Mapping[str, Any],
        where: tuple[str, ...],
        schema: Mapping[str, tuple[type | tuple[type, ...], str]],
        data_key: str | None = None,
    ) -> dict[str, Any]:
        value = data.get(data_key or where[-1], {})
        dotted = ".".join(where)
        if not isinstance(value, dict):
            self.fail((), dotted, f"{dotted}: expected a table, got {_describe(value)}")
        result: dict[str, Any] = {}
        for key, item in value.items():
            if key not in schema:
                self._unknown(where, key, tuple(schema))
            kinds, expected = schema[key]
            wrong_bool = isinstance(item, bool) and bool not in _as_tuple(kinds)
            ok = isinstance(item, kinds) and not wrong_bool
            if ok and isinstance(item, list):
                ok = all(isinstance(element, str) for element in item)
            if not ok:
                self.fail(where, key, f"{dotted}.{key}: expected {expected}, got {_describe(item)}")
            result[key] = item
        return result

    def _unknown(self, where: tuple[str, ...], key: str, known: tuple[str, ...]) -> NoReturn:
        dotted = ".".join((*where, key))
        hint = did_you_mean(key, known, f"known keys: {', '.join(known)}")
        self.fail(where, key, f"unknown key {dotted!r}", hint=hint)


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


_HEADER: Final = r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$"
_KEY: Final = r"^(\s*)([A-Za-z0-9_\-\"'.]+)\s*="


def locate(text: str, table: tuple[str, ...], key: str | None) -> tuple[int | None, int | None]:
    """Find the 1-based line and column of ``key`` in ``[table]`` in TOML ``text``.

    tomllib reports positions only for syntax errors; this finds them for the
    validation errors. Returns the table header when the key is not found, and
    ``(None, None)`` when neither is.
    """
    current: tuple[str, ...] = ()
    header_line: int | None = None
    target = table
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(_HEADER, line)
        if header:
            current = tuple(_unquote(part) for part in header.group(1).split("."))
            if current == target and key is None:
                return number, line.index("[") + 1
            # ``[table.key]`` or ``[table.key.sub]``: the key is a table of its own.
            if key is not None and current[: len(target) + 1] == (*target, key):
                return number, line.index("[") + 1
            if current == target:
                header_line = number
            continue
        match = re.match(_KEY, line)
        if match and key is not None:
            parts = tuple(_unquote(part) for part in match.group(2).split("."))
            full = current + parts
            if full == (*target, key) or full[: len(target) + 1] == (*target, key):
                return number, len(match.group(1)) + 1
    if header_line is not None:
        return header_line, 1
    return None, None


def _unquote(part: str) -> str:
    part = part.strip()
    if len(part) >= 2 and part[0] == part[-1] and part[0] in "\"'":
        return part[1:-1]
    return part
