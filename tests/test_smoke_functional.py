from plughost.testing import ClientFactory, ProjectFactory

HELLO = """
import plughost

@plughost.route("/hello")
async def hello(name: str = "world"):
    return {"hello": name}

@plughost.route("/items/{id}")
def item(id: str, verbose: str = "no"):
    return f"item {id} {verbose}"
"""

EXAMPLE = """
from plughost import BasePlugin

class Example(BasePlugin):
    def request_handler(self, **args):
        return {'example': 'Hi from Example.py', 'args': sorted(args)}
"""


async def test_smoke(plughost_project: ProjectFactory, plughost_client: ClientFactory) -> None:
    project = plughost_project({"hello": HELLO, "example": EXAMPLE})
    client = await plughost_client(project)
    resp = await client.get("/hello", params={"name": "ann"})
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"hello": "ann"}
    resp = await client.get("/items/7?verbose=yes&junk=1")
    assert await resp.text() == "item 7 yes"
    resp = await client.get("/example")
    assert (await resp.json())["example"] == "Hi from Example.py"
    resp = await client.get("/nope")
    assert resp.status == 404
    resp = await client.delete("/hello")
    assert resp.status == 405
    assert "GET" in resp.headers["Allow"]
