"""A Kubernetes API client from the pod's service account, or from a kubeconfig outside a cluster."""

from __future__ import annotations

import os

from kubernetes import client as k8s
from kubernetes import config as k8s_config


class KubeConfigError(Exception):
    """No usable way to reach the API: the message is one line saying which and what to do."""


def load_api_client(kubeconfig: str | None = None) -> k8s.ApiClient:
    configuration = k8s.Configuration()
    try:
        if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            k8s_config.load_incluster_config(client_configuration=configuration)
        else:
            k8s_config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    except (k8s_config.ConfigException, OSError) as error:
        raise KubeConfigError(_explain(kubeconfig, error)) from None
    configuration.retries = 0  # the reconciler retries, on fresh data
    return k8s.ApiClient(configuration)


def _explain(kubeconfig: str | None, error: Exception) -> str:
    # The library's message can span lines (and quote the file): keep its first line, shortened.
    detail = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
    if kubeconfig is not None:
        return f"kubeconfig {kubeconfig} is not usable ({detail})"
    where = os.environ.get("KUBECONFIG") or "~/.kube/config"
    return (f"no in-cluster service account and no usable kubeconfig at {where} ({detail}): "
            "run inside the cluster, or pass --kubeconfig")
