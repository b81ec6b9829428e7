"""The request path, in the order a request meets it.

``entry`` (aiohttp's low-level server) -> ``table`` (the route-table snapshot) ->
``pipeline`` (each route's handler, compiled once from the hooks) -> ``context`` and the
default hooks (``auth``, ``cors``) -> ``routes`` (the wrapper chain and the endpoint) ->
``responses``.
"""
