"""The plugin's own logic, in a submodule: an edit here reloads the plugin too."""


def loud(text: str, suffix: str) -> str:
    return text.upper() + suffix
