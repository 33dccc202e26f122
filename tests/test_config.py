"""Configuration: the example loads; every bad key is named with its reason, all at once;
secrets come from the environment or *_FILE and never show in errors or reprs."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridshift.config import ConfigError, build_config, load_config
from gridshift.secrets import Secret, SecretError, read_secret

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "gridshift.yaml"
TOKEN_ENV = {"ENTSOE_API_KEY": "abc-123-secret"}


def problems(raw: object, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        build_config(raw, env=TOKEN_ENV if env is None else env)
    return caught.value.problems


def test_example_file_loads_with_its_documented_values():
    config = load_config(EXAMPLE, env=TOKEN_ENV)
    assert config.grid.entsoe.zones == ("DE_LU", "FR", "NL", "CH")
    assert config.grid.entsoe.neighbours["CH"] == ("DE_LU", "FR", "IT_NORD", "AT")
    assert config.grid.ukgrid.zones["GB-KT1"].postcode == "KT1"
    assert config.grid.static.zones == {"ONPREM": 250.0}
    assert config.grid.entsoe.refresh.actual_seconds == 300
    assert config.exporter.port == 9500
    assert config.grid.entsoe.api_key == Secret("abc-123-secret")


def test_each_command_validates_only_its_own_sections():
    """One file serves every component: the action service starts without the exporter's ENTSO-E token."""
    config = load_config(EXAMPLE, env={}, role="actions")
    assert config.grid.entsoe.zones == ("DE_LU", "FR", "NL", "CH") and config.grid.entsoe.api_key is None
    load_config(EXAMPLE, env={}, role="power-exporter")
    for role in ("exporter", None):
        with pytest.raises(ConfigError, match="ENTSO-E zones are configured but no API token is set"):
            load_config(EXAMPLE, env={}, role=role)


def test_a_command_still_names_problems_in_its_own_sections_and_the_files_shape():
    raw = {"grid": {"entsoe": {"zone": ["DE_LU"]}}, "actions": {"port": 0}, "exporterr": {}, "log_level": "loud"}
    for role, expected in (
        ("actions", ["actions.port", "exporterr", "log_level"]),
        ("exporter", ["exporterr", "grid.entsoe.zone", "log_level"]),
        ("power-exporter", ["exporterr", "log_level"]),
        (None, ["actions.port", "exporterr", "grid.entsoe.zone", "log_level"]),
    ):
        with pytest.raises(ConfigError) as caught:
            build_config(raw, env=TOKEN_ENV, role=role)
        assert sorted(problem.split(":")[0] for problem in caught.value.problems) == expected, role


def test_defaults_without_a_file():
    config = load_config(None, env={})
    assert config.grid.entsoe.zones == ()
    assert config.grid.staleness_limit_seconds == 10800


def test_unknown_key_is_named_with_the_known_ones():
    [problem] = problems({"grid": {"entsoe": {"zonez": ["FR"]}}})
    assert problem.startswith("grid.entsoe.zonez: unknown key")
    assert "zones" in problem


def test_unknown_zone_suggests_the_nearest():
    [problem] = problems({"grid": {"entsoe": {"zones": ["FR", "DE-LU"]}}})
    assert problem == "grid.entsoe.zones: unknown ENTSO-E zone 'DE-LU' (did you mean DE_LU, DE_AT_LU?)"


def test_negative_interval_and_wrong_types_are_all_reported_at_once():
    found = problems({
        "exporter": {"port": "ninety"},
        "grid": {"entsoe": {"refresh": {"actual_seconds": -5}, "timeout_seconds": True}},
        "log_level": "loud",
    })
    assert "exporter.port: must be an integer, got 'ninety'" in found
    assert "grid.entsoe.refresh.actual_seconds: must be greater than 0, got -5.0" in found
    assert "grid.entsoe.timeout_seconds: must be a number, got True" in found
    assert "log_level: must be one of debug, info, warning, error, got 'loud'" in found


def test_backoff_cap_below_initial():
    [problem] = problems({"grid": {"backoff": {"initial_seconds": 60, "max_seconds": 10}}})
    assert problem == "grid.backoff.max_seconds: must be >= initial_seconds (60.0)"


def test_missing_token_for_entsoe_zones():
    [problem] = problems({"grid": {"entsoe": {"zones": ["FR"]}}}, env={})
    assert "no API token" in problem and "ENTSOE_API_KEY_FILE" in problem


def test_token_from_file(tmp_path):
    secret_file = tmp_path / "token"
    secret_file.write_text("file-secret\n")
    config = build_config({"grid": {"entsoe": {"zones": ["FR"]}}}, env={"ENTSOE_API_KEY_FILE": str(secret_file)})
    assert config.grid.entsoe.api_key == Secret("file-secret")


def test_unreadable_token_file_names_the_variable_not_the_content(tmp_path):
    [problem] = problems({}, env={"ENTSOE_API_KEY_FILE": str(tmp_path / "missing")})
    assert "ENTSOE_API_KEY_FILE=" in problem and "cannot read the file" in problem


def test_secret_never_shows_in_reprs_or_errors():
    config = build_config({"grid": {"entsoe": {"zones": ["FR"]}}}, env=TOKEN_ENV)
    assert "abc-123-secret" not in repr(config)
    assert "abc-123-secret" not in str(config.grid.entsoe.api_key)
    error = ConfigError(problems({"grid": {"entsoe": {"zones": ["ZZ_NOPE"]}}}))
    assert "abc-123-secret" not in str(error)


def test_yaml_syntax_error_gives_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid:\n  entsoe:\n    zones: [FR\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(bad, env={})


def test_top_level_must_be_a_mapping(tmp_path):
    bad = tmp_path / "list.yaml"
    bad.write_text("- FR\n")
    with pytest.raises(ConfigError, match="top level: must be a mapping"):
        load_config(bad, env={})


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml", env={})


def test_environment_wins_over_file(tmp_path):
    secret_file = tmp_path / "token"
    secret_file.write_text("from-file")
    assert read_secret("X", {"X": "direct", "X_FILE": str(secret_file)}) == Secret("direct")
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    with pytest.raises(SecretError, match="is empty"):
        read_secret("X", {"X_FILE": str(empty)})


def test_provider_sections_are_validated_with_their_keys(tmp_path):
    found = problems({"grid": {
        "ukgrid": {"zones": {"London": {"region_id": 13}, "GB-X": {"region_id": 40}, "GB-Y": {"region_id": 2, "postcode": "KT1"}}},
        "electricitymaps": {"zones": ["DE"]},
        "replay": {"zones": {"DE": {"file": str(tmp_path / "missing.csv"), "speed": 0}}},
        "static": {"zones": {"ONPREM": -1}},
        "forecast": {"quantiles": [0.5, 1.5], "best_window_hours": [48]},
        "emission_factors": {"B04": -1, "coal": 800},
        "entsoe": {"zones": ["FR"], "neighbours": {"CH": ["DE_LU"], "FR": ["XX_NOPE"]}},
    }})
    expected = [
        "grid.ukgrid.zones.London: UK zones are named GB or GB-<name>",
        "grid.ukgrid.zones.GB-X.region_id: must be between 1 and 17, got 40",
        "grid.ukgrid.zones.GB-Y: set region_id or postcode, not both",
        "grid.electricitymaps.zones: Electricity Maps zones are configured but no API token is set",
        "grid.replay.zones.DE.speed: must be greater than 0, got 0.0",
        f"grid.replay.zones.DE.file: no such file '{tmp_path / 'missing.csv'}'",
        "grid.static.zones.ONPREM: must be >= 0, got -1.0",
        "grid.forecast.quantiles: 1.5 is not between 0 and 1",
        "grid.forecast.best_window_hours: 48.0 must be > 0 and <= window_hours",
        "grid.emission_factors.B04: must be >= 0, got -1.0",
        "grid.emission_factors.coal: not an ENTSO-E production type (B01..B25)",
        "grid.entsoe.neighbours.CH: not one of grid.entsoe.zones",
        "grid.entsoe.neighbours.FR: unknown ENTSO-E zone 'XX_NOPE'",
    ]
    for message in expected:
        assert any(problem.startswith(message) for problem in found), (message, found)


def test_electricitymaps_token_from_the_environment():
    config = build_config({"grid": {"electricitymaps": {"zones": ["DE"]}}}, env={"ELECTRICITYMAPS_TOKEN": "em-secret"})
    assert config.grid.electricitymaps.token == Secret("em-secret")
    assert "em-secret" not in repr(config)


def test_a_mapping_where_a_list_belongs_is_named():
    [problem] = problems({"grid": {"static": {"zones": ["ONPREM"]}}})
    assert problem == "grid.static.zones: must be a mapping, got list"


def test_replay_start_must_be_a_time(recorded_data):
    trace = recorded_data / "intensity" / "lwa_ci_DE_2020-12-01_2020-12-31_15min.csv"
    [problem] = problems({"grid": {"replay": {"zones": {"DE": {"file": str(trace), "start": "last summer"}}}}})
    assert problem == "grid.replay.zones.DE.start: not an ISO-8601 time: 'last summer'"
