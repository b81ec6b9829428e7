"""Input normalisation in process_input: trim text values, drop the empty ones.

``?name=%20Ann%20`` reaches the endpoint as ``name="Ann"``, and ``?name=``
as no ``name`` at all, so the endpoint's default applies.
"""


def process_input(context):
    cleaned = {}
    for key, value in context.input.items():
        if isinstance(value, str):
            value = value.strip()
            if not value:
                continue
        cleaned[key] = value
    context.input = cleaned
