"""Access control in check_access: only local clients get in (as an object)."""

from dataclasses import dataclass, field

import plughost


@dataclass
class Params:
    allow: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1", "::ffff:127.0.0.1"])


class LocalOnly(plughost.HookPlugin):
    name = "local_only"

    def __init__(self, allow):
        self.allowed = frozenset(allow)

    def check_access(self, context):
        if context.request.remote not in self.allowed:
            raise plughost.AccessDenied("this service answers local clients only")


def setup(host):
    host.add_hooks(LocalOnly(host.params.allow))
