"""`helm install --dry-run=server` through the Helm SDK, against tests/chart/fake_apiserver.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml
from helm_python import _native

from tests.chart.fake_apiserver import FakeApiServer
from tests.chart.render import NAMESPACE, RELEASE


def install_dry_run_server(chart_dir: Path, api: FakeApiServer, values: dict[str, Any]) -> dict[str, Any]:
    """The release summary (`manifest` parsed into `objects`): lookups answered, nothing created.

    Called through the SDK's native entry point because its Python wrapper does not pass
    `disable_openapi_validation`, which a server without an OpenAPI document needs (the
    chart's objects are validated against the real schemas in test_render.py).
    """
    config = helm.Config(kube_apiserver=api.url, namespace=NAMESPACE, storage_driver="memory")
    try:
        with helm.Chart.load(str(chart_dir)) as chart:
            options = {"namespace": NAMESPACE, "dry_run": "server", "disable_openapi_validation": True}
            payload = _native.call_string("helm_install", config._raw(), _native.HANDLE(0), chart._raw(), None,
                                          RELEASE, json.dumps(values), json.dumps(options))
    finally:
        config.close()
    release: dict[str, Any] = json.loads(payload)
    release["objects"] = [doc for doc in yaml.safe_load_all(release["manifest"]) if doc]
    return release
