"""The reload transaction, in the order a change meets it.

``watch`` (watchfiles, and which plugins a change touches) -> ``importer`` (a fresh
module object) -> ``stage`` (params, setup and routes, aside from the live host) -> the
host commits or aborts it and retires the old version.
"""
