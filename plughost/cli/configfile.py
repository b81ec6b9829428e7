"""Edit ``plughost.toml`` in place, without losing a byte a person wrote.

Reading for the runtime is :mod:`plughost.config`'s job; this module writes.
Every edit goes through :func:`edit_config`:

1. take an exclusive lock (``flock``) on the file, so two writers never
   interleave;
2. remove temporary files a killed writer left behind;
3. read the file and refuse to touch it unless it validates, naming
   file, line and column;
4. apply the changes with tomlkit, which keeps comments, blank lines and
   ordering, then validate the result;
5. write it atomically (temporary file in the same folder, fsync,
   ``os.replace``, fsync of the folder) with the original file mode, after
   checking that nobody changed the file on disk since step 3.

Example::

    set_enabled(Path("plughost.toml"), ["blog"], True)
    set_params(Path("plughost.toml"), "blog", {"limit": 20})
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import tomlkit
from tomlkit.container import Container
from tomlkit.items import AoT, Comment, InlineTable, Table

from ..config import Config, locate, parse_config
from ..errors import ConfigError, did_you_mean

__all__ = [
    "MISSING",
    "ConfigChangedError",
    "ConfigDocument",
    "Edit",
    "add_plugin_section",
    "create_config",
    "edit_config",
    "set_enabled",
    "set_params",
    "unset_params",
    "write_atomic",
]

#: seconds a writer waits for another writer's lock before giving up
LOCK_TIMEOUT: Final = 10.0
_LOCK_POLL: Final = 0.05


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: the value of a key that is not set
MISSING: Final = _Missing()


class ConfigChangedError(ConfigError):
    """The file changed on disk while it was being edited; nothing was written."""


@dataclass(frozen=True, slots=True)
class Edit:
    """One value changed in the config."""

    plugin: str
    #: ``"enabled"`` or ``"params.KEY"``
    key: str
    before: object
    after: object
    #: the ``[plugins.NAME]`` section did not exist and was added
    created: bool = False

    @property
    def changed(self) -> bool:
        return self.created or self.before != self.after


# -- the document ---------------------------------------------------------------------


class ConfigDocument:
    """A config file opened for editing: a tomlkit document plus new sections.

    New ``[plugins.NAME]`` sections are appended at the end of the file, so a
    new plugin loads last whatever else follows the existing plugin sections.
    """

    def __init__(self, path: Path, text: str, config: Config) -> None:
        self.path: Final = path
        self.text: Final = text
        #: the config as it was read
        self.config: Final = config
        self.document: Final = tomlkit.parse(text)
        self._appended: dict[str, tuple[bool, dict[str, Any]]] = {}
        #: ``source`` of the appended sections that set one
        self._appended_sources: dict[str, str] = {}
        #: keys of appended sections besides ``enabled`` and ``params`` (``route_path``...)
        self._appended_keys: dict[str, dict[str, Any]] = {}

    @property
    def plugin_names(self) -> tuple[str, ...]:
        return (*(p.name for p in self.config.plugins), *self._appended)

    def has_plugin(self, name: str) -> bool:
        return name in self.plugin_names

    def _plugin_table(self, name: str) -> Table | InlineTable | None:
        plugins = self.document.get("plugins")
        if not isinstance(plugins, Table | InlineTable):
            return None
        table = plugins.get(name)
        return table if isinstance(table, Table | InlineTable) else None

    def _editable_table(self, name: str) -> Table | InlineTable:
        """The plugin's table, when keys can be added to it in place."""
        table = self._plugin_table(name)
        plugins = self.document.get("plugins")
        dotted = isinstance(plugins, Table) and any(
            key is not None and key.key == name and key.is_dotted() for key, _ in plugins.value.body
        )
        if table is None or dotted:
            raise self._cannot_edit(name)
        return table

    def enabled(self, name: str) -> bool:
        if name in self._appended:
            return self._appended[name][0]
        table = self._plugin_table(name)
        return table is not None and table.get("enabled") is True

    def params(self, name: str) -> dict[str, Any]:
        if name in self._appended:
            return dict(self._appended[name][1])
        table = self._plugin_table(name)
        params = table.get("params") if table is not None else None
        if isinstance(params, Table | InlineTable):
            return dict(params.unwrap())
        return {}

    def add_plugin(
        self, name: str, *, enabled: bool, params: Mapping[str, Any] | None = None
    ) -> Edit:
        """Append a ``[plugins.NAME]`` section (and ``[plugins.NAME.params]``)."""
        if self.has_plugin(name):
            raise ConfigError(
                f"[plugins.{name}] already exists", path=self.path, hint="edit it instead"
            )
        self._appended[name] = (enabled, dict(params or {}))
        return Edit(name, "enabled", MISSING, enabled, created=True)

    def set_enabled(self, name: str, enabled: bool) -> Edit:
        """Set ``enabled``; adds the section when the plugin has none."""
        if not self.has_plugin(name):
            return self.add_plugin(name, enabled=enabled)
        before = self.enabled(name)
        if name in self._appended:
            self._appended[name] = (enabled, self._appended[name][1])
        elif self._has_key(name, "enabled"):
            if before != enabled:
                table = self._plugin_table(name)
                assert table is not None  # _has_key found it
                table["enabled"] = enabled
        else:
            _set_key(self._editable_table(name), "enabled", enabled)
        return Edit(name, "enabled", before, enabled)

    def set_source(self, name: str, source: str) -> Edit:
        """Set ``[plugins.NAME] source`` (``"package"`` or ``"folder"``); adds the section."""
        if not self.has_plugin(name):
            self.add_plugin(name, enabled=False)
        if name in self._appended:
            before = self._appended_sources.get(name, MISSING)
            self._appended_sources[name] = source
            return Edit(name, "source", before, source)
        table = self._editable_table(name)
        before = table.get("source", MISSING)
        if before != source:
            _set_key(table, "source", source)
        return Edit(name, "source", before, source)

    def set_param(self, name: str, key: str, value: Any) -> Edit:
        """Set ``[plugins.NAME.params] KEY``; adds the section or table when missing."""
        if not self.has_plugin(name):
            self.add_plugin(name, enabled=False)
        before = self.params(name).get(key, MISSING)
        if name in self._appended:
            self._appended[name][1][key] = value
            return Edit(name, f"params.{key}", before, value)
        table = self._plugin_table(name)
        params = table.get("params") if table is not None else None
        if not isinstance(params, Table | InlineTable):
            _add_params_table(self._editable_table(name), {key: value})
        elif key in params:
            params[key] = value
        elif _is_dotted_in(table, "params"):
            raise self._cannot_edit(name)
        else:
            _set_key(params, key, value)
        return Edit(name, f"params.{key}", before, value)

    def unset_param(self, name: str, key: str) -> Edit:
        """Remove ``[plugins.NAME.params] KEY``.

        Raises:
            ConfigError: the key is not set; the message suggests the nearest key.
        """
        current = self.params(name)
        if key not in current:
            hint = did_you_mean(
                key, current, f"set keys: {', '.join(current)}" if current else None
            )
            line, col = locate(self.text, ("plugins", name, "params"), None)
            if line is None:
                line, col = locate(self.text, ("plugins", name), None)
            raise ConfigError(
                f"plugins.{name}.params: {key!r} is not set",
                path=self.path,
                line=line,
                col=col,
                hint=hint,
            )
        if name in self._appended:
            del self._appended[name][1][key]
        else:
            table = self._plugin_table(name)
            params = table.get("params") if table is not None else None
            if not isinstance(params, Table | InlineTable):
                raise self._cannot_edit(name)
            del params[key]
            if not params and not _has_comments(params):
                # An empty [plugins.NAME.params] says nothing; a commented one is kept.
                del table["params"]  # type: ignore[union-attr]
        return Edit(name, f"params.{key}", current[key], MISSING)

    def value(self, table: tuple[str, ...], key: str) -> Any:
        """The value of ``key`` in ``[table]`` (``("server",)``, ``("plugins", NAME)``...).

        Returns :data:`MISSING` when it is not set.
        """
        if table[:1] == ("plugins",) and len(table) > 1 and table[1] in self._appended:
            name = table[1]
            if len(table) == 3:
                return self._appended[name][1].get(key, MISSING)
            if key == "enabled":
                return self._appended[name][0]
            return self._appended_keys.get(name, {}).get(key, MISSING)
        node: Any = self.document
        for part in (*table, key):
            if not isinstance(node, Container | Table | InlineTable) or part not in node:
                return MISSING
            node = node[part]
        return node.unwrap() if hasattr(node, "unwrap") else node

    def set_value(self, table: tuple[str, ...], key: str, value: Any) -> None:
        """Set ``key`` in ``[table]``, adding the table when missing; comments are kept.

        Raises:
            ConfigError: the table is written in a form plughost cannot change.
        """
        if table[:1] == ("plugins",) and len(table) in (2, 3):
            name = table[1]
            if len(table) == 3:
                self.set_param(name, key, value)
            elif key == "enabled":
                self.set_enabled(name, value)
            elif name in self._appended or not self.has_plugin(name):
                if not self.has_plugin(name):
                    self.add_plugin(name, enabled=False)
                self._appended_keys.setdefault(name, {})[key] = value
            else:
                _set_key(self._editable_table(name), key, value)
            return
        if len(table) != 1:
            raise ValueError(f"set_value: no table {'.'.join(table)!r}")
        found = self.document.get(table[0])
        if found is None:
            found = tomlkit.table()
            found.add(tomlkit.nl())
            body = self.document.body
            index = next(
                (i for i, (k, _) in enumerate(body) if k is not None and k.key == "plugins"),
                len(body),
            )
            if index == len(body):
                self.document.append(table[0], found)
            else:
                self.document._insert_at(index, table[0], found)
            found = self.document[table[0]]
        if not isinstance(found, Table | InlineTable):
            raise ConfigError(
                f"cannot edit [{table[0]}]: it is not written as a table plughost can change",
                path=self.path,
                hint=f"write it as a [{table[0]}] section",
            )
        _set_key(found, key, value)

    def _has_key(self, name: str, key: str) -> bool:
        table = self._plugin_table(name)
        return table is not None and key in table

    def _cannot_edit(self, name: str) -> ConfigError:
        return ConfigError(
            f"cannot edit [plugins.{name}]: it is not written as a table plughost can change",
            path=self.path,
            hint=f"write it as a [plugins.{name}] section",
        )

    def render(self) -> str:
        """The new file text."""
        text = self.document.as_string()
        for name, (enabled, params) in self._appended.items():
            text = _append_section(
                text,
                name,
                enabled,
                params,
                self._appended_sources.get(name),
                self._appended_keys.get(name),
            )
        if "\r\n" in self.text and text != self.text:
            # tomlkit writes new lines with "\n"; keep a CRLF file CRLF throughout.
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        return text


def _is_dotted_in(table: Table | InlineTable | None, key: str) -> bool:
    if not isinstance(table, Table):
        return False
    return any(k is not None and k.key == key and k.is_dotted() for k, _ in table.value.body)


def _set_key(table: Table | InlineTable, key: str, value: Any) -> None:
    if key in table:
        table[key] = value
        return
    if isinstance(table, InlineTable):
        table[key] = value
        return
    # A new key goes after the table's last key, before the comments and blank
    # lines that end it: those usually introduce whatever comes next.
    new = tomlkit.item(value)
    last: str | None = None
    indent = ""
    for body_key, item in table.value.body:
        if body_key is not None and not isinstance(item, Table | AoT):
            last = body_key.key
            indent = item.trivia.indent
    new.trivia.indent = indent
    if last is None:
        table.value._insert_at(0, key, new)
    else:
        table.value._insert_after(last, key, new)


def _add_params_table(table: Table | InlineTable, values: Mapping[str, Any]) -> None:
    if isinstance(table, InlineTable):
        table["params"] = tomlkit.inline_table()
        table["params"].update(values)
        return
    params = tomlkit.table()
    params.update(values)
    params.trivia.indent = "\n"
    last: str | None = None
    for body_key, item in table.value.body:
        if body_key is not None and not isinstance(item, Table | AoT):
            last = body_key.key
    if last is None:
        table.append("params", params)
    else:
        table.value._insert_after(last, "params", params)


def _append_section(
    text: str,
    name: str,
    enabled: bool,
    params: Mapping[str, Any],
    source: str | None = None,
    keys: Mapping[str, Any] | None = None,
) -> str:
    section: dict[str, Any] = {"enabled": enabled}
    if source is not None:
        section["source"] = source
    section.update(keys or {})
    if params:
        section["params"] = dict(params)
    rendered = tomlkit.dumps({"plugins": {name: section}})
    if not text.strip():
        return rendered
    if not text.endswith("\n"):
        text += "\n"
    if not text.endswith(("\n\n", "\n\r\n")):
        text += "\n"
    return text + rendered


# -- reading, locking, writing ------------------------------------------------------


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


_TEMP_NAME: Final = re.compile(r"\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp\Z")


@contextlib.contextmanager
def _locked(path: Path, shown: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on the config file itself while editing it.

    A writer replaces the file (a new inode), so a writer that waited for the
    lock checks it still holds the current file, and starts over if not.
    """
    if sys.platform == "win32":  # no flock; the changed-on-disk check still applies
        yield
        return
    import fcntl

    deadline = time.monotonic() + timeout
    while True:
        fd = _open_for_lock(path, shown)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise ConfigError(
                            f"{shown}: another plughost command is editing this file",
                            hint="wait for it to finish and run the command again",
                        ) from None
                    time.sleep(_LOCK_POLL)
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                current = None
            if current == os.fstat(fd).st_ino:
                yield
                return
        finally:
            os.close(fd)


def _open_for_lock(path: Path, shown: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise _not_found(shown) from None
    except OSError as error:
        raise ConfigError(f"cannot read {str(shown)!r}: {error.strerror}") from None


def _not_found(shown: Path) -> ConfigError:
    return ConfigError(
        f"{str(shown)!r} not found",
        hint="create a project with `plughost init`, or point --config at one",
    )


def _remove_stale_temp_files(path: Path) -> None:
    """Delete temporary files left by a writer that was killed (call under the lock)."""
    prefix = _temp_prefix(path)
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if match and entry.name.startswith(prefix) and match.group("name") == path.name:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def _read(path: Path, shown: Path) -> tuple[bytes, str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _not_found(shown) from None
    except OSError as error:
        raise ConfigError(f"cannot read {str(shown)!r}: {error.strerror}") from None
    try:
        return data, data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{shown}: not UTF-8 text ({error.reason})") from None


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(
    path: Path,
    data: bytes,
    *,
    expected: bytes | None = None,
    mode: int | None = None,
    exclusive: bool = False,
) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file.

    Args:
        path: the file to write (not a symlink: resolve it first).
        data: the new contents.
        expected: when given, the bytes ``path`` must still hold just before the
            rename; otherwise :class:`ConfigChangedError` and nothing is written.
        mode: permission bits for the file; by default those of the file being
            replaced, or the umask's default for a new file.
        exclusive: fail with ``FileExistsError`` when ``path`` exists.
    """
    if mode is None:
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            mode = _default_mode()
    fd, temp_name = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, mode)
        if expected is not None:
            try:
                current: bytes | None = path.read_bytes()
            except FileNotFoundError:
                current = None
            if current != expected:
                raise ConfigChangedError(
                    "changed on disk while plughost was editing it; nothing was written",
                    path=path,
                    hint="run the command again",
                )
        if exclusive:
            os.link(temp, path)
            temp.unlink()
        else:
            os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _fsync_directory(path.parent)


@contextlib.contextmanager
def edit_config(path: Path, *, lock_timeout: float = LOCK_TIMEOUT) -> Iterator[ConfigDocument]:
    """Open the config at ``path`` for editing; write it when the block ends.

    Nothing is written when the block raises or changes nothing.

    Raises:
        ConfigError: the file is missing or does not validate (with file, line
            and column), another writer holds the lock, or the edit would make
            the file invalid.
        ConfigChangedError: the file changed on disk during the edit.
    """
    shown = Path(path).absolute()
    real = shown.resolve()
    with _locked(real, shown, lock_timeout):
        _remove_stale_temp_files(real)
        data, text = _read(real, shown)
        document = ConfigDocument(shown, text, parse_config(text, shown))
        yield document
        new_text = document.render()
        if new_text == text:
            return
        try:
            parse_config(new_text, shown)
        except ConfigError as error:
            raise ConfigError(
                f"{shown}: refusing to write a config that would not load: {error.reason}",
                hint="edit the file by hand",
            ) from error
        write_atomic(real, new_text.encode("utf-8"), expected=data)


def create_config(path: Path, text: str, *, force: bool = False, private: bool = False) -> None:
    """Write a new config file; it is readable by its owner only when it holds a key.

    ``private`` makes it so in any case (it holds other secrets, say a password).

    Raises:
        ConfigError: ``path`` exists and ``force`` is false.
    """
    shown = Path(path).absolute()
    real = shown.resolve()
    config = parse_config(text, shown)
    holds_key = config.auth.apikey is not None or any(p.apikey for p in config.plugins)
    mode = 0o600 if holds_key or private else _default_mode()
    data = text.encode("utf-8")
    if force and os.path.lexists(real):
        with _locked(real, shown, LOCK_TIMEOUT):
            _remove_stale_temp_files(real)
            write_atomic(real, data, mode=mode)
        return
    try:
        # Linking the finished temporary file into place fails if the name is
        # taken, so a file created meanwhile is never overwritten.
        write_atomic(real, data, mode=mode, exclusive=True)
    except FileExistsError:
        raise ConfigError(
            f"{shown}: already exists; nothing was written",
            hint="use --force to replace it",
        ) from None


# -- one-call edits -----------------------------------------------------------------


def set_enabled(
    path: Path, names: Iterable[str], enabled: bool, *, source: str | None = None
) -> list[Edit]:
    """Set ``[plugins.NAME] enabled`` (and ``source``, when given) for each name;
    a missing section is appended."""
    with edit_config(path) as document:
        edits = []
        for name in names:
            edits.append(document.set_enabled(name, enabled))
            if source is not None:
                document.set_source(name, source)
        return edits


def set_params(path: Path, name: str, values: Mapping[str, Any]) -> list[Edit]:
    """Set keys of ``[plugins.NAME.params]``."""
    with edit_config(path) as document:
        return [document.set_param(name, key, value) for key, value in values.items()]


def unset_params(path: Path, name: str, keys: Iterable[str]) -> list[Edit]:
    """Remove keys from ``[plugins.NAME.params]``; an unset key is an error."""
    with edit_config(path) as document:
        return [document.unset_param(name, key) for key in keys]


def add_plugin_section(
    path: Path, name: str, *, enabled: bool = True, params: Mapping[str, Any] | None = None
) -> Edit:
    """Append ``[plugins.NAME]`` with ``enabled`` and ``[plugins.NAME.params]``."""
    with edit_config(path) as document:
        return document.add_plugin(name, enabled=enabled, params=params or {})


def _has_comments(table: Table | InlineTable) -> bool:
    """True when a table holds a comment line or a comment after its header."""
    if table.trivia.comment:
        return True
    return any(isinstance(item, Comment) for _, item in table.value.body)
