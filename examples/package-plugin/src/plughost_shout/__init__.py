"""The shout plugin, installed as a package: ``GET /shout?text=hi`` answers ``HI!``.

pyproject.toml declares it in the ``plughost.plugins`` entry points; plughost
lists it from that metadata and imports it only once it is enabled.
"""

from dataclasses import dataclass

from .words import loud


@dataclass
class Params:
    suffix: str = "!"


def setup(host):
    suffix = host.params.suffix

    @host.route("/shout")
    async def shout(text="hello"):
        return {"shout": loud(text, suffix)}
