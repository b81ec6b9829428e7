"""Every note at once, plugincore style: a BasePlugin behind the global API key.

``auth_type = "global"`` in ``[plugins.export]`` makes the host check the
``[auth]`` key before ``request_handler`` runs. The store belongs to the db
plugin; this one looks it up among the installed wrappers on each request, so
it finds the current one after the db plugin reloads.
"""

from plughost import BasePlugin, HTTPError

host = None


def setup(handle):
    global host
    host = handle


def current_store():
    for plugin in host.plugins:
        if getattr(plugin, "name", None) == "notes_store":
            return plugin.store
    raise HTTPError(503, "the db plugin is not loaded")


class Export(BasePlugin):
    async def request_handler(self, **args):
        notes = current_store().list()
        return {"count": len(notes), "notes": notes}
