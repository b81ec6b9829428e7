"""Every row of the plugincore tables on docs/migrating.md names the tests that show it.

A row added to the page without tests behind it, or a test named here that no longer
exists, fails this module.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "migrating.md"

COMPAT = "test_plugincore_compat_functional.py"
CONTRACT = "test_plugincore_contract_functional.py"
ENDPOINTS = "test_endpoints_functional.py"
IMPORT = "test_cli_import_config.py"

#: heading -> first cell of each row, in page order -> the tests that back the row
ROWS: dict[str, dict[str, tuple[str, ...]]] = {
    "### Plugins": {
        "`from plugincore.baseplugin import BasePlugin`": (
            f"{COMPAT}::test_systeminfo_subpath_answers_the_same",
            f"{COMPAT}::test_sessman_sessions_work_the_same",
            f"{COMPAT}::test_netinfo_lists_the_interfaces",
        ),
        "`__init__(self, **kwargs)` calling `super().__init__(**kwargs)`, the "
        "`[plugin_parms]` values as keywords": (
            f"{CONTRACT}::test_keyword_construction_initialize_and_args",
        ),
        '`self.log`, callable: `self.log("text")`, `self.log.info(...)`': (
            f"{CONTRACT}::test_keyword_construction_initialize_and_args",
        ),
        "`self._plugin_id`, set in `__init__` to mount elsewhere": (
            f"{CONTRACT}::test_a_plugin_id_set_in_init_is_where_it_answers",
        ),
        "`async def initialize(self, **kwargs)`, awaited after construction": (
            f"{CONTRACT}::test_keyword_construction_initialize_and_args",
            f"{CONTRACT}::test_initialize_that_raises_fails_the_plugin_with_file_and_line",
        ),
        "`terminate_plugin()` when a plugin is reloaded or the server stops": (
            f"{CONTRACT}::test_terminate_plugin_runs_on_reload_and_disable",
            f"{CONTRACT}::test_terminate_plugin_runs_when_the_server_stops",
            f"{COMPAT}::test_sessman_vacuum_task_stops_when_plughost_stops",
        ),
        "`request_handler` returns `(code, value)`": (
            f"{CONTRACT}::test_status_value_tuples",
            f"{COMPAT}::test_sessman_errors_are_the_same",
        ),
        "`async def request_handler`": (
            f"{ENDPOINTS}::test_plugincore_example",
            f"{COMPAT}::test_systeminfo_subpath_answers_the_same",
        ),
        "`args`: GET and POST values, `request_headers`, `request`, `client_ip`, `log`, "
        "`subpath`": (f"{CONTRACT}::test_keyword_construction_initialize_and_args",),
        "answers `/<route_path>` and `/<route_path>/<subpath>`, GET and POST": (
            f"{CONTRACT}::test_keyword_construction_initialize_and_args",
            f"{COMPAT}::test_sessman_errors_are_the_same",
        ),
        "a JSON body, whatever its `Content-Type`": (
            f"{CONTRACT}::test_a_json_object_body_is_read_whatever_its_content_type",
            f"{COMPAT}::test_sessman_sessions_work_the_same",
        ),
        "the key in `Authorization: Bearer`, `X-Custom-Auth` or an `apikey` value": (
            f"{CONTRACT}::test_x_custom_auth_header_is_a_key",
            f"{COMPAT}::test_netinfo_lists_the_interfaces",
            f"{COMPAT}::test_netinfo_takes_the_key_from_a_post_body",
            f"{ENDPOINTS}::test_query_key_refused_unless_allowed",
        ),
        "asyncio tasks the plugin starts; `task_callback(task)`": (
            f"{CONTRACT}::test_a_task_given_to_task_callback_is_cancelled_when_the_plugin_closes",
            f"{ENDPOINTS}::test_task_results_outlive_a_reload_of_their_plugin",
        ),
    },
    "### Configuration: `plughost import-config`": {
        "`[network] bindto`, `port`": (f"{IMPORT}::test_real_ini_becomes_a_valid_plughost_toml",),
        "`[paths] plugins`": (
            f"{IMPORT}::test_real_ini_becomes_a_valid_plughost_toml",
            f"{IMPORT}::test_plugin_parms_become_plugin_sections",
        ),
        "every `.py` file in the plugins folder is loaded": (
            f"{IMPORT}::test_real_ini_becomes_a_valid_plughost_toml",
            f"{COMPAT}::test_import_config_enables_every_plugin_in_the_folder",
        ),
        "`[plugin_parms] NAME=route_path=x&auth_type=plugin&apikey=k`": (
            f"{IMPORT}::test_plugin_parms_become_plugin_sections",
        ),
        "other `[plugin_parms]` values": (f"{IMPORT}::test_plugin_parms_become_plugin_sections",),
        "`[plugin_parms] NAME=json=FILE`": (
            f"{IMPORT}::test_json_file_values_are_copied_into_params",
            f"{COMPAT}::test_sessman_sessions_work_the_same",
        ),
        "`${ENV:VAR}`": (
            f"{IMPORT}::test_plugin_parms_become_plugin_sections",
            f"{IMPORT}::test_an_auth_key_from_the_environment_stays_there",
        ),
        "`[auth] apikey`": (f"{IMPORT}::test_real_ini_becomes_a_valid_plughost_toml",),
        "`[cors] enabled`, `origin_url`": (
            f"{IMPORT}::test_real_ini_becomes_a_valid_plughost_toml",
            f"{IMPORT}::test_cors_as_plugincore_sets_it_up",
        ),
        "`[SSL]`": (f"{IMPORT}::test_real_ini_becomes_a_valid_plughost_toml",),
    },
    "### What plughost deliberately does differently": {
        "a `(code, dict)` answer is sent with 200, whatever the code": (
            f"{COMPAT}::test_systeminfo_unknown_subpath_same_body_plughost_sends_the_status",
        ),
        'a list, or any value but a dict, str or response, is sent as `{"result": str(value)}`': (
            f"{COMPAT}::test_netinfo_lists_the_interfaces",
        ),
        "a str is sent as `text/html`": (f"{COMPAT}::test_a_str_is_text_plain_not_text_html",),
        'a missing or wrong key is a 200 `{"error": "unauthorized"}`': (
            f"{COMPAT}::test_netinfo_needs_the_global_key",
        ),
        'an exception in `request_handler` is a 200 `{"status": "exception", ...}` naming it': (
            f"{COMPAT}::test_an_exception_is_a_500_not_a_200_naming_it",
        ),
        "`client_ip` is the first `X-Forwarded-For` address, whoever sent it": (
            f"{COMPAT}::test_x_forwarded_for_from_anyone_is_not_believed",
            f"{CONTRACT}::test_a_trusted_proxy_names_the_client",
        ),
        "the query string overrides the body": (
            f"{COMPAT}::test_the_body_overrides_the_query_string",
        ),
        "a query or body value named `log`, `request` or `request_headers` replaces the host's": (
            f"{COMPAT}::test_a_value_named_like_a_host_arg_is_refused",
            f"{CONTRACT}::test_args_the_host_supplies_cannot_be_sent",
        ),
        "`self.config` is the INI (`self.config.paths.plugins`)": (
            f"{COMPAT}::test_self_config_is_the_plughost_config",
        ),
        "`/plugins`, `/reload/<plugin>` and SIGUSR1 reload": (
            f"{COMPAT}::test_import_config_enables_every_plugin_in_the_folder",
            f"{CONTRACT}::test_terminate_plugin_runs_on_reload_and_disable",
        ),
    },
}


def _first_cells(heading: str) -> list[str]:
    """The first cell of each row of the first table under ``heading`` (header dropped)."""
    text = PAGE.read_text(encoding="utf-8")
    lines = text[text.index(f"\n{heading}\n") :].splitlines()[2:]
    cells: list[str] = []
    fenced = False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        if fenced:
            continue
        if line.startswith("#"):
            break
        if line.startswith("|"):
            cells.append(re.split(r"(?<!\\)\|", line)[1].strip())
        elif cells:
            break
    return cells[2:]


@cache
def _tests_in(file: str) -> frozenset[str]:
    tree = ast.parse((ROOT / "tests" / file).read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in tree.body
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
        and node.name.startswith("test_")
    )


@pytest.mark.parametrize("heading", list(ROWS))
def test_every_row_is_backed_by_tests(heading: str) -> None:
    assert _first_cells(heading) == list(ROWS[heading])


@pytest.mark.parametrize("heading", list(ROWS))
def test_the_backing_tests_exist(heading: str) -> None:
    for row, tests in ROWS[heading].items():
        assert tests, row
        for test in tests:
            file, name = test.split("::")
            assert name in _tests_in(file), f"{row}: no {test}"
