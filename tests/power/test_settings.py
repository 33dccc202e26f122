"""PowerSettings through gridshift.config's own loader (as `power:` will be built): defaults, every
problem named with its key path at once, types coerced, mappings read-only."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from gridshift.config import _build
from gridshift.power_settings import PowerSettings


def build(raw: object) -> tuple[PowerSettings, list[str]]:
    problems: list[str] = []
    return _build(PowerSettings, raw, "power.", problems, {}), problems


def test_defaults():
    settings, problems = build({})
    assert problems == []
    assert settings == PowerSettings()
    assert settings.port == 9501
    assert (settings.kepler.namespace, settings.kepler.service, settings.kepler.port_name) == ("kepler", "kepler", "http")
    assert (settings.estimator.min_watts_per_vcpu, settings.estimator.max_watts_per_vcpu) == (0.74, 3.5)
    assert isinstance(settings.kepler.static_targets, MappingProxyType) and settings.kepler.static_targets == {}


def test_a_full_section_is_read():
    settings, problems = build({
        "scrape_interval_seconds": 15, "scrape_timeout_seconds": 5,
        "kepler": {"static_targets": {"node-a": "http://10.0.0.5:28282/metrics"}},
        "intensity": {"url": "http://gridshift-exporter:9500", "refresh_seconds": 120},
        "estimator": {"enabled": True, "min_watts_per_vcpu": 0.71, "max_watts_per_vcpu": 4.26},
    })
    assert problems == []
    assert settings.kepler.static_targets == {"node-a": "http://10.0.0.5:28282/metrics"}
    assert settings.scrape_interval_seconds == 15.0 and isinstance(settings.scrape_interval_seconds, float)
    assert settings.estimator.enabled is True


def test_every_problem_is_named_at_once():
    _, problems = build({
        "scrape_timeout_seconds": -1, "port": 70000,
        "kepler": {"scheme": "ftp", "path": "metrics", "static_targets": {"node-a": "10.0.0.5:28282"}, "service": ""},
        "intensity": {"url": "grid:9500", "refresh_seconds": 0},
        "estimator": {"min_watts_per_vcpu": 2.0, "max_watts_per_vcpu": 1.0, "enabled": "yes"},
    })
    assert set(problems) == {
        "power.scrape_timeout_seconds: must be greater than 0, got -1.0",
        "power.port: must be between 1 and 65535, got 70000",
        "power.kepler.scheme: must be http or https, got 'ftp'",
        "power.kepler.path: must start with '/', got 'metrics'",
        "power.kepler.static_targets.node-a: must be an http(s) URL, got '10.0.0.5:28282'",
        "power.kepler.service: must not be empty",
        "power.intensity.url: must be an http(s) URL, got 'grid:9500'",
        "power.intensity.refresh_seconds: must be greater than 0, got 0.0",
        "power.estimator.enabled: must be true or false, got 'yes'",
        "power.estimator.max_watts_per_vcpu: must be greater than min_watts_per_vcpu (2.0), got 1.0",
    }


@pytest.mark.parametrize(("raw", "problem"), [
    ({"scrape_timeout_seconds": 60}, "power.scrape_timeout_seconds: must be <= scrape_interval_seconds (30.0), got 60.0"),
    ({"forget_after_seconds": 30}, "power.forget_after_seconds: must be at least twice scrape_interval_seconds, got 30.0"),
    ({"intensity": {"max_age_seconds": 60}}, "power.intensity.max_age_seconds: must be >= refresh_seconds (300.0)"),
    ({"kepler": {"port": 9102}}, "power.kepler.port: unknown key (known: discovery_interval_seconds, namespace, path, "
                                 "port_name, scheme, service, static_targets)"),
])
def test_relations_and_unknown_keys(raw, problem):
    assert build(raw)[1] == [problem]


def test_zone_mapping_is_the_cluster_section():
    """The power exporter and the action service map nodes to zones from one `cluster:` section."""
    from gridshift.config import ConfigError, build_config

    config = build_config({"cluster": {"default_zone": "DE_LU", "region_to_zone": {"eu-west-3": "FR"}}}, env={})
    assert config.cluster.region_to_zone["eu-west-3"] == "FR" and config.power.port == 9501
    with pytest.raises(ConfigError) as caught:
        build_config({"cluster": {"default_zone": "", "region_to_zone": {"eu-west-1": ""}}}, env={})
    assert set(caught.value.problems) == {"cluster.default_zone: must not be empty",
                                          "cluster.region_to_zone.eu-west-1: must not be empty"}
