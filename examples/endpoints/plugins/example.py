"""The bare-bones Example from plugincore's docs: answers GET and POST at /example."""

from plughost import BasePlugin


class Example(BasePlugin):
    def request_handler(self, **args):
        return {"example": "Hi from Example.py"}
