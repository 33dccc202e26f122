"""Bad values are refused before anything is rendered, with a message that names the key.

Aspects: values.schema.json accepts the defaults and every combination, and refuses wrong
types, unknown keys (a typo is not silently ignored), bad enums, names and durations, each with
the offending key's path in the message; the checks that span several values (a zone without its
token, Karmada half configured, Kepler and the estimator together) fail rendering with a sentence
saying what to set.
"""

from __future__ import annotations

import helm_python as helm
import pytest

from tests.chart.render import COMBINATIONS, chart


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_the_schema_accepts_every_combination(combination):
    chart().validate_schema(COMBINATIONS[combination])


BAD_VALUES = [
    ({"image": {"pullPolicy": "Sometimes"}}, "at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'"),
    ({"image": {"repository": ""}}, "at '/image/repository'"),
    ({"webhook": {"existingSecret": 5}}, "at '/webhook/existingSecret': got number, want string"),
    ({"webhook": {"existingSecret": "Not_A_Name"}}, "at '/webhook/existingSecret'"),
    ({"webhok": {"token": "x"}}, "additional properties 'webhok' not allowed"),
    ({"config": {"exporter": {"port": 9999}}}, "at '/config/exporter': additional properties 'port' not allowed"),
    ({"config": {"actions": {"listen_address": "127.0.0.1"}}}, "at '/config/actions': additional properties 'listen_address' not allowed"),
    ({"config": {"power": {"estimator": {"enabled": True}}}}, "at '/config/power/estimator': additional properties 'enabled' not allowed"),
    ({"config": {"log_level": "verbose"}}, "at '/config/log_level': value must be one of 'debug', 'info', 'warning', 'error'"),
    ({"exporter": {"replicas": -1}}, "at '/exporter/replicas'"),
    ({"actions": {"replicas": -1}}, "at '/actions/replicas'"),
    ({"actions": {"replica": 2}}, "at '/actions': additional properties 'replica' not allowed"),
    ({"power": {"estimator": {"enabled": "yes"}}}, "at '/power/estimator/enabled': got string, want boolean"),
    ({"rbac": {"targetNamespaces": ["Team_A"]}}, "at '/rbac/targetNamespaces/0'"),
    ({"karmada": {"clusters": {"member-de": ""}}}, "at '/karmada/clusters/member-de'"),
    ({"keplerServiceMonitor": {"interval": "soon"}}, "at '/keplerServiceMonitor/interval': 'soon' does not match pattern"),
    ({"prometheusOperator": {"alertmanagerConfig": {"groupWait": 30}}}, "at '/prometheusOperator/alertmanagerConfig/groupWait'"),
    ({"networkPolicy": {"alertmanager": {"podSelector": {}}}}, "at '/networkPolicy/alertmanager': got object, want array"),
    ({"exporter": {"podDisruptionBudget": {"maxUnavailable": "half"}}}, "at '/exporter/podDisruptionBudget/maxUnavailable'"),
    ({"dashboards": {"labels": {"grafana_dashboard": 1}}}, "at '/dashboards/labels/grafana_dashboard': got number, want string"),
    ({"kepler": {"serviceMonitor": {"enabled": False}}}, "at '/kepler': additional properties 'serviceMonitor' not allowed"),
    ({"kepler": {"release": "Kepler_1"}}, "at '/kepler/release'"),
    ({"kubePrometheusStack": {"release": "Kube Prometheus"}}, "at '/kubePrometheusStack/release'"),
    ({"kubePrometheusStack": {"alertmanagerURL": "alertmanager:9093"}}, "at '/kubePrometheusStack/alertmanagerURL'"),
    ({"restoreOnUninstall": {"enabled": "yes"}}, "at '/restoreOnUninstall/enabled': got string, want boolean"),
    ({"restoreOnUninstall": {"activeDeadlineSeconds": 0}}, "at '/restoreOnUninstall/activeDeadlineSeconds'"),
    ({"restoreOnUninstall": {"backoffLimit": -1}}, "at '/restoreOnUninstall/backoffLimit'"),
]


@pytest.mark.parametrize(("values", "message"), BAD_VALUES, ids=[m.split(":")[0] for _, m in BAD_VALUES])
def test_bad_values_are_refused_with_the_key_named(values, message):
    with pytest.raises(helm.HelmValuesError) as refused:
        chart().validate_schema(values)
    assert message in str(refused.value), str(refused.value)
    with pytest.raises(helm.HelmValuesError):  # an install renders only values the schema accepts
        chart().render(values, name="gridshift", namespace="gridshift")


REFUSED_RENDERS = [
    ({"config": {"grid": {"entsoe": {"zones": ["DE_LU"]}}}},
     "config.grid.entsoe.zones is set, but there is no ENTSO-E token: set entsoe.apiKey or entsoe.existingSecret"),
    ({"config": {"grid": {"electricitymaps": {"zones": ["DE"]}}}},
     "config.grid.electricitymaps.zones is set, but there is no token: set electricityMaps.token or electricityMaps.existingSecret"),
    ({"karmada": {"enabled": True}}, "karmada.enabled is true but karmada.clusters is empty"),
    ({"karmada": {"clusters": {"member-de": "DE_LU"}}}, "karmada.clusters is set but karmada.enabled is false"),
    ({"config": {"actions": {"karmada_clusters": {"member-de": "DE_LU"}}}},
     "config.actions.karmada_clusters is set by the chart: use karmada.enabled and karmada.clusters"),
    ({"kepler": {"enabled": True}, "power": {"estimator": {"enabled": True}}},
     "kepler.enabled and power.estimator.enabled are both true"),
]


@pytest.mark.parametrize(("values", "message"), REFUSED_RENDERS, ids=[m.split(" ")[0] for _, m in REFUSED_RENDERS])
def test_inconsistent_values_fail_with_what_to_set(values, message):
    with pytest.raises(helm.HelmError) as refused:
        chart().render(values, name="gridshift", namespace="gridshift")
    assert message in str(refused.value), str(refused.value)
