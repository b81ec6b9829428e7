"""The ``plughost`` command line: commands, config-file editing, static inspection, output.

Nothing here imports aiohttp unless a command serves: ``plughost --help`` and
``plughost plugins list`` stay fast.
"""
