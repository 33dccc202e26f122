"""The generated webhook token survives upgrades; given tokens and existing Secrets are used as given.

Aspects: without a token a random one is generated (48 alphanumerics); an install against a
cluster that already holds the release's token Secret keeps that token (Helm's `lookup`,
answered by a local API server through a server-side dry run that writes nothing) and one
without it generates a new one; an inline token is used verbatim; an existingSecret is
referenced and nothing is rendered for it.

`helm template` and other offline renders (Argo CD's, for one) cannot look anything up, so they
generate a new token each time: docs/helm.md tells GitOps users to use webhook.existingSecret.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import helm_python as helm
import yaml
from helm_python import _native

from tests.chart.fake_apiserver import FakeApiServer
from tests.chart.render import COMBINATIONS, NAMESPACE, RELEASE, render

SECRET = f"{RELEASE}-webhook-token"


def token_of(objects: list[dict]) -> str:
    (secret,) = [o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == SECRET]
    return base64.b64decode(secret["data"]["token"]).decode()


def install_dry_run_server(chart_dir: Path, api: FakeApiServer, values: dict) -> list[dict]:
    """`helm install --dry-run=server` against `api`: lookups answered, nothing created.

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
    return [doc for doc in yaml.safe_load_all(json.loads(payload)["manifest"]) if doc]


def fake_cluster() -> FakeApiServer:
    return FakeApiServer({(o["apiVersion"], o["kind"]) for o in render().objects})


def test_a_generated_token_is_long_and_random():
    token = token_of(render().objects)
    assert re.fullmatch(r"[A-Za-z0-9]{48}", token), token


def test_an_upgrade_keeps_the_token_already_in_the_cluster(chart_with_kepler_stub):
    with fake_cluster() as api:
        first = token_of(install_dry_run_server(chart_with_kepler_stub, api, {}))
        assert re.fullmatch(r"[A-Za-z0-9]{48}", first)
        # the Secret as the first install left it, owned by the release
        api.put({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                 "metadata": {"name": SECRET, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/managed-by": "Helm"},
                              "annotations": {"meta.helm.sh/release-name": RELEASE, "meta.helm.sh/release-namespace": NAMESPACE}},
                 "data": {"token": base64.b64encode(first.encode()).decode()}})
        again = token_of(install_dry_run_server(chart_with_kepler_stub, api, {"config": {"actions": {"dry_run": True}}}))
        assert again == first
        lookups = [path for method, path in api.requests if path.endswith(f"/secrets/{SECRET}")]
        assert lookups and all(path == f"/api/v1/namespaces/{NAMESPACE}/secrets/{SECRET}" for path in lookups)
        assert [r for r in api.requests if r[0] != "GET"] == []  # a dry run: nothing written


def test_an_inline_token_wins_over_the_one_in_the_cluster(chart_with_kepler_stub):
    with fake_cluster() as api:
        api.put({"apiVersion": "v1", "kind": "Secret",
                 "metadata": {"name": SECRET, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/managed-by": "Helm"},
                              "annotations": {"meta.helm.sh/release-name": RELEASE, "meta.helm.sh/release-namespace": NAMESPACE}},
                 "data": {"token": base64.b64encode(b"old").decode()}})
        objects = install_dry_run_server(chart_with_kepler_stub, api, {"webhook": {"token": "rotated-token"}})
        assert token_of(objects) == "rotated-token"


def test_inline_tokens_are_used_verbatim():
    rendered = render(COMBINATIONS["tokens-inline"])
    assert token_of(rendered.objects) == "inline-webhook-token-0123456789"
    assert base64.b64decode(rendered.get("Secret", "gridshift-entsoe")["data"]["api-key"]) == b"inline-entsoe-key"
    assert base64.b64decode(rendered.get("Secret", "gridshift-electricitymaps")["data"]["token"]) == b"inline-emaps-token"


def test_an_existing_secret_is_referenced_not_rendered():
    rendered = render(COMBINATIONS["existing-secrets"])
    assert not rendered.of_kind("Secret")
    credentials = rendered.get("AlertmanagerConfig", "gridshift")["spec"]["receivers"][0]["webhookConfigs"][0]
    assert credentials["httpConfig"]["authorization"]["credentials"] == {"name": "my-webhook", "key": "bearer"}
    assert "my-webhook" in rendered.notes and "bearer" in rendered.notes
