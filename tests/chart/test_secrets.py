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
import re

from tests.chart.fake_apiserver import FakeApiServer
from tests.chart.install import install_dry_run_server
from tests.chart.render import COMBINATIONS, NAMESPACE, RELEASE, render

SECRET = f"{RELEASE}-webhook-token"


def token_of(objects: list[dict]) -> str:
    (secret,) = [o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == SECRET]
    return base64.b64decode(secret["data"]["token"]).decode()


def fake_cluster() -> FakeApiServer:
    return FakeApiServer({(o["apiVersion"], o["kind"]) for o in render().objects})


def test_a_generated_token_is_long_and_random():
    token = token_of(render().objects)
    assert re.fullmatch(r"[A-Za-z0-9]{48}", token), token


def test_an_upgrade_keeps_the_token_already_in_the_cluster(chart_as_cloned):
    with fake_cluster() as api:
        first = token_of(install_dry_run_server(chart_as_cloned, api, {})["objects"])
        assert re.fullmatch(r"[A-Za-z0-9]{48}", first)
        # the Secret as the first install left it, owned by the release
        api.put({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                 "metadata": {"name": SECRET, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/managed-by": "Helm"},
                              "annotations": {"meta.helm.sh/release-name": RELEASE, "meta.helm.sh/release-namespace": NAMESPACE}},
                 "data": {"token": base64.b64encode(first.encode()).decode()}})
        again = token_of(install_dry_run_server(chart_as_cloned, api, {"config": {"actions": {"dry_run": True}}})["objects"])
        assert again == first
        lookups = [path for method, path in api.requests if path.endswith(f"/secrets/{SECRET}")]
        assert lookups and all(path == f"/api/v1/namespaces/{NAMESPACE}/secrets/{SECRET}" for path in lookups)
        assert [r for r in api.requests if r[0] != "GET"] == []  # a dry run: nothing written


def test_an_inline_token_wins_over_the_one_in_the_cluster(chart_as_cloned):
    with fake_cluster() as api:
        api.put({"apiVersion": "v1", "kind": "Secret",
                 "metadata": {"name": SECRET, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/managed-by": "Helm"},
                              "annotations": {"meta.helm.sh/release-name": RELEASE, "meta.helm.sh/release-namespace": NAMESPACE}},
                 "data": {"token": base64.b64encode(b"old").decode()}})
        objects = install_dry_run_server(chart_as_cloned, api, {"webhook": {"token": "rotated-token"}})["objects"]
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
