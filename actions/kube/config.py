"""A Kubernetes API client from the pod's service account, or from a kubeconfig outside a cluster."""

from __future__ import annotations

import os

from kubernetes import client as k8s
from kubernetes import config as k8s_config


def load_api_client(kubeconfig: str | None = None) -> k8s.ApiClient:
    configuration = k8s.Configuration()
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        k8s_config.load_incluster_config(client_configuration=configuration)
    else:
        k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    configuration.retries = 0  # the reconciler retries, on fresh data
    return k8s.ApiClient(configuration)
