"""Start-up cost of ``plughost plugins list``, as a person sees it on a terminal.

Generates a project with 50 plugins (``plughost new`` for each, cycling through
the three kinds), then times, on a pseudo-terminal, from process start to exit:

- ``plughost --config PROJECT/plughost.toml plugins list``
- a minimal click + rich script printing a 3-row table (the floor for any
  click + rich CLI)

alternating the two in the same run, and reports the median of each and
their ratio. Target: ratio <= 1.1.

Usage::

    python bench/cli_startup.py [--rounds 40] [--plugins 50] [--cold]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

BASELINE = """\
import click
from rich.console import Console
from rich.table import Table


@click.command()
def main():
    table = Table()
    for column in ("name", "enabled", "status"):
        table.add_column(column)
    for number in range(3):
        table.add_row(f"plugin{number}", "yes", "ok")
    Console().print(table)


main()
"""


def make_project(root: Path, count: int) -> Path:
    from plughost.cli.configfile import create_config
    from plughost.cli.scaffold import KINDS, init_config
    from plughost.cli.scaffolding import create_plugin
    from plughost.config import load_config

    config_path = root / "plughost.toml"
    (root / "plugins").mkdir(parents=True)
    with socket.socket() as probe:  # a port nothing listens on, as when no server runs
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    create_config(config_path, init_config().replace("port = 8080", f"port = {port}"))
    for number in range(count):
        create_plugin(load_config(config_path), f"plugin{number:02d}", KINDS[number % len(KINDS)])
    return config_path


#: as after ``pip install``, which compiles byte-code: let the warm-up runs cache it
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_on_terminal(argv: list[str], env: dict[str, str] = ENVIRONMENT) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of ``argv`` on a 120x40 pseudo-terminal."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, stdin=terminal, stdout=terminal, stderr=terminal, close_fds=True, env=env
    )
    os.close(terminal)
    while True:
        try:
            if not os.read(controller, 65536):
                break
        except OSError:
            break
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    os.close(controller)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {process.returncode}")
    return elapsed, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--plugins", type=int, default=50)
    parser.add_argument(
        "--cold",
        action="store_true",
        help="read every plugin's source on each run (no plugins/__pycache__ cache)",
    )
    args = parser.parse_args()

    executable = shutil.which("plughost")
    plughost = [executable] if executable else [sys.executable, "-m", "plughost"]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        config = make_project(root / "project", args.plugins)
        baseline_script = root / "baseline.py"
        baseline_script.write_text(BASELINE)
        commands = {
            "plughost": [*plughost, "--config", str(config), "plugins", "list"],
            "click+rich": [sys.executable, str(baseline_script)],
            "python -c pass": [sys.executable, "-c", "pass"],
        }
        for argv in commands.values():  # warm the file cache and byte-code
            run_on_terminal(argv)
            run_on_terminal(argv)
        environments = {name: ENVIRONMENT for name in commands}
        if args.cold:
            shutil.rmtree(config.parent / "plugins" / "__pycache__")
            environments["plughost"] = {**ENVIRONMENT, "PYTHONDONTWRITEBYTECODE": "1"}
        wall: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for number in range(args.rounds):
            order = list(commands) if number % 2 == 0 else list(reversed(commands))
            for name in order:
                elapsed, used = run_on_terminal(commands[name], environments[name])
                wall[name].append(elapsed)
                cpu[name].append(used)

    print(f"{args.rounds} rounds, alternating, on a pseudo-terminal; medians")
    print(f"  {'':15} {'wall':>8} {'cpu':>8}")
    for name, argv in commands.items():
        shown = " ".join(Path(a).name if a.startswith(folder) else a for a in argv)
        print(
            f"  {name:15} {statistics.median(wall[name]) * 1000:5.1f} ms"
            f" {statistics.median(cpu[name]) * 1000:5.1f} ms   {shown}"
        )
    for label, values in (("wall", wall), ("cpu", cpu)):
        ratio = statistics.median(values["plughost"]) / statistics.median(values["click+rich"])
        print(f"ratio plughost / click+rich, {label} time: {ratio:.2f}x   (target <= 1.10x)")
    sources = "parsed on every run" if args.cold else "cached in plugins/__pycache__"
    print(f"project: {args.plugins} plugins, sources {sources}")
    print("cpu time (user + system) is less disturbed by other load than wall time")


if __name__ == "__main__":
    main()
