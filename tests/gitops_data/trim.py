"""Cut an excerpt of one version of a CRD's openAPIV3Schema for tests/test_gitops_docs.py.

    python tests/gitops_data/trim.py CRD.yaml VERSION OUT.yaml --source "repo path commit (tag)" KEPT...

KEPT are dotted field paths (`spec.ignore`, `spec.source.repoURL`; array items are passed through).
The excerpt keeps, unchanged, the whole schema under each kept path. On the way down to a kept
path, every object keeps its `type`, `required` and the names of all its properties, so a field
the real API does not have is still refused; a sibling nobody kept is cut to its `type` plus
`x-gridshift-trimmed: true`, which the test's validator refuses to pass silently (re-vendor with
that path kept). `description` is dropped everywhere (prose, not schema); nothing else is changed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

TRIMMED = "x-gridshift-trimmed"


def strip_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: strip_descriptions(value) for key, value in node.items() if key != "description"}
    if isinstance(node, list):
        return [strip_descriptions(value) for value in node]
    return node


def trim(schema: dict[str, Any], kept: list[list[str]]) -> dict[str, Any]:
    if any(not path for path in kept):
        return strip_descriptions(schema)
    if schema.get("type") == "array":
        return {**{k: v for k, v in schema.items() if k not in ("items", "description")},
                "items": trim(schema["items"], kept)}
    out = {key: value for key, value in schema.items() if key not in ("properties", "description")}
    properties = {}
    for name, sub in (schema.get("properties") or {}).items():
        below = [path[1:] for path in kept if path[0] == name]
        if below:
            properties[name] = trim(sub, below)
        else:
            cut = {key: sub[key] for key in ("type", "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields")
                   if key in sub}
            properties[name] = {**cut, TRIMMED: True}
    missing = sorted({path[0] for path in kept} - set(properties))
    if missing:
        raise SystemExit(f"not in this schema: {missing}")
    out["properties"] = properties
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("crd")
    parser.add_argument("version")
    parser.add_argument("out")
    parser.add_argument("--source", required=True, help="repo, path, commit and tag the CRD was read at")
    parser.add_argument("kept", nargs="+")
    args = parser.parse_args()
    crd = yaml.safe_load(Path(args.crd).read_text())
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == args.version]
    excerpt = {
        "group": crd["spec"]["group"],
        "kind": crd["spec"]["names"]["kind"],
        "version": args.version,
        "openAPIV3Schema": trim(version["schema"]["openAPIV3Schema"], [p.split(".") for p in args.kept]),
    }
    header = [f"# Excerpt of {crd['metadata']['name']} {args.version} openAPIV3Schema.",
              f"# Source: {args.source}",
              f"# Kept whole (descriptions dropped): {', '.join(args.kept)}.",
              "# Every other property is cut to its type with x-gridshift-trimmed: true; property names",
              "# are all kept, so unknown fields are still refused. Made with tests/gitops_data/trim.py."]
    body = yaml.safe_dump(excerpt, sort_keys=False, width=120)
    Path(args.out).write_text("\n".join(header) + "\n" + body)


if __name__ == "__main__":
    main()
