"""Docs that must not drift: every configuration key is documented."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

from gridshift.config import Config

DOCS = Path(__file__).resolve().parents[1] / "docs"


def config_keys(cls: type, prefix: str = "") -> list[str]:
    """The file's keys under settings dataclass `cls`, dotted, each after `prefix` (secrets are not keys:
    they come from the environment)."""
    hints = typing.get_type_hints(cls)
    keys = []
    for field in dataclasses.fields(cls):
        if "secret" in field.metadata:
            continue
        if dataclasses.is_dataclass(hints[field.name]):
            keys += config_keys(hints[field.name], f"{prefix}{field.name}.")
        else:
            keys.append(f"{prefix}{field.name}")
    return keys


def test_every_configuration_key_is_documented():
    text = (DOCS / "configuration.md").read_text()
    missing = [key for key in config_keys(Config) if f"`{key}`" not in text]
    assert not missing, f"configuration keys not in docs/configuration.md: {missing}"
