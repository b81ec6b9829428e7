"""Access control in check_access: only local clients get in (as a module)."""

from dataclasses import dataclass, field

import plughost


@dataclass
class Params:
    allow: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1", "::ffff:127.0.0.1"])


allowed: frozenset[str] = frozenset()


def setup(host):
    global allowed
    allowed = frozenset(host.params.allow)


def check_access(context):
    if context.request.remote not in allowed:
        raise plughost.AccessDenied("this service answers local clients only")
