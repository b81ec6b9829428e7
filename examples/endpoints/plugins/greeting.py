"""An endpoint with typed params and its own API key (``auth_type = "plugin"``).

``[plugins.greeting.params]`` is checked against ``Params`` when the plugin
loads: a wrong type or an unknown key stops the load with file, line and key.
"""

from dataclasses import dataclass

from plughost import BasePlugin


@dataclass
class Params:
    greeting: str = "Hello"
    shout: bool = False


class Greeting(BasePlugin):
    route_path = "greeting"  # [plugins.greeting] route_path = "greet" wins over this

    def request_handler(self, **args):
        # args: the query, form or JSON values, plus request_headers. The API
        # key was checked (and an `apikey` argument removed) before this runs.
        name = args.get("name", "world")
        text = f"{self.params.greeting}, {name}!"
        if self.params.shout:
            text = text.upper()
        return {"greeting": text, "user_agent": args["request_headers"].get("User-Agent")}
