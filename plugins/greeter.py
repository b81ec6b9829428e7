"""An endpoint plugin: answers GET and POST /greeter."""

from dataclasses import dataclass

from plughost import BasePlugin


@dataclass
class Params:
    greeting: str = "Hello"


class Greeter(BasePlugin):
    route_path = "greeter"

    def request_handler(self, **args):
        name = args.get("name", "world")
        return {"message": f"{self.params.greeting}, {name}!"}
