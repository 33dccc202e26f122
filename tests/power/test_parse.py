"""Reading Kepler's text: the real 0.7.x dump and the 0.10+ metric set built from it.

Aspects: generation detection; the real dump's containers and per-namespace energies against an
independent read of the whole text with prometheus-client's parser; idle energy never read;
0.10+ zone choice (no overlap), GPU, terminated pods; malformed, foreign and unsupported text.
"""

from __future__ import annotations

import pytest

from gridshift.exporters.power.parse import KeplerParser, ParseError, parse_kepler
from gridshift.exporters.power.records import GENERATION_0_7, GENERATION_0_10, Reading
from tests.power import kepler_text


def per_namespace(reading: Reading) -> dict[str, float]:
    totals: dict[str, float] = {}
    for series in reading.series.values():
        totals[series.namespace] = totals.get(series.namespace, 0.0) + series.joules
    return totals


def test_real_dump_matches_an_independent_read(dump):
    reading = parse_kepler(dump.encode())
    oracle = kepler_text.oracle(dump)
    assert reading.generation == GENERATION_0_7
    assert len(oracle) == 24  # 22 containers + kernel_processes + system_processes (NOTES.md 1.4)
    assert set(reading.series) == set(oracle)
    assert {key: s.joules for key, s in reading.series.items()} == {cid: c.total for cid, c in oracle.items()}
    assert {key: s.namespace for key, s in reading.series.items()} == {cid: c.namespace for cid, c in oracle.items()}
    assert per_namespace(reading) == kepler_text.namespace_totals(dump)
    assert set(per_namespace(reading)) == {"kepler", "kernel", "kube-system", "local-path-storage", "monitoring", "system"}


def test_idle_energy_is_never_read(dump):
    reading = parse_kepler(dump.encode())
    # kube-apiserver: dynamic 0 J, idle 36633 J in the dump; kernel: dynamic 18107, idle 496964.
    assert reading.series["kernel_processes"].joules == 18107
    assert sum(s.joules for s in reading.series.values()) == pytest.approx(18107 + 13 + 12 + 10 + 1)


def test_new_generation_built_from_the_real_dump(dump):
    """No real 0.10+ dump exists (shared/data/README.md): the input is the real dump's pods written
    with Kepler 0.10's metric names and labels (power_collector.go), energies from its components."""
    reading = parse_kepler(kepler_text.new_generation(dump).encode())
    assert reading.generation == GENERATION_0_10
    pods = {(c.namespace, c.pod) for c in kepler_text.oracle(dump).values() if c.namespace not in ("kernel", "system")}
    assert set(reading.series) == {kepler_text.pod_uid(ns, pod) for ns, pod in pods}
    # package + dram; the overlapping `core` zone is not added.
    expected = kepler_text.namespace_totals(dump, components=("package", "dram"), skip=("kernel", "system"))
    assert per_namespace(reading) == pytest.approx(expected)


def test_new_generation_prefers_psys_and_counts_a_terminated_pod_once():
    lines = [
        "# TYPE kepler_pod_cpu_joules_total counter",
        'kepler_pod_cpu_joules_total{node_name="n",pod_id="u1",pod_name="a",pod_namespace="team-a",state="running",zone="package"} 40',
        'kepler_pod_cpu_joules_total{node_name="n",pod_id="u1",pod_name="a",pod_namespace="team-a",state="running",zone="psys"} 55',
        'kepler_pod_cpu_joules_total{node_name="n",pod_id="u2",pod_name="b",pod_namespace="team-b",state="terminated",zone="psys"} 12',
        'kepler_pod_cpu_joules_total{node_name="n",pod_id="u2",pod_name="b",pod_namespace="team-b",state="running",zone="psys"} 12',
        "# TYPE kepler_pod_gpu_joules_total counter",
        'kepler_pod_gpu_joules_total{node_name="n",pod_id="u1",pod_name="a",pod_namespace="team-a",state="running"} 7',
    ]
    reading = parse_kepler(("\n".join(lines) + "\n").encode())
    assert {k: (s.namespace, s.joules) for k, s in reading.series.items()} == {
        "u1": ("team-a", 55.0), "u2": ("team-b", 12.0), "gpu/u1": ("team-a", 7.0),
    }


def test_kepler_0_10_before_its_first_snapshot_is_an_empty_reading():
    text = '# TYPE kepler_build_info gauge\nkepler_build_info{version="v0.10.2"} 1\n'
    assert parse_kepler(text.encode()) == Reading(None, {})


def test_container_level_only_is_unsupported_and_says_why():
    text = ('# TYPE kepler_container_cpu_joules_total counter\nkepler_container_cpu_joules_total{container_id="c",'
            'container_name="x",node_name="n",pod_id="u",runtime="containerd",state="running",zone="package"} 3\n')
    with pytest.raises(ParseError, match="enable the `pod` metrics level") as caught:
        parse_kepler(text.encode())
    assert caught.value.reason == "unsupported"


@pytest.mark.parametrize("damage", [
    pytest.param(lambda t: t.replace('mode="dynamic",pod_name="kindnet-gchhx",source=""} 6',
                                     'mode="dynamic",pod_name="kindnet-gchhx",sour'), id="line cut in its labels"),
    pytest.param(lambda t: t.replace('pod_name="kindnet-gchhx",source=""} 6', 'pod_name="kindnet-gchhx",source=""} 6x'),
                 id="value not a number"),
    pytest.param(lambda t: t.replace('pod_name="kindnet-gchhx",source=""} 6', 'pod_name="kindnet-gchhx",source=""} -6'),
                 id="negative energy"),
    pytest.param(lambda t: t.replace('pod_name="kindnet-gchhx",source=""} 6', 'pod_name="kindnet-gchhx",source=""} NaN'),
                 id="NaN"),
])
def test_malformed_text_is_an_error_not_a_partial_reading(dump, damage):
    with pytest.raises(ParseError) as caught:
        parse_kepler(damage(dump).encode())
    assert caught.value.reason == "malformed"


def test_text_that_is_not_kepler():
    with pytest.raises(ParseError, match="not a Kepler exposition"):
        parse_kepler(b"<html><body>502 Bad Gateway</body></html>")


def test_only_the_energy_family_is_read(dump):
    """Damage outside the families gridshift uses does not reject the reading."""
    broken = dump.replace('kepler_node_info{components_power_source="estimator"', 'kepler_node_info{broken')
    assert broken != dump
    assert parse_kepler(broken.encode()) == parse_kepler(dump.encode())


@pytest.mark.parametrize("size", [1, 7, 100, 4096, 1 << 20])
def test_chunk_boundaries_do_not_matter(dump, size):
    payload = dump.encode()
    chunks = [payload[i:i + size] for i in range(0, len(payload), size)]
    assert KeplerParser().parse(chunks) == parse_kepler(payload)


def test_a_node_parser_reads_each_series_once_and_follows_new_values(dump, monkeypatch):
    from gridshift.exporters.power import parse as parse_module

    read_by_the_field_parser = []
    real = parse_module._field_parser
    monkeypatch.setattr(parse_module, "_field_parser",
                        lambda name, lines: read_by_the_field_parser.append(len(lines)) or real(name, lines))
    parser = KeplerParser()
    first = parser.parse([dump.encode()])
    later = parser.parse([kepler_text.rescaled(dump, 2.5).encode()])
    again = parser.parse([kepler_text.without_container(kepler_text.rescaled(dump, 3), "kindnet-cni").encode()])
    assert read_by_the_field_parser == [24, 0, 0]  # 24 dynamic lines, read once
    assert {k: s.joules for k, s in later.series.items()} == pytest.approx({k: 2.5 * s.joules for k, s in first.series.items()})
    assert len(again.series) == 23
    assert parser.parse([dump.encode()]) == first


def test_lines_the_quick_path_cannot_take_go_to_the_field_parser():
    lines = [
        "# HELP kepler_container_joules_total Aggregated value in joules value from",
        "# TYPE kepler_container_joules_total counter",
        # a timestamp after the value; a label value holding `}` and an escaped quote
        'kepler_container_joules_total{container_id="a",container_name="x",container_namespace="team-a",mode="dynamic",'
        'pod_name="p",source=""} 5 1764000000000',
        'kepler_container_joules_total{container_id="b",container_name="x} \\"y\\"",container_namespace="team-b",'
        'mode="dynamic",pod_name="p",source=""} 7',
        "# HELP kepler_node_info x # HELP kepler_container_joules_total not a header",
    ]
    parser = KeplerParser()
    payload = ("\n".join(lines) + "\n").encode()
    for _ in range(2):
        reading = parser.parse([payload])
        assert {k: (s.namespace, s.joules) for k, s in reading.series.items()} == {"a": ("team-a", 5.0), "b": ("team-b", 7.0)}


def test_a_foreign_line_inside_the_family_is_malformed(dump):
    foreign = dump.replace("# HELP kepler_container_other_joules_total",  # the family after the one read
                           'other_metric{container_id="z"} 3\n# HELP kepler_container_other_joules_total')
    assert foreign != dump
    with pytest.raises(ParseError, match="not one sample of the family"):
        parse_kepler(foreign.encode())
