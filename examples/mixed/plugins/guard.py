"""Anyone may read; writing needs the API key. An auth hook for every route.

A hook plugin sees every request of every plugin, so one check_access covers
the whole service, whichever plugin serves the route.
"""

import hmac

import plughost

READS = frozenset({"GET", "HEAD"})


def presented_key(headers):
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return token
    return headers.get("X-API-Key")


class WriteGuard(plughost.HookPlugin):
    name = "guard"

    def __init__(self, host):
        self.host = host

    def check_access(self, context):
        if context.request.method in READS:
            return
        expected = self.host.config.auth.key  # [auth] apikey, or the apikey_env variable
        given = presented_key(context.request.headers)
        if not (expected and given and hmac.compare_digest(given.encode(), expected.encode())):
            raise plughost.Unauthorized("writing needs the API key")


def setup(host):
    host.add_hooks(WriteGuard(host))
