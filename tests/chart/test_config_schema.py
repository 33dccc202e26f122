"""The values schema of `config.*` is gridshift's own configuration, generated from its dataclasses.

Aspects: the chart's copy (values.schema.json properties.config) equals what gridshift.config_schema
generates now (drift fails with the command that regenerates it); the schema and the loader agree:
every section the schema closes (additionalProperties false) the loader closes too (an unknown key
there fails build_config), a file of every key at the schema's default loads into exactly the
default Config, and the schema's types are the loader's (a wrong type fails both); a misspelt key
(config.grid.entsoe.zone for zones) or a wrong type is refused by the schema, by an install's render
and by `helm lint --strict`, with the key's path; what the chart sets itself (addresses, ports, the
estimator switch) is refused in `config`; the chart's defaults, every combination, the kind
workflow's values and the config examples in the values comments pass.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import helm_python as helm
import pytest
import yaml

from gridshift import config_schema
from gridshift.config import Config, ConfigError, build_config
from tests.chart.render import CHART, COMBINATIONS, chart
from tests.chart.test_render import lint_findings

SCHEMA = json.loads((CHART / "values.schema.json").read_text())


def test_the_charts_copy_is_what_the_dataclasses_generate():
    assert SCHEMA["properties"]["config"] == config_schema.chart_config_schema(), (
        f"charts/gridshift/values.schema.json properties.config is stale: run {config_schema.REGENERATE}")
    assert config_schema.main(["--check"]) == 0


def closed_sections(schema: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The paths of every object the schema closes to unknown keys (mappings get a sample key)."""
    found = []
    if schema.get("additionalProperties") is False:
        found.append(path)
        for name, child in schema["properties"].items():
            found += closed_sections(child, (*path, name))
    elif isinstance(schema.get("additionalProperties"), dict):
        found += closed_sections(schema["additionalProperties"], (*path, "SAMPLE"))
    return found


def nested(path: tuple[str, ...], leaf: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = leaf
    for name in reversed(path):
        value = {name: value}
    return value


def test_every_section_the_schema_closes_the_loader_closes_too():
    sections = closed_sections(config_schema.config_schema())
    assert len(sections) > 20 and ("grid", "entsoe") in sections and ("grid", "thresholds", "SAMPLE") in sections
    for path in sections:
        raw = nested(path, {"surely_not_a_key": 1})
        with pytest.raises(ConfigError, match="surely_not_a_key: unknown key"):
            build_config(raw, env={})


def defaults_of(schema: dict[str, Any]) -> dict[str, Any]:
    return {name: defaults_of(child) if "properties" in child else child["default"]
            for name, child in schema["properties"].items() if "properties" in child or "default" in child}


def test_a_file_of_every_default_in_the_schema_loads_into_the_default_config():
    raw = defaults_of(config_schema.config_schema())
    assert raw["grid"]["entsoe"]["endpoint"] == "https://web-api.tp.entsoe.eu/api"
    assert raw["serving"]["shutdown_grace_seconds"] == 20
    assert build_config(yaml.safe_load(yaml.safe_dump(raw)), env={}) == Config()


def walk_leaves(schema: dict[str, Any], path: tuple[str, ...] = ()):
    for name, child in schema.get("properties", {}).items():
        if "properties" in child:
            yield from walk_leaves(child, (*path, name))
        else:
            yield (*path, name), child


WRONG = {"boolean": "yes", "integer": 1.5, "number": "fast", "string": 5, "array": "DE_LU", "object": [1]}


def test_a_wrong_type_is_refused_by_the_schema_and_the_loader_alike():
    checked = 0
    for path, leaf in walk_leaves(config_schema.config_schema()):
        if "type" not in leaf:  # a union (number or percentile): either type is right
            continue
        raw = nested(path, WRONG[leaf["type"]])
        with pytest.raises(ConfigError, match=".".join(path)):
            build_config(raw, env={})
        owned = ".".join(path) in config_schema.CHART_OWNED
        if not owned:
            with pytest.raises(helm.HelmValuesError, match="/config/" + "/".join(path)):
                chart().validate_schema({"config": raw})
        checked += 1
    assert checked > 90, checked  # every scalar, list and mapping key of the file


TYPOS = [
    ({"grid": {"entsoe": {"zone": ["DE_LU"]}}}, "at '/config/grid/entsoe': additional properties 'zone' not allowed"),
    ({"actions": {"leader_election": {"enable": True}}}, "at '/config/actions/leader_election': additional properties 'enable' not allowed"),
    ({"grid": {"thresholds": {"DE_LU": {"hihg": 400}}}}, "at '/config/grid/thresholds/DE_LU': additional properties 'hihg' not allowed"),
    ({"serving": {"threads": "4"}}, "at '/config/serving/threads': got string, want integer"),
    ({"cluster": {"region_to_zone": {"eu-central-1": 5}}}, "at '/config/cluster/region_to_zone/eu-central-1': got number, want string"),
    ({"grid": {"entsoe": {"zones": "DE_LU"}}}, "at '/config/grid/entsoe/zones': got string, want array"),
    ({"log_format": "logfmt"}, "at '/config/log_format': value must be one of 'text', 'json'"),
    ({"power": {"port": 9999}}, "at '/config/power': additional properties 'port' not allowed"),
]


@pytest.mark.parametrize(("config", "message"), TYPOS, ids=[m.split(":")[0] for _, m in TYPOS])
def test_a_misspelt_key_or_a_wrong_type_in_config_is_refused_with_its_path(config, message):
    with pytest.raises(helm.HelmValuesError) as refused:
        chart().validate_schema({"config": config})
    assert message in str(refused.value), str(refused.value)
    with pytest.raises(helm.HelmValuesError):  # an install renders nothing
        chart().render({"config": config}, name="gridshift", namespace="gridshift")


def test_helm_lint_reports_the_typo(chart_as_cloned):
    findings = lint_findings(chart_as_cloned, {"config": {"grid": {"entsoe": {"zone": ["DE_LU"]}}}}, "v1.31.0")
    assert any("additional properties 'zone' not allowed" in f["error"] for f in findings), findings
    assert not lint_findings(chart_as_cloned, {"config": {"grid": {"entsoe": {"zones": ["DE_LU"]}}},
                                               "entsoe": {"apiKey": "k"}}, "v1.31.0")


def values_comment_examples() -> list[dict[str, Any]]:
    """The `config` examples in values.yaml's comments (`#   entsoe: {zones: [DE_LU, FR]}` under grid:)."""
    examples = []
    section = None
    for line in (CHART / "values.yaml").read_text().splitlines():
        if line.startswith("  ") and not line.startswith("   ") and line.strip().endswith("{}"):
            section = line.strip().split(":")[0]
        elif line.startswith("  #   ") and section and ":" in line:
            text = line.removeprefix("  #   ").split("  #")[0]
            parsed = yaml.safe_load(text)
            if isinstance(parsed, dict):
                examples.append({section: parsed})
        elif not line.startswith("  #"):
            section = None
    return examples


def test_the_defaults_the_fixtures_and_the_documented_examples_pass():
    chart().validate_schema({})
    for values in COMBINATIONS.values():
        chart().validate_schema(values)
    chart().validate_schema(yaml.safe_load((CHART / "ci" / "kind-values.yaml").read_text()))
    examples = values_comment_examples()
    assert {"grid": {"entsoe": {"zones": ["DE_LU", "FR"]}}} in examples, examples
    for example in examples:
        chart().validate_schema({"config": example})


def test_secrets_are_not_keys():
    secret_fields = [f.name for f in dataclasses.fields(Config().grid.entsoe) if "secret" in f.metadata]
    assert secret_fields == ["api_key"]
    assert "api_key" not in SCHEMA["properties"]["config"]["properties"]["grid"]["properties"]["entsoe"]["properties"]
    with pytest.raises(helm.HelmValuesError, match="additional properties 'api_key' not allowed"):
        chart().validate_schema({"config": {"grid": {"entsoe": {"api_key": "x"}}}})
