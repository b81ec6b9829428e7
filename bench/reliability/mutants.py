# Mutants are snippets of source, kept whole on one line to match the code exactly.
# ruff: noqa: E501
"""A mutation run: realistic bugs, applied one at a time, each against the tests of its area.

Usage::

    python bench/reliability/mutants.py                # every mutant
    python bench/reliability/mutants.py --only auth    # one area: auth, cors, reload, config, tasks
    python bench/reliability/mutants.py --list         # the mutants, without running them

The repository at ``HEAD`` is exported (``git archive``) into a temporary folder and
served by a virtual environment that links this environment's packages, with
plughost pointing at the export; the working tree is never touched. Each mutant is
one small edit a person could plausibly make (a dropped check, an inverted
condition, a forgotten undo); it is applied to the export, the tests of its area run
(``pytest -x -q -p no:randomly``, 600 s at most), and the edit is undone. A mutant is
killed when the tests fail; one whose text is no longer in the code is reported as
not applicable, and one that no test could tell from the code (its reason is
given) as not observable; neither is counted.

Target: at least 95% of the observable mutants killed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from served import command

ROOT = Path(__file__).resolve().parents[2]

AREAS = {
    "auth": [
        "tests/test_route_auth_functional.py",
        "tests/test_endpoints_functional.py",
        "tests/test_promises_functional.py",
        "tests/test_bad_input_functional.py",
        "tests/test_access_log_functional.py",
        "tests/test_status_access_functional.py",
        "tests/test_plugincore_contract_functional.py",
    ],
    "cors": [
        "tests/test_cors_functional.py",
        "tests/test_endpoints_functional.py",
        "tests/test_route_auth_functional.py",
    ],
    "reload": [
        "tests/test_promises_functional.py",
        "tests/test_symlinks_functional.py",
        "tests/test_staged_import_functional.py",
        "tests/test_partial_saves_functional.py",
        "tests/test_transaction_functional.py",
        "tests/test_plugins_functional.py",
        "tests/test_reload_functional.py",
    ],
    "config": ["tests/test_configfile.py", "tests/test_cli_plugins.py", "tests/test_config.py"],
    "tasks": [
        "tests/test_promises_functional.py",
        "tests/test_task_stores.py",
        "tests/test_tasks_shared_functional.py",
        "tests/test_endpoints_functional.py",
    ],
}


@dataclass(frozen=True)
class Mutant:
    area: str
    path: str
    old: str
    new: str
    what: str
    #: why no test can tell this mutant from the code, when none can; it still runs
    unobservable: str = ""


AUTH = "plughost/request/auth.py"
STATUS = "plughost/request/status.py"
ENTRY = "plughost/request/entry.py"
CORS = "plughost/request/cors.py"
DEFAULTS = "plughost/request/defaults.py"
IMPORTER = "plughost/reload/importer.py"
STAGE = "plughost/reload/stage.py"
TRANSACTION = "plughost/reload/transaction.py"
HANDLE = "plughost/handle.py"
CONFIGFILE = "plughost/cli/configfile.py"
RUNNER = "plughost/tasks/runner.py"
RECORDS = "plughost/tasks/records.py"

MUTANTS = [
    # -- auth
    Mutant(
        "auth",
        AUTH,
        "hmac.compare_digest(",
        "(lambda a, b: a == b)(",
        "== instead of compare_digest",
    ),
    Mutant(
        "auth",
        AUTH,
        "        if not from_query or allow_query:\n",
        "        if True:\n",
        "query key accepted without allow_query_key",
    ),
    Mutant(
        "auth",
        AUTH,
        "    elif allow_query and request.query.get(KEY_ARGUMENT):",
        "    elif request.query.get(KEY_ARGUMENT):",
        "query key read without allow_query_key",
    ),
    Mutant(
        "auth",
        AUTH,
        '    if auth_type == "none":\n        if args is not None:\n            args.pop(KEY_ARGUMENT, None)\n        return\n',
        "",
        "auth none still demands a key",
    ),
    Mutant(
        "auth",
        AUTH,
        "    if expected is None or not keys_equal(given, expected):",
        "    if expected is not None and not keys_equal(given, expected):",
        "no configured key lets everyone in",
    ),
    Mutant(
        "auth",
        AUTH,
        '    if auth_type == "plugin":\n        return plugin_key',
        '    if auth_type == "plugin":\n        return config.auth.key',
        "plugin auth checks the global key",
    ),
    Mutant(
        "auth",
        AUTH,
        "    argument = args.pop(KEY_ARGUMENT, None) if args is not None else None",
        "    argument = args.get(KEY_ARGUMENT) if args is not None else None",
        "apikey argument reaches the handler",
    ),
    Mutant(
        "auth",
        AUTH,
        '    if scheme.lower() == "bearer" and token.strip():',
        '    if scheme == "Bearer" and token.strip():',
        "Bearer scheme case-sensitive",
    ),
    Mutant(
        "auth",
        AUTH,
        '"surrogatepass"), expected.encode("utf-8", "surrogatepass")',
        '"strict"), expected.encode("utf-8", "strict")',
        "lone surrogate key raises",
    ),
    Mutant(
        "auth", STATUS, '    if mode == "off":\n        return False\n', "", "status off ignored"
    ),
    Mutant(
        "auth",
        STATUS,
        "    if not _is_loopback(peer) or not _is_loopback(_host_name(host_header)):",
        "    if not _is_loopback(peer):",
        "Host header not checked (DNS rebinding)",
    ),
    Mutant(
        "auth",
        STATUS,
        "    return not any(name in headers for name in _PROXY_HEADERS)",
        "    return True",
        "proxy headers ignored",
    ),
    Mutant(
        "auth",
        STATUS,
        "    given = key_from(request, None, allow_query=False)",
        "    given = key_from(request, None, allow_query=True)",
        "status accepts a query key",
    ),
    Mutant(
        "auth",
        STATUS,
        "    return parsed.is_loopback",
        '    return str(parsed) in ("127.0.0.1", "::1")',
        "only 127.0.0.1 counts as loopback",
    ),
    Mutant(
        "auth",
        ENTRY,
        "        if request.query_string and _holds_key(request.query):",
        '        if "apikey=" in request.raw_path.lower():',
        "redaction on the raw query",
    ),
    Mutant(
        "auth",
        ENTRY,
        "(key, _REDACTED if key.lower() == KEY_ARGUMENT else value)",
        "(key, _REDACTED if key == KEY_ARGUMENT else value)",
        "redaction case-sensitive",
    ),
    Mutant(
        "auth",
        DEFAULTS,
        "            except LookupError as error:\n",
        "            except KeyError as error:\n",
        "unknown charset is a 500",
    ),
    Mutant(
        "auth",
        DEFAULTS,
        "    if _SURROGATE_ESCAPE.search(raw) and not _is_unicode(body):",
        "    if False:",
        "lone surrogates accepted",
    ),
    # -- cors
    Mutant(
        "cors",
        CORS,
        "        if origin in self._origins:\n            return origin\n",
        "        if any(origin.startswith(o) for o in self._origins):\n            return origin\n",
        "origin prefix match",
    ),
    Mutant(
        "cors",
        CORS,
        "        if not origin:\n            return None\n",
        "",
        "empty origin allowed with a wildcard",
    ),
    Mutant(
        "cors",
        CORS,
        '        if not vary:\n            out["Vary"] = "Origin"',
        '        if not vary and request.headers.get("Origin"):\n            out["Vary"] = "Origin"',
        "no Vary without Origin",
    ),
    Mutant(
        "cors",
        CORS,
        '        if self.config.allow_credentials:\n            out["Access-Control-Allow-Credentials"] = "true"',
        '        out["Access-Control-Allow-Credentials"] = "true"',
        "credentials always allowed",
    ),
    Mutant(
        "cors",
        CORS,
        "        elif allowed is None or method not in self.config.allow_methods:",
        "        elif allowed is None:",
        "preflight ignores the method",
    ),
    Mutant(
        "cors",
        CORS,
        "        if not exists:\n",
        "        if False:\n",
        "preflight to no route is a 204",
    ),
    Mutant(
        "cors",
        ENTRY,
        "            response = _no_route(match)\n            if cors is not None:\n                cors.decorate(request, response)\n",
        "            response = _no_route(match)\n",
        "404 without CORS headers",
    ),
    Mutant(
        "cors",
        CORS,
        "        if response is None or response.prepared:\n            return\n        self.decorate",
        "        if response is None or response.status >= 400:\n            return\n        self.decorate",
        "errors without CORS headers",
    ),
    # -- reload transaction
    Mutant(
        "reload",
        STAGE,
        "    except BaseException:\n        imported.rollback()\n",
        "    except BaseException:\n",
        "failed setup keeps its module in sys.modules",
    ),
    Mutant(
        "reload",
        STAGE,
        "        try:\n            await handle.aclose()\n        except Exception:  # the setup error is the one worth reporting\n            pass\n",
        "        pass\n",
        "failed setup not closed",
    ),
    Mutant(
        "reload",
        IMPORTER,
        "        _replace_modules(staging, {})\n        if isinstance(error, PluginImportError):",
        "        if isinstance(error, PluginImportError):",
        "failed import keeps the broken module",
    ),
    Mutant(
        "reload",
        IMPORTER,
        "        if folder is not None and not real.is_relative_to(folder):",
        "        if False:",
        "helpers linked from outside imported",
    ),
    Mutant(
        "reload",
        IMPORTER,
        "        _refuse_changed(source, before, len(code))\n",
        "",
        "file changed while loading is a success",
    ),
    Mutant("reload", IMPORTER, "    if not code:\n", "    if code is None:\n", "empty file loads"),
    Mutant(
        "reload",
        IMPORTER,
        "        data = self.source if self.source is not None else self.get_data(path)",
        "        data = self.get_data(path)",
        "file read twice",
        unobservable="the file is compared with what was read once it ran, so a load whose "
        "bytes changed fails either way",
    ),
    Mutant(
        "reload",
        TRANSACTION,
        "            if await _emptied_mid_save(staged):",
        "            if False:",
        "a half-saved file with no routes loads",
    ),
    Mutant(
        "reload",
        TRANSACTION,
        "    version.imported.rollback()\n",
        "",
        "discarded version keeps its import",
    ),
    Mutant(
        "reload",
        HANDLE,
        "        if self.closed:\n            return\n        self.closed = True\n        errors: list[Exception] = []\n        while self._closers:\n            label, close = self._closers.pop()\n",
        "        self.closed = True\n        errors: list[Exception] = []\n        for label, close in reversed(list(self._closers)):\n",
        "aclose may run closers again",
    ),
    Mutant(
        "reload",
        HANDLE,
        "            label, close = self._closers.pop()\n",
        "            label, close = self._closers.pop(0)\n",
        "closers in registration order",
    ),
    # -- config writes
    Mutant(
        "config",
        CONFIGFILE,
        "            os.replace(temp, path)\n",
        "            shutil.copyfile(temp, path)\n",
        "copy instead of atomic rename",
    ),
    Mutant(
        "config",
        CONFIGFILE,
        "            if current != expected:\n",
        "            if False:\n",
        "lost update: no changed-on-disk check",
    ),
    Mutant(
        "config",
        CONFIGFILE,
        "                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n",
        "                    pass\n",
        "no lock",
    ),
    Mutant(
        "config",
        CONFIGFILE,
        "            if not params and not _has_comments(params):",
        "            if not params:",
        "commented params table dropped",
    ),
    Mutant(
        "config",
        CONFIGFILE,
        "    except BaseException:\n        with contextlib.suppress(OSError):\n            temp.unlink()\n        raise\n",
        "    except BaseException:\n        raise\n",
        "temp file left on failure",
    ),
    # -- tasks
    Mutant(
        "tasks",
        RUNNER,
        "        return self._store.get(self.plugin, task_id)",
        "        return self._store.get(self.plugin, task_id) or next((t for p in ('owner', 'snoop') for t in [self._store.get(p, task_id)] if t), None)",
        "a task read across plugins",
    ),
    Mutant(
        "tasks",
        RUNNER,
        "        return await self._store.records.load(self.plugin, task_id)",
        "        return await self._store.records.load(self.plugin, task_id) or await self._store.records.load('owner', task_id)",
        "aget reads another plugin's task",
    ),
    Mutant(
        "tasks",
        RECORDS,
        "            while len(finished) > self.max_results:",
        "            while len(finished) > self.max_results + 1:",
        "one result too many kept",
    ),
    Mutant(
        "tasks",
        RECORDS,
        "        if found is None or found[1] <= time.time():",
        "        if found is None:",
        "expired results still served",
    ),
]


def _environment(folder: Path, export: Path) -> Path:
    """A venv with this one's packages linked, and plughost pointing at ``export``."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        for file in dist.files or ():
            if file.parts[0] == ".." or (name == "plughost" and "editable" in str(file)):
                continue
            source = Path(str(dist.locate_file(file)))
            target = site / file
            if source.exists() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(source, target)
    (site / "plughost_export.pth").write_text(f"{export}\n")
    return python


def _export(folder: Path) -> Path:
    export = folder / "repo"
    export.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "HEAD"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(export)], input=archive.stdout, check=True)
    return export


def _tests(python: Path, export: Path, area: str) -> tuple[int, float]:
    files = [f for f in AREAS[area] if (export / f).exists()]
    started = time.monotonic()
    try:
        result = subprocess.run(
            [
                str(python),
                "-m",
                "pytest",
                "-x",
                "-q",
                "-p",
                "no:randomly",
                "-p",
                "no:cacheprovider",
                *files,
            ],
            cwd=export,
            capture_output=True,
            timeout=600,
        )
        code = result.returncode
    except subprocess.TimeoutExpired:
        code = -1
    return code, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(AREAS), help="one area")
    parser.add_argument("--match", help="only the mutants whose description contains this")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args(argv)
    chosen = [
        m
        for m in MUTANTS
        if args.only in (None, m.area) and (args.match is None or args.match in m.what)
    ]
    if args.list:
        for number, mutant in enumerate(chosen, 1):
            print(f"{number:2d}. [{mutant.area}] {mutant.path}: {mutant.what}")
        return 0
    started = time.monotonic()
    rows = []
    with tempfile.TemporaryDirectory(prefix="plughost-mutants-") as folder:
        export = _export(Path(folder))
        python = _environment(Path(folder) / "venv", export)
        for area in sorted({m.area for m in chosen}):
            code, _ = _tests(python, export, area)
            if code != 0:
                print(f"the {area} tests fail without any mutant (exit {code}); stopping")
                return 2
        for mutant in chosen:
            path = export / mutant.path
            original = path.read_text() if path.exists() else ""
            if mutant.old not in original:
                rows.append((mutant, "not applicable", 0.0))
                continue
            mutated = original.replace(mutant.old, mutant.new, 1)
            if "shutil." in mutant.new and "import shutil" not in mutated:
                future = "from __future__ import annotations\n"
                mutated = mutated.replace(future, future + "import shutil\n", 1)
            path.write_text(mutated)
            try:
                code, seconds = _tests(python, export, mutant.area)
            finally:
                path.write_text(original)
            rows.append((mutant, "killed" if code != 0 else "SURVIVED", seconds))
            print(f"[{mutant.area}] {mutant.what}: {rows[-1][1]} ({seconds:.0f} s)", flush=True)
        shutil.rmtree(export, ignore_errors=True)
    counted = [r for r in rows if r[1] != "not applicable" and not r[0].unobservable]
    killed = sum(1 for r in counted if r[1] == "killed")
    print("\n| area | mutant | file | result |\n|---|---|---|---|")
    for mutant, result, _ in rows:
        note = f" (not observable: {mutant.unobservable})" if mutant.unobservable else ""
        print(f"| {mutant.area} | {mutant.what} | `{mutant.path}` | {result}{note} |")
    rate = killed / len(counted) if counted else 0.0
    print(
        f"\nKilled {killed} of {len(counted)} observable mutants ({rate:.0%}); "
        f"{sum(1 for r in rows if r[0].unobservable)} not observable, "
        f"{sum(1 for r in rows if r[1] == 'not applicable')} not applicable; "
        f"{time.monotonic() - started:.0f} s"
    )
    print(f"Target (at least 95% killed): {'met' if rate >= 0.95 else 'MISSED'}")
    print(f"\nCommand: `{command('mutants.py', argv)}`")
    return 0 if rate >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
