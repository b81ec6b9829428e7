"""Read a plugincore (pluginserver 0.10.5) INI file as plughost.toml settings.

plugincore reads ``[network] bindto, port``, ``[paths] plugins``, ``[auth]
apikey``, ``[cors] enabled, origin_url``, ``[SSL]`` and ``[plugin_parms]``,
whose values are query strings (``route_path=x&auth_type=global&k=v``) or
``json=FILE`` (a JSON object in the plugins folder). Values may use
``${ENV:VAR}``, ``${section:key}`` and the ``int:``, ``float:``, ``bool:`` and
``list:`` prefixes. :func:`read_ini` turns that into the tables of a
plughost.toml, plus a note for everything that plughost does differently.
"""

from __future__ import annotations

import configparser
import json
import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs

from ..discovery import is_plugin_name
from ..errors import ConfigError
from .configfile import MISSING

__all__ = ["PLUGINCORE_CORS", "Change", "ImportedConfig", "read_ini", "write_imported"]

_ENV: Final = re.compile(r"\$\{ENV:([^}]+)\}")
_ONLY_ENV: Final = re.compile(r"\s*\$\{ENV:([^}]+)\}\s*")
_TYPED: Final = re.compile(r"^(bool|int|float|list):(.*)", re.DOTALL)
_TRUE: Final = frozenset({"true", "enabled", "on", "1", "enable"})
_ORIGIN: Final = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#\s]+")
#: what plugincore 0.10.5's CORS setup allows, whatever the INI says
PLUGINCORE_CORS: Final[Mapping[str, Any]] = {
    "allow_methods": ["GET", "POST", "PUT", "DELETE"],
    "allow_headers": ["Content-Type", "Authorization", "X-Requested-With", "Accept"],
    "allow_credentials": True,
    "max_age": 3600,
}
#: keyword arguments the host passes a BasePlugin itself; a param may not take their names
_HOST_KWARGS: Final = frozenset({"config", "params", "tasks", "log", "task_callback"})
_PLUGIN_KEYS: Final = ("route_path", "auth_type", "apikey")
_KNOWN_SECTIONS: Final = ("network", "paths", "auth", "cors", "SSL", "plugin_parms")


@dataclass
class ImportedConfig:
    """plughost.toml's tables, as read from a plugincore INI."""

    #: ``server``, ``auth`` and ``cors``: key -> value
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: plugin name -> its ``[plugins.NAME]`` keys; ``params`` holds its params table
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: what plughost does differently, or what was left out, one sentence each
    notes: list[str] = field(default_factory=list)
    #: a ``json=`` file's values were copied in: they may hold passwords
    copied_json: bool = False


class _Interpolation(configparser.ExtendedInterpolation):
    """plugincore's: ``${ENV:VAR}`` from the environment, then ``${section:key}``."""

    def before_get(
        self,
        parser: MutableMapping[str, Mapping[str, str]],
        section: str,
        option: str,
        value: str,
        defaults: Mapping[str, str],
    ) -> str:
        value = _ENV.sub(lambda match: os.environ.get(match.group(1), ""), value)
        return super().before_get(parser, section, option, value, defaults)


def _typed(value: str) -> Any:
    match = _TYPED.match(value)
    if not match:
        return value
    prefix, raw = match.group(1), match.group(2).strip()
    if prefix == "bool":
        return raw in _TRUE
    if prefix == "list":
        return [_typed(token) for token in raw.split()]
    try:
        return int(raw) if prefix == "int" else float(raw)
    except ValueError:
        return value


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value in _TRUE)


class _Reader:
    def __init__(self, path: Path, config_dir: Path) -> None:
        self.path = path
        self.config_dir = config_dir
        self.parser = configparser.ConfigParser(interpolation=_Interpolation())
        self.result = ImportedConfig()

    def fail(self, where: str, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(f"{self.path}: {where}: {message}", hint=hint)

    def note(self, message: str) -> None:
        self.result.notes.append(message)

    def get(self, section: str, key: str, *, secret: str | None = None) -> Any:
        """The value, interpolated and typed; ``secret`` is a raw value kept as ``apikey_env``."""
        try:
            value = self.parser.get(section, key)
        except configparser.Error as error:
            raise self.fail(f"[{section}] {key}", str(error).replace("\n", " ")) from None
        raw = self.parser.get(section, key, raw=True)
        if secret is not None and _ONLY_ENV.fullmatch(secret):
            raw = raw.replace(secret, "")
        for name in dict.fromkeys(_ENV.findall(raw)):
            self.note(
                f"[{section}] {key}: ${{ENV:{name}}} was read from this environment now; "
                "plughost.toml holds the value"
            )
        return _typed(value)

    def read(self) -> ImportedConfig:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"cannot read {str(self.path)!r}: {error}") from None
        try:
            self.parser.read_string(text, source=str(self.path))
        except configparser.Error as error:
            raise ConfigError(f"{self.path}: not an INI file plugincore reads: {error}") from None
        for section in self.parser.sections():
            if section not in _KNOWN_SECTIONS:
                self.note(
                    f"[{section}] is not read by plugincore's server or by plughost"
                    + (
                        f" (plugincore reads [{section.lower()}])"
                        if section.lower() in _KNOWN_SECTIONS
                        else ""
                    )
                )
        plugins_dir = self.network_and_paths()
        self.auth()
        self.cors()
        if self.parser.has_section("SSL"):
            self.note(
                "[SSL]: plughost serves plain HTTP; put it behind a proxy that terminates TLS"
            )
        self.plugins(plugins_dir)
        return self.result

    def network_and_paths(self) -> Path | None:
        server: dict[str, Any] = {}
        if self.parser.has_section("network"):
            for key in self.parser.options("network"):
                if key == "bindto":
                    server["host"] = str(self.get("network", key))
                elif key == "port":
                    value = self.get("network", key)
                    try:
                        server["port"] = int(value)
                    except ValueError:
                        raise self.fail(
                            "[network] port", f"{value!r} is not a port number"
                        ) from None
                else:
                    self.note(f"[network] {key} is not read by plugincore's server; left out")
        plugins_dir: Path | None = None
        if self.parser.has_section("paths"):
            for key in self.parser.options("paths"):
                if key == "plugins":
                    folder = Path(str(self.get("paths", key)))
                    if not folder.is_absolute():
                        self.note(
                            f"[paths] plugins: {str(folder)!r} is taken from the INI's folder "
                            "(plugincore took it from the folder pserve was started in)"
                        )
                    plugins_dir = (self.path.parent / folder).absolute()
                    server["plugins_dir"] = _relative(plugins_dir, self.config_dir)
                elif key == "pidfile":
                    self.note("[paths] pidfile: plughost writes no pid file; left out")
                elif key == "documents":
                    self.note(
                        "[paths] documents: plughost does not serve static files; "
                        "serve them from a route or a proxy"
                    )
                else:
                    self.note(
                        f"[paths] {key}: plugins read the plughost config, not the INI; "
                        f"give {key!r} to the plugins that use it as a param"
                    )
        if server:
            self.result.tables["server"] = server
        return plugins_dir

    def secret(self, raw_value: str) -> dict[str, str]:
        """``apikey``, or ``apikey_env`` when the INI took it from the environment."""
        only_env = _ONLY_ENV.fullmatch(raw_value)
        if only_env:
            return {"apikey_env": only_env.group(1)}
        value = _ENV.sub(lambda match: os.environ.get(match.group(1), ""), raw_value)
        return {"apikey": value} if value else {}

    def auth(self) -> None:
        if not self.parser.has_section("auth"):
            return
        auth: dict[str, Any] = {}
        for key in self.parser.options("auth"):
            if key == "apikey":
                raw = self.parser.get("auth", key, raw=True)
                self.get("auth", key, secret=raw)  # reports interpolation errors
                auth.update(self.secret(raw))
            else:
                self.note(f"[auth] {key} is not read by plugincore's server; left out")
        if auth:
            self.result.tables["auth"] = auth
            self.note(
                "plugincore also took the key from ?apikey= in the URL; plughost does not, "
                "unless [auth] allow_query_key = true"
            )

    def cors(self) -> None:
        if not self.parser.has_section("cors"):
            return
        options = self.parser.options("cors")
        cors: dict[str, Any] = {"enabled": False}
        if "enabled" in options:
            enabled = _truthy(self.get("cors", "enabled"))
            cors["enabled"] = enabled
            if not enabled:
                self.note(
                    "[cors] enabled is false: plugincore 0.10.5 turns CORS on whenever the "
                    "key is there, plughost.toml gets enabled = false"
                )
        origins: list[str] = []
        for key in options:
            if key == "origin_url":
                value = self.get("cors", key)
                items = value if isinstance(value, list) else str(value).split()
                for origin in (str(item).rstrip("/") for item in items):
                    if origin == "*" or _ORIGIN.fullmatch(origin):
                        origins.append(origin)
                    else:
                        self.note(f"[cors] origin_url: {origin!r} is not an origin; left out")
            elif key != "enabled":
                self.note(f"[cors] {key} is not read by plugincore's server; left out")
        cors["allow_origins"] = origins
        cors.update(PLUGINCORE_CORS)
        if "*" in origins:
            cors["allow_credentials"] = False
            self.note('[cors] origin_url "*": plughost sends no credentials to any origin')
        self.result.tables["cors"] = cors

    def plugins(self, plugins_dir: Path | None) -> None:
        on_disk: list[str] | None = None
        if plugins_dir is not None and plugins_dir.is_dir():
            on_disk = sorted(path.stem for path in plugins_dir.glob("*.py"))
        elif plugins_dir is not None:
            self.note(
                f"[paths] plugins: {str(plugins_dir)!r} is not a folder here; only the "
                "plugins named in [plugin_parms] were added"
            )
        names = (
            list(self.parser.options("plugin_parms"))
            if self.parser.has_section("plugin_parms")
            else []
        )
        for name in (*names, *(n for n in on_disk or () if n not in names)):
            if not is_plugin_name(name):
                self.note(f"{name!r} is not a plughost plugin name (a Python identifier); left out")
                continue
            section: dict[str, Any] = {"enabled": on_disk is None or name in on_disk}
            if not section["enabled"]:
                self.note(f"[plugin_parms] {name}: no {name}.py in the plugins folder; disabled")
            if name in names:
                section.update(self.plugin_parms(name, plugins_dir))
            self.result.plugins[name] = section

    def plugin_parms(self, name: str, plugins_dir: Path | None) -> dict[str, Any]:
        where = f"[plugin_parms] {name}"
        raw_line = self.parser.get("plugin_parms", name, raw=True)
        raw_values = {key: items[0] for key, items in parse_qs(raw_line).items()}
        line = str(self.get("plugin_parms", name, secret=raw_values.get("apikey")))
        values: dict[str, Any] = {key: items[0] for key, items in parse_qs(line).items()}
        json_file = values.pop("json", None)
        if json_file is not None:
            values.update(self.json_file(where, str(json_file), plugins_dir))
        section: dict[str, Any] = {}
        route_path = values.pop("route_path", None)
        if route_path is not None:
            section["route_path"] = str(route_path).strip("/")
        auth_type = values.pop("auth_type", None)
        if auth_type is not None:
            auth_type = str(auth_type).lower()
            if auth_type in ("global", "plugin"):
                section["auth_type"] = auth_type
            else:
                self.note(f"{where}: auth_type={auth_type!r} means no key in plugincore; left out")
        apikey = values.pop("apikey", None)
        if apikey is not None:
            raw_key = raw_values.get("apikey")
            section.update(self.secret(raw_key or str(apikey)))
        if "auth" in values:
            self.note(
                f"{where}: plugincore reads auth_type, not auth; 'auth' stays a param, "
                "and the plugin needs no key"
            )
        for key in _HOST_KWARGS.intersection(values):
            raise self.fail(where, f"{key!r} is a keyword plughost passes to every BasePlugin")
        for key in [key for key, value in values.items() if value is None]:
            del values[key]
            self.note(f"{where}: {key} is null; TOML has no null, so it was left out")
        if values:
            section["params"] = values
        return section

    def json_file(self, where: str, name: str, plugins_dir: Path | None) -> dict[str, Any]:
        """plugincore's ``json=FILE``: a JSON object in the plugins folder, as params."""
        base = plugins_dir if plugins_dir is not None else self.path.parent
        path = base / name
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise self.fail(
                where,
                f"json={name}: {str(path)!r} not found",
                "plugincore reads it from [paths] plugins",
            ) from None
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise self.fail(where, f"json={name}: cannot read {str(path)!r}: {error}") from None
        if not isinstance(data, dict):
            raise self.fail(where, f"json={name}: {str(path)!r} does not hold a JSON object")
        self.result.copied_json = True
        self.note(f"{where}: the values of {name} were copied into [plugins.{where.split()[-1]}]")
        return data


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder.absolute()).as_posix() or "."
    except ValueError:
        return str(path)


def read_ini(path: Path, config_dir: Path) -> ImportedConfig:
    """Read plugincore INI ``path`` as tables for a plughost.toml in ``config_dir``.

    Relative ``[paths]`` are taken from the INI's folder, and written relative
    to ``config_dir`` when they are inside it.

    Raises:
        ConfigError: the file cannot be read, is not INI, or a value cannot be
            carried over (a ``json=`` file missing, a port that is no number).
    """
    return _Reader(path.absolute(), config_dir).read()


# -- writing plughost.toml ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """One value set in plughost.toml: ``table`` like ``("plugins", "sessman", "params")``."""

    table: tuple[str, ...]
    key: str
    before: Any
    after: Any

    @property
    def where(self) -> str:
        return f"{'.'.join(self.table)}.{self.key}"


_Setting = tuple[tuple[str, ...], str, Any]


def _settings(imported: ImportedConfig) -> list[_Setting]:
    settings: list[_Setting] = [
        ((table,), key, value)
        for table, values in imported.tables.items()
        for key, value in values.items()
    ]
    for name, section in imported.plugins.items():
        for key, value in section.items():
            if key == "params":
                settings.extend((("plugins", name, "params"), k, v) for k, v in value.items())
            else:
                settings.append((("plugins", name), key, value))
    return settings


def write_imported(path: Path, imported: ImportedConfig, *, force: bool) -> list[Change]:
    """Write ``imported`` into plughost.toml at ``path``: a new file, or merged into one.

    A merge keeps the file's comments and every value the INI does not set.

    Returns:
        The values written (an empty list when the file already held them all).

    Raises:
        ConfigError: the file sets a value differently and ``force`` is false
            (nothing is written), or the result would not load.
    """
    from ..config import parse_config
    from .configfile import ConfigDocument, create_config, edit_config

    changes: list[Change] = []

    def apply(document: ConfigDocument) -> None:
        conflicts = []
        for table, key, value in _settings(imported):
            before = document.value(table, key)
            if before == value:
                continue
            change = Change(table, key, before, value)
            if before is not MISSING and not force:
                conflicts.append(change)
                continue
            document.set_value(table, key, value)
            changes.append(change)
        if conflicts:
            listed = "; ".join(
                f"{c.where} is {c.before!r}, the INI gives {c.after!r}" for c in conflicts
            )
            raise ConfigError(
                f"{document.path}: already sets {len(conflicts)} value"
                f"{'s' if len(conflicts) != 1 else ''} differently; nothing was written: {listed}",
                hint="use --force to replace them (comments are kept)",
            )

    if path.exists():
        with edit_config(path) as document:
            apply(document)
        return changes
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Imported from a plugincore INI file by `plughost import-config`.\n"
    document = ConfigDocument(path, header, parse_config(header, path))
    apply(document)
    create_config(path, document.render(), private=imported.copied_json)
    return changes
