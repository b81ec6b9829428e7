"""A logging process_error hook, written as an object registered in setup().

process_error runs only when a hook or the endpoint raised. This one logs a
line and leaves ``context.error`` alone, so the host still answers with its
usual JSON error (400 for a BadRequest, 500 for anything unexpected).
"""

import logging

import plughost

logger = logging.getLogger("examples.hooks.errors")


class ErrorLog(plughost.HookPlugin):
    name = "errors"

    def process_error(self, context):
        request, error = context.request, context.error
        level = logging.INFO if isinstance(error, plughost.HTTPError) else logging.WARNING
        logger.log(
            level,
            "%s %s failed: %s: %s",
            request.method,
            request.path_qs,
            type(error).__name__,
            error,
        )


def setup(host):
    host.add_hooks(ErrorLog())
