"""Installing real plugin packages for the tests: with pip, offline, from local folders.

Each install goes into a folder of its own (``pip install --target``) or into a
fresh virtual environment layered on this one, never into the environment the
tests run in, so no other test sees the plugins.
"""

from __future__ import annotations

import importlib
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = [
    "EXAMPLE",
    "activate",
    "copy_example",
    "make_distribution",
    "make_venv",
    "pip_install",
]

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "package-plugin"
#: seconds one pip install may take (a build of a small local project, offline)
_PIP_TIMEOUT = 300


def pip_install(*args: str, python: str | Path = sys.executable) -> None:
    """``pip install`` offline from local folders: no index, no build isolation, no deps."""
    command = [
        str(python),
        *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
        *("--no-index", "--no-deps", "--no-build-isolation"),
        *args,
    ]
    process = subprocess.run(
        command, capture_output=True, text=True, timeout=_PIP_TIMEOUT, check=False
    )
    if process.returncode != 0:
        pytest.fail(f"pip install failed:\n{process.stdout}\n{process.stderr}")


def copy_example(destination: Path) -> Path:
    """A copy of examples/package-plugin: pip builds in place, and the tests edit it."""
    ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    return Path(shutil.copytree(EXAMPLE, destination, ignore=ignore))


def make_distribution(folder: Path, name: str, plugins: Mapping[str, str], module: str) -> Path:
    """A small distribution whose module ``module`` holds ``plugins``' shared source.

    ``plugins`` maps each declared plugin name to the module (or submodule) it points at.
    """
    folder.mkdir(parents=True)
    lines = "\n".join(f'{plugin} = "{target}"' for plugin, target in plugins.items())
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["setuptools>=64"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{name}"
            version = "2.0.0"

            [tool.setuptools]
            py-modules = ["{module}"]

            [project.entry-points."plughost.plugins"]
            """
        )
        + lines
        + "\n",
        encoding="utf-8",
    )
    return folder


@contextmanager
def activate(site_dir: Path) -> Iterator[None]:
    """Make the distributions installed in ``site_dir`` visible to this process, then not.

    ``site.addsitedir`` runs the folder's ``.pth`` files, as Python does at start-up
    for site-packages: that is how an editable install hooks its finder in.
    """
    saved_path, saved_meta_path = list(sys.path), list(sys.meta_path)
    before = set(sys.modules)
    try:
        site.addsitedir(str(site_dir))
        # First on the path, so that it wins over the same distribution installed
        # in this environment (someone trying the example with pip install -e).
        sys.path.remove(str(site_dir))
        sys.path.insert(0, str(site_dir))
        importlib.invalidate_caches()
        yield
    finally:
        sys.path[:] = saved_path
        sys.meta_path[:] = saved_meta_path
        for name in set(sys.modules) - before:
            module = sys.modules[name]
            origin = getattr(module, "__file__", None) or ""
            if name.startswith("plughost_") or "__editable__" in name or str(site_dir) in origin:
                del sys.modules[name]
        importlib.invalidate_caches()


def make_venv(folder: Path) -> Path:
    """A virtual environment that sees this one's packages (plughost, pytest, pip), and
    installs into its own site-packages. Returns its python."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(folder)],
        check=True,
        timeout=120,
        capture_output=True,
    )
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout.strip()
    parents = [sysconfig.get_path("purelib"), *site.getsitepackages()]
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in dict.fromkeys(parents))
    # A .pth line that starts with "import" runs; this one adds this environment's
    # site-packages (and runs their .pth files) after the new environment's own.
    (Path(purelib) / "_plughost_tests_parent.pth").write_text(lines, encoding="utf-8")
    return python
