"""The hello plugin: an endpoint answering GET and POST at /hello.

Its settings come from [plugins.hello.params] in plughost.toml and are checked
against ``Params`` when the plugin loads.
"""

from dataclasses import dataclass

from plughost import BasePlugin


@dataclass
class Params:
    greeting: str = "Hello"


class Hello(BasePlugin):
    route_path = "hello"

    def request_handler(self, **args):
        """Answer one request; ``args`` holds the query, form or JSON values."""
        return {"message": f"{self.params.greeting} from hello"}
