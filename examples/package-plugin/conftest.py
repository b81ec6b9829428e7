# These tests run against the installed package (`pip install -e .` first); in
# plughost's own test run, where it is not installed, they are not collected.
import importlib.util

collect_ignore = [] if importlib.util.find_spec("plughost_shout") else ["tests"]
