"""``python -m plughost``: the same as the ``plughost`` command."""

from .cli.commands import main

main()
