"""azure.yaml and the two parameter files: azd's view and `az deployment sub create`'s view."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.infra.bicep_tree import INFRA_DIR, PROJECT_DIR, read

_JSON_VALUE = re.compile(r"\$\{(\w+)(?:=([^}]*))?\}")
_BICEPPARAM_LINE = re.compile(r"^param (\w+) = (.+)$", re.MULTILINE)
_READ_VARIABLE = re.compile(r"readEnvironmentVariable\('(\w+)'(?:, '([^']*)')?\)")


def _json_parameters() -> dict[str, tuple[str, str | None]]:
    """Parameter name to (environment variable, default or None) in main.parameters.json."""
    document = json.loads((INFRA_DIR / "main.parameters.json").read_text())
    assert document["$schema"].endswith("deploymentParameters.json#")
    mapped: dict[str, tuple[str, str | None]] = {}
    for name, entry in document["parameters"].items():
        match = _JSON_VALUE.fullmatch(entry["value"])
        assert match, f"{name}: expected a single ${{VARIABLE}} or ${{VARIABLE=default}}"
        mapped[name] = (match.group(1), match.group(2))
    return mapped


def _bicepparam_parameters() -> dict[str, tuple[str, str | None]]:
    """Parameter name to (environment variable, default) in main.bicepparam."""
    text = (INFRA_DIR / "main.bicepparam").read_text()
    assert re.search(r"^using '\./main\.bicep'$", text, re.MULTILINE)
    mapped: dict[str, tuple[str, str | None]] = {}
    for name, expression in _BICEPPARAM_LINE.findall(text):
        match = _READ_VARIABLE.search(expression)
        assert match, f"{name}: expected readEnvironmentVariable('NAME', 'default')"
        mapped[name] = (match.group(1), match.group(2))
    return mapped


def _main_parameters() -> dict[str, Any]:
    return {d.name: d for d in read(INFRA_DIR / "main.bicep").of_kind("param")}


class TestParameterFiles:
    def test_both_files_map_the_same_variables_to_the_same_parameters(self) -> None:
        from_json, from_bicepparam = _json_parameters(), _bicepparam_parameters()
        assert sorted(from_json) == sorted(from_bicepparam)
        for name, (variable, default) in from_json.items():
            assert from_bicepparam[name][0] == variable, name
            if default is not None:
                assert from_bicepparam[name][1] == default, name

    def test_every_parameter_exists_and_every_required_one_is_given(self) -> None:
        declared = _main_parameters()
        for mapped in (_json_parameters(), _bicepparam_parameters()):
            assert sorted(set(mapped) - set(declared)) == []
            required = {name for name, d in declared.items() if d.node is None}
            assert sorted(required - set(mapped)) == []

    def test_the_key_hash_secret_is_never_passed_so_it_stays_generated(self) -> None:
        assert "keyHashSecret" not in _json_parameters()
        assert "keyHashSecret" not in _bicepparam_parameters()
        variable, default = _json_parameters()["keyHashSecretExists"]
        assert (variable, default) == ("KEY_HASH_SECRET_EXISTS", "false")
        outputs = {d.name for d in read(INFRA_DIR / "main.bicep").of_kind("output")}
        assert variable in outputs

    def test_azd_standard_variables(self) -> None:
        mapped = _json_parameters()
        assert mapped["environmentName"] == ("AZURE_ENV_NAME", None)
        assert mapped["location"] == ("AZURE_LOCATION", None)
        assert mapped["principalId"] == ("AZURE_PRINCIPAL_ID", None)

    def test_the_bicepparam_default_location_is_allowed(self) -> None:
        allowed = _main_parameters()["location"].decorators["allowed"][0]
        default_location = _bicepparam_parameters()["location"][1]
        assert f"'{default_location}'" in allowed.split()

    def test_defaults_satisfy_the_allowed_values(self) -> None:
        declared = _main_parameters()
        for name, (_, default) in _bicepparam_parameters().items():
            allowed = declared[name].decorators.get("allowed")
            if allowed and default is not None and not default.isdigit():
                assert f"'{default}'" in allowed[0].split(), name


def _read_simple_yaml(text: str) -> dict[str, Any]:
    """Nested mappings of plain scalars: the subset azure.yaml uses."""
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, root)]
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        key, _, value = line.strip().partition(":")
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        if value.strip():
            parent[key] = value.strip()
        else:
            parent[key] = {}
            stack.append((indent, parent[key]))
    return root


class TestAzureYaml:
    def test_the_api_service_is_the_python_function_app_at_the_root(self) -> None:
        document = _read_simple_yaml((PROJECT_DIR / "azure.yaml").read_text())
        assert document["services"]["api"] == {
            "project": ".",
            "language": "python",
            "host": "function",
        }

    def test_the_post_provision_hook_builds_the_teams_package(self) -> None:
        document = _read_simple_yaml((PROJECT_DIR / "azure.yaml").read_text())
        hook = document["hooks"]["postprovision"]
        assert hook["posix"]["run"] == "python3 -m appPackage.build"
        assert hook["windows"]["run"] == "python -m appPackage.build"
