"""The ``plughost`` command line.

Commands are thin: they read the config, call into the package, and print.
Nothing here imports aiohttp or watchfiles at module level; ``run``,
``check``, ``routes`` and ``--check`` import the runtime when they need it,
so ``plughost --help`` and ``plughost plugins list`` start fast.

Errors are translated in one place, :class:`PlughostGroup`: a
:class:`~plughost.errors.PlughostError` becomes a one-line message (plus a
hint line) on stderr and its exit code; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn

import click

from .. import __version__
from ..errors import ConfigError, PlughostError
from .console import echo_json, info, styled, warn
from .render import display

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from ..config import Config, SourceChoice
    from .inspection import PluginReport

__all__ = ["cli", "main"]

DEFAULT_CONFIG: Final = "plughost.toml"


@dataclass(frozen=True, slots=True)
class Settings:
    """The global options, on ``ctx.obj``."""

    config_path: Path
    debug: bool

    def load(self) -> Config:
        from ..config import load_config

        return load_config(self.config_path)


class PlughostFailure(click.ClickException):
    """A PlughostError on its way out: message (and hint) on stderr, its exit code."""

    def __init__(self, error: PlughostError) -> None:
        super().__init__(error.message)
        self.hint = error.hint

    @classmethod
    def of(cls, error: PlughostError) -> PlughostFailure:
        """A failure carrying ``error``'s exit code (click reads it from the class)."""
        if error.exit_code == cls.exit_code:
            return cls(error)
        failure: type[PlughostFailure] = type(cls.__name__, (cls,), {"exit_code": error.exit_code})
        return failure(error)

    def show(self, file: Any = None) -> None:
        click.echo(styled("Error: ", "red", err=True) + self.format_message(), err=True)
        if self.hint:
            click.echo(f"  hint: {self.hint}", err=True)


class PlughostGroup(click.Group):
    """The root group; the one place where PlughostError is translated."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PlughostError as error:
            settings = ctx.obj
            if isinstance(settings, Settings) and settings.debug:
                raise
            raise PlughostFailure.of(error) from error


def _fail(message: str, hint: str | None = None) -> NoReturn:
    raise PlughostError(message, hint=hint)


# -- completion ---------------------------------------------------------------------


def _complete_plugins(
    ctx: click.Context, _: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Plugin names for shell completion; never raises."""
    import os

    from click.shell_completion import CompletionItem

    try:
        from ..config import load_config
        from .project import entries

        root = ctx.find_root()
        path = root.params.get("config_path") or os.environ.get("PLUGHOST_CONFIG") or DEFAULT_CONFIG
        plugins = entries(load_config(Path(path)))
    except Exception:
        return []
    command = ctx.command.name
    given = set(ctx.params.get("names") or ())
    items = []
    for plugin in plugins:
        if not plugin.name.startswith(incomplete) or plugin.name in given:
            continue
        if command == "enable" and plugin.enabled or command == "disable" and not plugin.enabled:
            continue
        kind = plugin.info.kind if plugin.info and plugin.info.kind else "plugin"
        items.append(CompletionItem(plugin.name, help=f"{kind}, {plugin.static_status}"))
    return items


# -- the group ----------------------------------------------------------------------


@click.group(
    cls=PlughostGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  plughost init myproject && cd myproject
  plughost new hello
  plughost run --reload
  plughost plugins list
  plughost --config /srv/site/plughost.toml check
""",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG,
    show_default=True,
    envvar="PLUGHOST_CONFIG",
    show_envvar=True,
    help="The project's config file.",
)
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.version_option(__version__, prog_name="plughost")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, debug: bool) -> None:
    """plughost: a web plugin host with per-plugin hot reload.

    A project is a folder with a plughost.toml and a plugins/ folder.
    """
    ctx.obj = Settings(config_path.absolute(), debug)


pass_settings = click.make_pass_decorator(Settings)


# -- init, new, run -----------------------------------------------------------------


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing config file.")
@pass_settings
def init(settings: Settings, directory: Path | None, force: bool) -> None:
    """Create a project: a commented plughost.toml and a plugins/ folder.

    DIRECTORY defaults to the folder of --config (the current folder).
    """
    from ..config import parse_config
    from .configfile import create_config
    from .scaffold import init_config
    from .scaffolding import write_pytest_config

    path = (directory / DEFAULT_CONFIG).absolute() if directory else settings.config_path
    path.parent.mkdir(parents=True, exist_ok=True)
    text = init_config()
    create_config(path, text, force=force)
    plugins_dir = parse_config(text, path).plugins_dir
    plugins_dir.mkdir(exist_ok=True)
    info(f"Created {display(path)}")
    info(f"Created {display(plugins_dir)}/")
    pytest_ini = write_pytest_config(path.parent)
    if pytest_ini is not None:
        info(f"Created {display(pytest_ini)}  (runs the plugin tests: python -m pytest)")
    info("")
    if directory and path.parent != Path.cwd():
        info(f"Next: cd {display(path.parent)} && plughost new hello")
    else:
        info("Next: plughost new hello")


@cli.command(short_help="Scaffold a plugin, its test and its config section.")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(["endpoint", "hooks", "wrapper"]),
    default="endpoint",
    show_default=True,
    help="endpoint: a BasePlugin answering at /NAME; hooks: request hooks; "
    "wrapper: a Bottle-style wrapper around every route.",
)
@click.option(
    "--package",
    is_flag=True,
    help="Scaffold a distributable plugin project in ./plughost-NAME/ instead: "
    "pyproject.toml with the entry point, the module, a README and a test.",
)
@pass_settings
def new(settings: Settings, name: str, kind: str, package: bool) -> None:
    """Scaffold plugins/NAME.py, a test for it, and an enabled [plugins.NAME] section.

    With --package, scaffold a plugin to publish: ./plughost-NAME/ (beside the
    config file), which `pip install -e ./plughost-NAME` installs.
    """
    from .scaffolding import create_package, create_plugin
    from .status import server_url

    if package:
        import shlex

        made = create_package(settings.config_path.parent, name, kind)
        for path in made.files:
            info(f"Created {display(path)}")
        info("")
        info("Next:")
        info(f"  pip install -e {_shell_path(made.root)}")
        info(f"  cd {shlex.quote(display(made.root))} && python -m pytest")
        info(f"  plughost plugins enable {name}")
        return
    config = settings.load()
    created = create_plugin(config, name, kind)
    info(f"Created {display(created.plugin_path)}  ({kind} plugin)")
    info(f"Created {display(created.test_path)}")
    info(f"Added [plugins.{name}] to {display(config.path)}  (enabled)")
    info("")
    info(f"{name} will answer on " + styled(server_url(config, f"/{name}"), "bold"))
    info("Start the server with: plughost run --reload")


def _shell_path(path: Path) -> str:
    import shlex

    shown = display(path)
    return shlex.quote(shown if Path(shown).is_absolute() else f"./{shown}")


@cli.command()
@click.option("--host", metavar="ADDRESS", help="Address to listen on.  [default: server.host]")
@click.option(
    "--port", type=click.IntRange(0, 65535), metavar="PORT", help="Port.  [default: server.port]"
)
@click.option("--reload", is_flag=True, help="Reload each plugin when its files change.")
@click.option("--no-access-log", is_flag=True, help="Do not log each request.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    metavar="N",
    help="Worker processes, on gunicorn (pip install 'plughost[workers]').  "
    "[default: server.workers]",
)
@pass_settings
def run(
    settings: Settings,
    host: str | None,
    port: int | None,
    reload: bool,
    no_access_log: bool,
    workers: int | None,
) -> None:
    """Serve the project's enabled plugins until Ctrl-C.

    With --workers N (N > 1), N processes serve the same port, and a change
    (--reload, or plughost reload) reaches all of them, or none.
    """
    import dataclasses

    config = settings.load()
    access_log = False if no_access_log else None
    count = workers if workers is not None else config.server.workers
    if count > 1:
        from ..workers.arbiter import serve_workers

        server = dataclasses.replace(config.server, workers=count)
        config = dataclasses.replace(config, server=server)
        serve_workers(config, host=host, port=port, reload=reload, access_log=access_log)
        return
    from ..server import serve

    serve(config, host=host, port=port, reload=reload, access_log=access_log)


@cli.command("reload")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    metavar="PORT",
    help="The server's port, if not server.port.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=150.0,
    show_default=True,
    help="Seconds to wait for the server.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the server's report as JSON.")
@pass_settings
def reload_(settings: Settings, port: int | None, timeout: float, as_json: bool) -> None:
    """Apply the plugin files and plughost.toml on disk to the running server.

    Every plugin that changed is prepared in every worker, and committed only
    when all prepared it; otherwise every worker keeps the version it serves.
    Prints one line per plugin; exits 1 when anything failed.
    """
    from .deploy import print_report, request_reload

    config = settings.load()
    report = request_reload(config, port=port, timeout=timeout)
    ok = bool(report.get("ok"))
    if as_json:
        echo_json(report)
    else:
        ok = print_report(report)
    if not ok:
        raise click.exceptions.Exit(1)


# -- plugins ------------------------------------------------------------------------


@cli.group()
def plugins() -> None:
    """List, inspect, enable, disable and configure plugins."""


def _inspect(config: Config, names: Sequence[str] | None = None) -> dict[str, PluginReport]:
    from .inspection import inspect_project

    return {report.name: report for report in inspect_project(config, names)}


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (shape in docs/cli.md).")
@click.option("--check", is_flag=True, help="Import each enabled plugin in isolation and report.")
@pass_settings
def list_plugins(settings: Settings, as_json: bool, check: bool) -> None:
    """Every plugin on disk or in the config, in load order.

    Reads the config and the plugins folder; no plugin is imported unless
    --check is given. A running server for this config adds live status.
    """
    from .project import entries
    from .render import print_plugin_list
    from .status import fetch_status, server_url
    from .views import list_view

    config = settings.load()
    found = entries(config)
    reports = _inspect(config) if check else None
    live = fetch_status(config)
    view = list_view(config, found, live=live, reports=reports, url=server_url(config))
    if as_json:
        echo_json(view)
    elif found:
        print_plugin_list(view)
    else:
        info(f"No plugins in {display(config.plugins_dir)}/ or {display(config.path)}.")
        info("Create one with: plughost new NAME")
    failed = [row for row in view["plugins"] if row["status"] == "error"]
    if check and failed:
        if not as_json:
            for row in failed:
                warn(f"{row['name']}: {row['error']}")
        count = len(failed)
        _fail(f"{count} enabled plugin{'s' if count != 1 else ''} failed to load")


@plugins.command(short_help="Everything about one plugin.")
@click.argument("name", shell_complete=_complete_plugins)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (shape in docs/cli.md).")
@pass_settings
def show(settings: Settings, name: str, as_json: bool) -> None:
    """Everything about one plugin: file, section, params, routes, hooks, wrappers.

    An enabled plugin is imported to list what it registers; a disabled one
    is read from source only.
    """
    from .project import entry
    from .render import print_plugin
    from .status import fetch_status
    from .views import show_view

    config = settings.load()
    plugin = entry(config, name)
    report = None
    if plugin.enabled and plugin.on_disk:
        # Load every enabled plugin, so the wrappers and hooks shown are those
        # that apply when the whole project runs.
        report = _inspect(config).get(name)
    live = fetch_status(config)
    view = show_view(
        config, plugin, live=live.get(name) if live is not None else None, report=report
    )
    if as_json:
        echo_json(view)
    else:
        print_plugin(view)


def _edit_names(
    settings: Settings, names: Sequence[str], enabled: bool, source: SourceChoice | None = None
) -> None:
    from ..errors import PluginError, PluginSourceConflictError
    from ..sources import Sources
    from .configfile import set_enabled
    from .project import require_known

    config = settings.load()
    sources = Sources.scan(config.plugins_dir)
    require_known(config, names, sources)
    unfound: list[str] = []
    for name in names:
        plugin = config.plugin(name)
        try:
            if sources.resolve(name, source or (plugin.source if plugin else None)) is None:
                unfound.append(name)
        except PluginSourceConflictError:
            if enabled:
                raise  # never a silent pick: nothing is written
        except PluginError:
            pass  # the server reports a package that lacks its module
    edits = set_enabled(config.path, dict.fromkeys(names), enabled, source=source)
    verb = "enabled" if enabled else "disabled"
    for edit in edits:
        if edit.created:
            info(f"{verb} {edit.plugin}  (added [plugins.{edit.plugin}] to {display(config.path)})")
        elif edit.changed:
            info(f"{verb} {edit.plugin}")
        else:
            info(f"{edit.plugin} was already {verb}")
        if source is not None:
            info(f'{edit.plugin} loads from the {source}  (source = "{source}")')
        if enabled and edit.plugin in unfound:
            where = f"{display(config.plugins_dir)}/"
            if source != "folder":
                where += " or in an installed package"
            warn(f"{edit.plugin!r} is not in {where}; the server will report it missing")


_NAMES = click.argument(
    "names", nargs=-1, required=True, metavar="NAME...", shell_complete=_complete_plugins
)


@plugins.command()
@_NAMES
@click.option(
    "--source",
    type=click.Choice(["package", "folder"]),
    help="Also set source: load the plugin from an installed package or from the "
    "plugins folder, when both provide it.",
)
@pass_settings
def enable(settings: Settings, names: tuple[str, ...], source: SourceChoice | None) -> None:
    """Set enabled = true in [plugins.NAME].

    A plugin found in the plugins folder or an installed package without a
    section gets one, appended at the end of the file, so it loads last. A
    name that both provide, or two packages, is refused until --source (or
    source in the section) chooses.
    """
    _edit_names(settings, names, True, source)


@plugins.command()
@_NAMES
@pass_settings
def disable(settings: Settings, names: tuple[str, ...]) -> None:
    """Set enabled = false in [plugins.NAME]."""
    _edit_names(settings, names, False)


@plugins.command("set")
@click.argument("name", shell_complete=_complete_plugins)
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@pass_settings
def set_(settings: Settings, name: str, assignments: tuple[str, ...]) -> None:
    """Set values in [plugins.NAME.params].

    VALUE is read as TOML: port=8081 is an integer, flag=true a boolean,
    tags='["a", "b"]' a list, name='"x"' a string; a bare word is a string.
    When the plugin declares Params, each value is checked before writing.
    """
    from .assign import AssignmentError, checked_values, parse_assignment
    from .configfile import MISSING, set_params
    from .project import require_known
    from .render import format_value

    try:
        parsed = [parse_assignment(text) for text in assignments]
    except AssignmentError as error:
        raise click.BadParameter(str(error), param_hint="KEY=VALUE") from None
    config = settings.load()
    require_known(config, [name])
    values = checked_values(config, name, parsed)
    for edit in set_params(config.path, name, values):
        key = f"plugins.{name}.{edit.key}"
        if edit.before is MISSING:
            info(f"{key} = {format_value(edit.after)}")
        elif edit.changed:
            info(f"{key} = {format_value(edit.after)}  (was {format_value(edit.before)})")
        else:
            info(f"{key} = {format_value(edit.after)}  (unchanged)")


@plugins.command()
@click.argument("name", shell_complete=_complete_plugins)
@click.argument("keys", nargs=-1, required=True, metavar="KEY...")
@pass_settings
def unset(settings: Settings, name: str, keys: tuple[str, ...]) -> None:
    """Remove keys from [plugins.NAME.params]; the plugin's defaults apply again.

    A key that is not set is an error, and nothing is written.
    """
    from .configfile import unset_params
    from .project import require_known
    from .render import format_value

    config = settings.load()
    require_known(config, [name])
    for edit in unset_params(config.path, name, dict.fromkeys(keys)):
        info(f"removed plugins.{name}.{edit.key}  (was {format_value(edit.before)})")


# -- check, routes ------------------------------------------------------------------


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (shape in docs/cli.md).")
@pass_settings
def check(settings: Settings, as_json: bool) -> None:
    """Validate the config and import every enabled plugin in isolation.

    Exits 1 when there is any problem, so it can gate a CI job.
    """
    from .render import print_problems
    from .views import check_view

    try:
        config = settings.load()
    except ConfigError as error:
        if not as_json:
            raise
        echo_json(
            {
                "config": str(settings.config_path),
                "ok": False,
                "problems": [{"plugin": None, "message": str(error)}],
                "warnings": [],
                "plugins": [],
            }
        )
        raise click.exceptions.Exit(error.exit_code) from None
    reports = _inspect(config)
    view = check_view(config, reports)
    problems = view["problems"]
    if as_json:
        echo_json(view)
        if problems:
            raise click.exceptions.Exit(1)
        return
    for warning in view["warnings"]:
        warn(f"{warning['plugin']}: {warning['message']}")
    if problems:
        print_problems(problems)
        count = len(problems)
        _fail(f"{count} problem{'s' if count != 1 else ''} in {display(config.path)}")
    loaded = len(reports)
    plugins = "1 enabled plugin loads" if loaded == 1 else f"{loaded} enabled plugins load"
    info(styled("ok", "green") + f": {display(config.path)} is valid; {plugins}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (shape in docs/cli.md).")
@pass_settings
def routes(settings: Settings, as_json: bool) -> None:
    """Every route with its method, rule, plugin, wrappers and hooks.

    Imports every enabled plugin in isolation; exits 1 when one fails to load.
    """
    from .render import print_routes
    from .views import routes_view

    config = settings.load()
    reports = _inspect(config)
    view = routes_view(config, reports)
    if as_json:
        echo_json(view)
    else:
        print_routes(view["routes"])
    for failure in view["errors"]:
        warn(f"{failure['plugin']}: {failure['error']}")
    if view["errors"]:
        raise click.exceptions.Exit(1)


# -- import-config ------------------------------------------------------------------

#: the keys whose values ``import-config`` hides (``re`` compiles it on first use)
_SECRET_KEY: Final = r"(?i)key|pass|secret|token"


@cli.command("import-config", short_help="Write plughost.toml from a plugincore INI file.")
@click.argument("ini_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace values plughost.toml already sets otherwise.")
@pass_settings
def import_config(settings: Settings, ini_file: Path, force: bool) -> None:
    """Write plughost.toml (--config) from a plugincore (pluginserver) INI file.

    Reads [network], [paths], [auth], [cors] and [plugin_parms] (json=FILE
    included), and enables every plugin in the plugins folder, as plugincore
    loads them all. An existing plughost.toml is merged into, comments kept;
    a value it already sets differently stops the import unless --force.
    Prints what it set, and a note for each thing plughost does differently.

    \b
    Examples:
      plughost import-config pserve.ini
      plughost --config /srv/site/plughost.toml import-config /etc/pserve.ini --force
    """
    from .configfile import MISSING
    from .importconfig import read_ini, write_imported
    from .render import format_value

    path = settings.config_path
    existed = path.exists()
    imported = read_ini(ini_file, path.parent)
    changes = write_imported(path, imported, force=force)
    if not existed:
        info(f"Created {display(path)} from {display(ini_file)}")
    elif changes:
        info(f"Updated {display(path)} from {display(ini_file)}")
    else:
        info(f"{display(path)} already holds everything in {display(ini_file)}")
    for change in changes:
        shown = "<hidden>" if re.search(_SECRET_KEY, change.key) else format_value(change.after)
        was = ""
        if existed and change.before is not MISSING:
            hidden = re.search(_SECRET_KEY, change.key)
            was = f"  (was {'<hidden>' if hidden else format_value(change.before)})"
        info(f"  {change.where} = {shown}{was}")
    for note in imported.notes:
        info(f"note: {note}")
    if imported.copied_json:
        info(f"note: {display(path)} may now hold passwords: keep it private")


def _use_config(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.obj = Settings(value.absolute(), ctx.find_object(Settings).debug)  # type: ignore[union-attr]


def _accept_config(group: click.Group) -> None:
    """Let every command take ``--config`` after its name too (``plughost run --config X``)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _accept_config(command)
            continue
        command.params.append(
            click.Option(
                ["--config", "config_path"],
                type=click.Path(dir_okay=False, path_type=Path),
                expose_value=False,
                callback=_use_config,
                is_eager=True,
                help="The project's config file (as the global --config).",
            )
        )


_accept_config(cli)


def main() -> None:
    """The ``plughost`` console script."""
    cli(prog_name="plughost")
