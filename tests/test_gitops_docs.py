"""docs/gitops.md: every YAML snippet is valid for the real API it is written for, and the ignore
rules in the Argo CD, Flux Kustomization and Flux HelmRelease snippets cover every field gridshift
writes.

The custom resources are checked against excerpts of the upstream CRDs' openAPIV3Schema in
tests/gitops_data/ (README there: repositories, paths, commits, how they were trimmed), with the
small structural validator below: unknown fields are refused as the API server's strict field
validation refuses them, and types, `required`, `enum`, `pattern` and lengths are checked.
Built-in kinds, and every snippet's `metadata`, are checked with kubernetes-validate's strict schemas.
"""

from __future__ import annotations

import copy
import fnmatch
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from gridshift import names
from gridshift.actions import kinds
from gridshift.actions.executor import HELD_SECONDS_POINTER, RELEASED_POINTER, STATE_POINTER

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "gitops.md"
DATA = Path(__file__).resolve().parent / "gitops_data"
SCHEMAS = {  # (apiVersion, kind) -> the excerpt of the CRD that serves it
    ("argoproj.io/v1alpha1", "Application"): "argo-cd-v3.5.1-application.yaml",
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"): "kustomize-controller-v1.9.4-kustomization.yaml",
    ("helm.toolkit.fluxcd.io/v2", "HelmRelease"): "helm-controller-v1.6.3-helmrelease.yaml",
}
KUSTOMIZATION_BEFORE_IGNORE = "kustomize-controller-v1.8.5-kustomization.yaml"  # last release without spec.ignore
KUBERNETES = "1.37.0"  # kubernetes-validate's schemas for built-in kinds
TRIMMED = "x-gridshift-trimmed"
# KEDA's own annotation (keda.sh, "Pausing autoscaling"): gridshift holds a KEDA-scaled workload with it.
KEDA_PAUSED_POINTER = "/metadata/annotations/autoscaling.keda.sh~1paused-replicas"
# The CEL rules (x-kubernetes-validations) of the kept schema, each as Python: one not listed here fails.
CEL = {
    "(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))":
        lambda spec: ("chart" in spec) != ("chartRef" in spec),
}


def snippets() -> list[dict]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    return [document for block in blocks for document in yaml.safe_load_all(block) if document is not None]


def the(kind: str) -> dict:
    [document] = [d for d in snippets() if d["kind"] == kind]
    return document


def schema(name: str) -> dict:
    return yaml.safe_load((DATA / name).read_text())["openAPIV3Schema"]


# -- the structural validator ---------------------------------------------------------------------

TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int, "number": (int, float)}


def refusals(value: Any, node: dict, path: str = "") -> list[str]:
    """What the API server would refuse in `value` under the structural schema `node`."""
    where = path or "."
    if node.get(TRIMMED):
        return [f"{where}: not in the vendored schema excerpt (re-vendor it with this field kept)"]
    if value is None and node.get("nullable"):
        return []
    if node.get("x-kubernetes-int-or-string"):
        ok = isinstance(value, (int, str)) and not isinstance(value, bool)
        return [] if ok else [f"{where}: must be an integer or a string"]
    expected = node.get("type")
    if expected is not None:
        python = TYPES[expected]
        if not isinstance(value, python) or (isinstance(value, bool) and expected in ("integer", "number")):
            return [f"{where}: must be {expected}, not {type(value).__name__}"]
    errors = []
    if "enum" in node and value not in node["enum"]:
        errors.append(f"{where}: {value!r} not one of {node['enum']}")
    if isinstance(value, str):
        if "pattern" in node and not re.search(node["pattern"], value):
            errors.append(f"{where}: {value!r} does not match {node['pattern']}")
        if len(value) < node.get("minLength", 0) or len(value) > node.get("maxLength", len(value)):
            errors.append(f"{where}: length out of bounds")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < node.get("minimum", value) or value > node.get("maximum", value):
            errors.append(f"{where}: {value} out of bounds")
    if isinstance(value, list):
        if len(value) < node.get("minItems", 0) or len(value) > node.get("maxItems", len(value)):
            errors.append(f"{where}: number of items out of bounds")
        for index, item in enumerate(value):
            errors += refusals(item, node.get("items", {}), f"{path}[{index}]")
    if isinstance(value, dict):
        errors += [f"{path}.{key}: required" for key in node.get("required", []) if key not in value]
        properties, extra = node.get("properties"), node.get("additionalProperties")
        for key, item in value.items():
            if properties is not None and key in properties:
                errors += refusals(item, properties[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                errors += refusals(item, extra, f"{path}.{key}")
            elif not (node.get("x-kubernetes-preserve-unknown-fields") or extra is True):
                errors.append(f"{path}.{key}: unknown field")
    for validation in node.get("x-kubernetes-validations", []):
        check = CEL.get(validation["rule"])
        if check is None:
            errors.append(f"{where}: CEL rule {validation['rule']!r} has no Python equivalent in this test")
        elif not check(value):
            errors.append(f"{where}: {validation.get('message', validation['rule'])}")
    return errors


def metadata_refusals(metadata: Any) -> list[str]:
    """ObjectMeta is the API server's own type: check it with Kubernetes' strict schema."""
    carrier = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}
    try:
        kubernetes_validate.validate(carrier, KUBERNETES, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f".metadata: {error.message}"]
    return []


def custom_resource_refusals(document: dict, excerpt: str) -> list[str]:
    root = schema(excerpt)  # a CRD's schema says only `metadata: {type: object}`: ObjectMeta is checked apart
    root["properties"]["metadata"] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return refusals(document, root) + metadata_refusals(document.get("metadata"))


def validate(document: dict) -> list[str]:
    excerpt = SCHEMAS.get((document.get("apiVersion"), document.get("kind")))
    if excerpt is not None:
        return custom_resource_refusals(document, excerpt)
    try:
        kubernetes_validate.validate(document, KUBERNETES, strict=True)
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"no schema for this snippet: {error.message}"]
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(map(str, error.absolute_path))}: {error.message}"]
    return []


# -- what gridshift writes, from the code ---------------------------------------------------------


def group_version(kind: kinds.Kind) -> tuple[str, str]:
    group, _, version = kind.group_version.rpartition("/")
    return group, version


def written() -> dict[tuple[str, str, str], set[str]]:
    """(API group, version, kind) -> the JSON pointers gridshift writes on such objects."""
    records = {STATE_POINTER, RELEASED_POINTER}  # on whichever object holds the state
    fields = {}
    for kind in kinds.WORKLOAD_KINDS:
        fields[(*group_version(kind), kind.name)] = records | {kind.affinity} | {p for p in (kind.replicas, kind.suspend) if p}
    fields[(*group_version(kinds.JOB), kinds.JOB.name)].add(HELD_SECONDS_POINTER)  # a Job's restore (executor)
    fields[(*group_version(kinds.HPA), kinds.HPA.name)] = records | {kinds.HPA_MIN, kinds.HPA_MAX}
    karmada = kinds.PROPAGATION_POLICY
    fields[(*group_version(karmada), karmada.name)] = records | {kinds.CLUSTER_AFFINITY}
    fields[("keda.sh", "v1alpha1", "ScaledObject")] = records | {KEDA_PAUSED_POINTER}
    # Every kind the action service patches is here, under the group the code uses for it.
    for kind in kinds.BY_NAME.values():
        assert (*group_version(kind), kind.name) in fields, kind
    return fields


def flux_paths(rules: list[dict], group: str, version: str, kind: str) -> set[str]:
    """The paths Flux's rules ignore on such an object. Selector fields are regular expressions
    anchored at both ends (fluxcd/pkg ssa/jsondiff anchorRegex); a rule narrowed by name,
    namespace or labels would not cover every object, so it counts for none."""

    def selects(target: dict | None) -> bool:
        if not target:
            return True
        if set(target) - {"group", "version", "kind"}:
            return False
        return all(re.fullmatch(target[key], value) for key, value in
                   (("group", group), ("version", version), ("kind", kind)) if target.get(key))

    return {path for rule in rules if selects(rule.get("target")) for path in rule["paths"]}


# -- the tests ------------------------------------------------------------------------------------


def test_the_snippets_are_one_per_tool_and_case():
    assert [d["kind"] for d in snippets()] == ["Application", "Kustomization", "HorizontalPodAutoscaler", "HelmRelease"]


@pytest.mark.parametrize("document", snippets(), ids=lambda d: d["kind"])
def test_every_snippet_is_valid_for_the_real_api(document):
    assert validate(document) == []


def test_the_validator_refuses_what_the_api_server_refuses():
    kustomization, release = the("Kustomization"), the("HelmRelease")

    def broken(document: dict, change) -> list[str]:
        document = copy.deepcopy(document)
        change(document)
        return validate(document)

    # A field the API does not have: the name the Go option has in fluxcd/pkg/ssa, not the API's.
    assert broken(kustomization, lambda d: d["spec"].update(driftIgnoreRules=d["spec"].pop("ignore"))) == \
        [".spec.driftIgnoreRules: unknown field"]
    assert broken(kustomization, lambda d: d["spec"].update(prune="yes")) == [".spec.prune: must be boolean, not str"]
    assert broken(kustomization, lambda d: d["spec"]["ignore"][0].pop("paths")) == [".spec.ignore[0].paths: required"]
    assert broken(kustomization, lambda d: d["spec"]["sourceRef"].update(kind="Git"))[0].startswith(".spec.sourceRef.kind: 'Git' not one of")
    assert broken(kustomization, lambda d: d["spec"].update(interval="10 minutes"))[0].startswith(".spec.interval:")
    assert broken(kustomization, lambda d: d["spec"].update(wait=True)) == \
        [".spec.wait: not in the vendored schema excerpt (re-vendor it with this field kept)"]
    assert broken(kustomization, lambda d: d["metadata"].update(labelz={})) != []
    assert broken(release, lambda d: d["spec"].pop("chart")) == [".spec: either chart or chartRef must be set"]
    assert broken(release, lambda d: d["spec"]["driftDetection"].update(mode="on"))[0].startswith(".spec.driftDetection.mode:")
    assert broken(the("Application"), lambda d: d["spec"]["ignoreDifferences"][0].pop("kind")) == \
        [".spec.ignoreDifferences[0].kind: required"]
    assert broken(the("HorizontalPodAutoscaler"), lambda d: d["spec"].update(replicas=1)) != []
    assert validate({"apiVersion": "example.com/v1", "kind": "Unknown", "metadata": {"name": "x"}})[0].startswith("no schema")


def test_kustomization_ignore_rules_need_kustomize_controller_1_9():
    """`spec.ignore` is in the Kustomization API from v1.9.0 (fluxcd/kustomize-controller#1627): the
    last release before it refuses the snippet, and the page says which version it needs."""
    kustomization = the("Kustomization")
    assert custom_resource_refusals(kustomization, KUSTOMIZATION_BEFORE_IGNORE) == [".spec.ignore: unknown field"]
    del kustomization["spec"]["ignore"]
    assert custom_resource_refusals(kustomization, KUSTOMIZATION_BEFORE_IGNORE) == []
    text = DOC.read_text()
    assert "## Flux Kustomization, kustomize-controller v1.9.0 or later (Flux v2.9.0 or later)" in text
    assert "## Flux Kustomization before kustomize-controller v1.9.0" in text


def test_argo_cd_ignores_the_gridshift_manager_on_every_kind_and_respects_it_on_sync():
    application = the("Application")
    rules = [rule for rule in application["spec"]["ignoreDifferences"] if rule.get("managedFieldsManagers") == [names.FIELD_MANAGER]]

    def covered(group: str, kind: str) -> bool:  # argo-cd util/argo/diff/ignore.go: glob on group and kind
        return any(fnmatch.fnmatchcase(group, rule.get("group", "")) and fnmatch.fnmatchcase(kind, rule["kind"])
                   and not rule.get("name") and not rule.get("namespace") for rule in rules)

    assert [(group, kind) for group, _, kind in written() if not covered(group, kind)] == []
    assert "RespectIgnoreDifferences=true" in application["spec"]["syncPolicy"]["syncOptions"]


def test_flux_kustomization_ignores_every_field_gridshift_writes():
    rules = the("Kustomization")["spec"]["ignore"]
    missing = {key: paths - flux_paths(rules, *key) for key, paths in written().items()}
    assert {key: paths for key, paths in missing.items() if paths} == {}


def test_flux_helmrelease_ignores_every_field_gridshift_writes_when_drift_detection_is_on():
    detection = the("HelmRelease")["spec"]["driftDetection"]
    assert detection["mode"] == "enabled"
    missing = {key: paths - flux_paths(detection["ignore"], *key) for key, paths in written().items()}
    assert {key: paths for key, paths in missing.items() if paths} == {}


def test_older_flux_holds_the_hpa_through_the_apply_policy():
    hpa = the("HorizontalPodAutoscaler")
    assert hpa["metadata"]["annotations"] == {"kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent"}


def test_the_page_lists_every_field_it_covers():
    text = DOC.read_text()
    pointers = {pointer for paths in written().values() for pointer in paths}
    assert sorted(p for p in pointers if f"`{p}`" not in text and f"`{p.rsplit('/', 1)[-1]}`" not in text) == []
