"""A JSON schema (draft-07) of the configuration file, generated from the dataclasses gridshift.config builds.

The loader (gridshift.config.build_config) refuses unknown keys in every section, so every section
here has `additionalProperties: false`; a mapping (zone -> thresholds, region -> zone, ...) takes any
key and checks its values; secrets are not keys (they come from the environment). Types follow the
loader: a float field takes any number, an int field an integer, a tuple a list, a union any of its
members (never null). Each field has its default and, where its source has one, its comment as
description. Range and cross-field checks stay the loader's (`check()`), which each component runs
at start; the schema catches what a values file gets wrong most: a misspelt key, a wrong type.

The chart embeds it as `properties.config` of charts/gridshift/values.schema.json, without what the
chart sets itself (CHART_OWNED), so `helm install` refuses `config.grid.entsoe.zone` (for `zones`)
before anything is rendered. Regenerate after changing a settings dataclass:

    .venv/bin/python -m gridshift.config_schema --write     # --check: exit 1 if the chart's copy differs
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import re
import sys
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gridshift.config import LOG_FORMATS, LOG_LEVELS, Config

# Extra constraints the dataclasses' types cannot say, by dotted key.
ENUMS: Mapping[str, tuple[str, ...]] = {"log_level": LOG_LEVELS, "log_format": LOG_FORMATS}

# Set by the chart in each component's file: listen addresses and ports (the containers' and
# Services'), and the estimator switch (from the value power.estimator.enabled). Refused in
# `config` so that a value the chart would overwrite is not silently ignored.
CHART_OWNED = ("exporter.listen_address", "exporter.port", "actions.listen_address", "actions.port",
               "power.listen_address", "power.port", "power.estimator.enabled")
# The top-level sections the chart's `config` takes (each component's file gets its own).
CHART_SECTIONS = ("log_level", "log_format", "serving", "exporter", "grid", "cluster", "actions", "power")

VALUES_SCHEMA = Path(__file__).resolve().parents[1] / "charts" / "gridshift" / "values.schema.json"
REGENERATE = ".venv/bin/python -m gridshift.config_schema --write"

_SCALARS = {bool: {"type": "boolean"}, int: {"type": "integer"}, float: {"type": "number"}, str: {"type": "string"}}


def config_schema() -> dict[str, Any]:
    """The schema of a whole configuration file."""
    return {"$schema": "http://json-schema.org/draft-07/schema#", "title": "gridshift configuration",
            **_dataclass_schema(Config, "")}


def chart_config_schema() -> dict[str, Any]:
    """The schema of the chart's `config` value: the file's, less what the chart sets (CHART_OWNED)."""
    schema = _dataclass_schema(Config, "")
    schema["properties"] = {key: schema["properties"][key] for key in CHART_SECTIONS}
    for dotted in CHART_OWNED:
        *parents, name = dotted.split(".")
        node = schema
        for parent in parents:
            node = node["properties"][parent]
        del node["properties"][name]
    schema["description"] = ("the gridshift configuration file (docs/configuration.md), generated from gridshift/config.py "
                             f"by `{REGENERATE}`; listen addresses, ports and power.estimator.enabled are set by the chart")
    return schema


def _schema(hint: Any, key: str) -> dict[str, Any]:
    if dataclasses.is_dataclass(hint):
        return _dataclass_schema(typing.cast(type, hint), key)
    origin = typing.get_origin(hint)
    if origin in (dict, Mapping):
        _, value_hint = typing.get_args(hint)
        return {"type": "object", "additionalProperties": _schema(value_hint, f"{key}.*")}
    if origin is tuple:
        item_hint, _ellipsis = typing.get_args(hint)
        return {"type": "array", "items": _schema(item_hint, f"{key}[]")}
    if origin in (types.UnionType, typing.Union):
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]  # the loader never takes null
        return {"anyOf": [_schema(member, key) for member in members]}
    if hint in _SCALARS:
        schema = dict(_SCALARS[hint])
        if key in ENUMS:
            schema["enum"] = list(ENUMS[key])
        return schema
    raise TypeError(f"{key}: no JSON schema for {hint!r}")


def _dataclass_schema(cls: type, prefix: str) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    comments = _field_comments(cls)
    properties = {}
    for f in dataclasses.fields(cls):
        if "secret" in f.metadata:
            continue
        key = f"{prefix}{f.name}"
        schema = _schema(hints[f.name], key)
        if not dataclasses.is_dataclass(hints[f.name]):  # a section's defaults are its fields'
            default = _default(f)
            if default is not None:
                schema["default"] = default
        if f.name in comments:
            schema["description"] = comments[f.name]
        properties[f.name] = schema
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    doc = inspect.getdoc(cls)
    if doc and not doc.startswith(f"{cls.__name__}("):  # not the one dataclass() writes
        schema["description"] = " ".join(doc.split())
    return schema


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return None
    return json.loads(json.dumps(value, default=dict)) if isinstance(value, Mapping) else (
        list(value) if isinstance(value, tuple) else value)


_FIELD = re.compile(r"^    (\w+): [^=]+(?:=.*)?$")


def _field_comments(cls: type) -> dict[str, str]:
    """Each field's comment in its class's source: the one on its line, else the lines just above it."""
    try:
        lines = inspect.getsource(cls).splitlines()
    except (OSError, TypeError):
        return {}
    found: dict[str, str] = {}
    above: list[str] = []
    for line in lines:
        stripped = line.strip()
        if line.startswith("    #") and not line.startswith("     "):
            above.append(stripped.lstrip("# "))
            continue
        match = _FIELD.match(line)
        if match:
            code, hash_, trailing = line.partition("  # ")
            text = trailing.strip() if hash_ else " ".join(above)
            if text:
                found[match.group(1)] = text
        above = []
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the configuration file's JSON schema.")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help=f"update properties.config of {VALUES_SCHEMA.name} in the chart")
    group.add_argument("--check", action="store_true", help="exit 1 if the chart's copy differs from the dataclasses")
    args = parser.parse_args(argv)
    if not (args.write or args.check):
        print(json.dumps(config_schema(), indent=2))
        return 0
    values = json.loads(VALUES_SCHEMA.read_text(encoding="utf-8"))
    wanted = chart_config_schema()
    if args.check:
        if values["properties"]["config"] != wanted:
            print(f"{VALUES_SCHEMA} properties.config differs from gridshift/config.py: run {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    values["properties"]["config"] = wanted
    VALUES_SCHEMA.write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
