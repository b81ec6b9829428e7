"""The endpoints the hook plugins run around."""

import plughost


@plughost.route("/hello")
async def hello(name="world"):
    return {"hello": name}


@plughost.route("/divide")
async def divide(a, b):
    try:
        return {"result": float(a) / float(b)}
    except ValueError:
        raise plughost.BadRequest("a and b must be numbers") from None
