"""docs/gitops.md: its Argo CD and Flux snippets parse and cover every field gridshift writes."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from gridshift import names
from gridshift.actions import kinds
from gridshift.actions.executor import RELEASED_POINTER, STATE_POINTER

DOC = Path(__file__).resolve().parents[1] / "docs" / "gitops.md"


def snippets() -> list[dict]:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)]


def test_snippets_parse():
    documents = snippets()
    assert [d["kind"] for d in documents] == ["Application", "Kustomization"]


def test_argo_cd_ignores_the_gridshift_manager_on_every_kind_and_respects_it_on_sync():
    [application] = [d for d in snippets() if d["kind"] == "Application"]
    ignored = {(rule["group"], rule["kind"]) for rule in application["spec"]["ignoreDifferences"]
               if rule.get("managedFieldsManagers") == [names.FIELD_MANAGER]}
    expected = {(kind.group_version.split("/")[0], kind.name) for kind in (*kinds.WORKLOAD_KINDS, kinds.HPA)}
    assert ignored == expected
    assert "RespectIgnoreDifferences=true" in application["spec"]["syncPolicy"]["syncOptions"]


def test_flux_ignores_every_field_an_action_writes():
    [kustomization] = [d for d in snippets() if d["kind"] == "Kustomization"]
    rules = kustomization["spec"]["ignore"]

    def paths_for(kind_name: str) -> set[str]:
        return {path for rule in rules if re.fullmatch(rule["target"]["kind"], kind_name) for path in rule["paths"]}

    for kind in kinds.WORKLOAD_KINDS:
        written = {STATE_POINTER, RELEASED_POINTER, kind.affinity, *(p for p in (kind.replicas, kind.suspend) if p)}
        assert written <= paths_for(kind.name), kind.name
    assert {kinds.HPA_MIN, kinds.HPA_MAX, STATE_POINTER} <= paths_for(kinds.HPA.name)
