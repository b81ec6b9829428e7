"""The request path, in the order a request meets it.

``entry`` (aiohttp's low-level server) -> ``table`` (the route-table snapshot) ->
``handler`` (each route's handler, compiled once from the ``hooks`` that apply) ->
``context`` and the host's own hooks (``defaults``, ``auth``, ``cors``) -> ``routes`` (the
wrapper chain and the endpoint) -> ``responses``. ``status`` is the host's own endpoint.
"""
