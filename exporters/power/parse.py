"""Kepler's /metrics text -> one Reading: cumulative joules per container or pod, with its namespace.

No I/O. Only the energy families gridshift uses are kept from the payload, as it streams in (the
text format keeps each family's lines together under its `# HELP`/`# TYPE` header), and their
sample lines are read with prometheus-client's parser, the field's parser. The generation is
told by the family names:

- 0.7 .. 0.9: `kepler_container_joules_total{container_id, container_namespace, mode}`, Kepler's
  own container total (package + dram + other + gpu). Only `mode="dynamic"` is read: idle
  energy is not attributed to namespaces (docs/power.md). Kepler's pseudo-namespaces `kernel`
  and `system` (kernel threads, processes outside containers) are kept as they are.
- 0.10+: `kepler_pod_cpu_joules_total{pod_id, pod_namespace, zone, state}`, active energy only,
  plus `kepler_pod_gpu_joules_total` when present. RAPL zones overlap, so one non-overlapping
  set is taken: `psys` if reported, else `package` + `dram`, else `core` + `dram`, else the first
  zone by name. A pod's running and terminated series share its `pod_id`: one series, never two.

A KeplerParser is kept per node: a sample line comes back at every scrape with only its value
changed, so what the field's parser read from the text before the value is remembered (keyed
by that text's hash and length) and the parser reads each distinct series once.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from gridshift.exporters.power.records import GENERATION_0_7, GENERATION_0_10, Reading, SeriesEnergy

CONTAINER_JOULES = "kepler_container_joules_total"  # 0.7 .. 0.9
POD_CPU_JOULES = "kepler_pod_cpu_joules_total"  # 0.10+
POD_GPU_JOULES = "kepler_pod_gpu_joules_total"  # 0.11+
CONTAINER_CPU_JOULES = "kepler_container_cpu_joules_total"  # 0.10+, no namespace: not read
FAMILIES = (CONTAINER_JOULES, POD_CPU_JOULES, POD_GPU_JOULES, CONTAINER_CPU_JOULES)

# Namespace given to energy Kepler reports outside any namespace.
NO_NAMESPACE = "system"
_IDLE = b'mode="idle"'
_ZONE_SETS = (("psys",), ("package", "dram"), ("core", "dram"))
_HEADERS = (b"# HELP ", b"# TYPE ")


class ParseError(Exception):
    """The payload cannot be used. `reason`: `malformed` or `unsupported`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Sample:
    """What a sample line says before its value: series key, namespace, zone (0.10+); None: not used."""

    length: int  # of the text it was read from: a second check beside the hash
    key: str | None
    namespace: str = ""
    zone: str = ""


_Meaning = Callable[[dict[str, str], int], _Sample]


@dataclass(frozen=True)
class Families:
    """The sample lines of the energy families found, and whether the text is Kepler's at all."""

    lines: dict[str, list[bytes]] = field(default_factory=dict)
    kepler: bool = False


def parse_kepler(payload: bytes) -> Reading:
    """A one-off reading of a whole payload."""
    return KeplerParser().parse([payload])


class KeplerParser:
    """Reads the successive payloads of one node's Kepler."""

    def __init__(self) -> None:
        self._known: dict[int, _Sample] = {}  # hash of a line's text before its value -> what it says

    def parse(self, chunks: Iterable[bytes]) -> Reading:
        families = select_families(chunks, FAMILIES)
        if not families.kepler:
            raise ParseError("malformed", "not a Kepler exposition: no kepler_ metric in it")
        lines = families.lines
        known: dict[int, _Sample] = {}
        if CONTAINER_JOULES in lines:
            samples = self._read(lines[CONTAINER_JOULES], CONTAINER_JOULES, known, _container)
            reading = Reading(GENERATION_0_7, {s.key: SeriesEnergy(s.namespace, j) for s, j in samples if s.key})
        elif POD_CPU_JOULES in lines:
            series = _pods(self._read(lines[POD_CPU_JOULES], POD_CPU_JOULES, known, _pod))
            series.update(_pods(self._read(lines.get(POD_GPU_JOULES, []), POD_GPU_JOULES, known, _pod), prefix="gpu/"))
            reading = Reading(GENERATION_0_10, series)
        elif CONTAINER_CPU_JOULES in lines:
            raise ParseError("unsupported", "Kepler 0.10+ without pod metrics: enable the `pod` metrics level "
                             "(container series carry no namespace)")
        else:
            reading = Reading(None, {})
        self._known = known  # only what this payload had: vanished series are forgotten
        return reading

    def _read(self, lines: list[bytes], name: str, known: dict[int, _Sample],
              meaning: _Meaning) -> list[tuple[_Sample, float]]:
        """Each line's sample and value: remembered if the text before the value was read before."""
        remembered = self._known.get
        found: list[tuple[_Sample, float]] = []
        new: list[tuple[int, int, bytes]] = []
        for line in lines:
            head, _, tail = line.rpartition(b"}")
            digest, length = hash(head), len(head)
            sample = remembered(digest)
            if sample is not None and sample.length == length and length:  # a line without labels: always read
                try:
                    found.append((sample, float(tail)))
                    known[digest] = sample
                    continue
                except ValueError:  # not a lone value (a timestamp follows): the field's parser reads it
                    pass
            new.append((digest, length, line))
        for (digest, length, _), (labels, value) in zip(new, _field_parser(name, [line for _, _, line in new])):
            known[digest] = sample = meaning(labels, length)
            found.append((sample, value))
        for _, value in found:
            if not 0 <= value < math.inf:  # NaN fails too
                raise ParseError("malformed", f"{name}: value {value} is not a finite energy")
        return found


def _field_parser(name: str, lines: list[bytes]) -> list[tuple[dict[str, str], float]]:
    if not lines:
        return []
    try:
        text = b"\n".join(lines).decode("utf-8")
        parsed = [s for family in text_string_to_metric_families(text) for s in family.samples]
    except UnicodeDecodeError as error:
        raise ParseError("malformed", f"{name}: not UTF-8 ({error.reason})") from None
    except (ValueError, IndexError) as error:
        raise ParseError("malformed", f"{name}: {str(error)[:200]}") from None
    if len(parsed) != len(lines) or any(s.name != name for s in parsed):
        raise ParseError("malformed", f"{name}: a line that is not one sample of the family")
    return [(s.labels, float(s.value)) for s in parsed]


def _container(labels: dict[str, str], length: int) -> _Sample:
    if labels.get("mode") != "dynamic":
        return _Sample(length, None)
    namespace = sys.intern(labels.get("container_namespace") or NO_NAMESPACE)
    key = labels.get("container_id") or f"{namespace}/{labels.get('pod_name', '')}/{labels.get('container_name', '')}"
    return _Sample(length, key, namespace)


def _pod(labels: dict[str, str], length: int) -> _Sample:
    key = labels.get("pod_id") or f"{labels.get('pod_namespace', '')}/{labels.get('pod_name', '')}"
    return _Sample(length, key, sys.intern(labels.get("pod_namespace") or NO_NAMESPACE), sys.intern(labels.get("zone", "")))


def _pods(samples: list[tuple[_Sample, float]], prefix: str = "") -> dict[str, SeriesEnergy]:
    zones = {sample.zone for sample, _ in samples}
    chosen = next((s for s in _ZONE_SETS if s[0] in zones), (min(zones),) if zones else ())
    per_pod: dict[str, dict[str, float]] = {}
    namespaces: dict[str, str] = {}
    for sample, joules in samples:
        if sample.zone not in chosen or sample.key is None:
            continue
        namespaces[sample.key] = sample.namespace
        by_zone = per_pod.setdefault(sample.key, {})
        by_zone[sample.zone] = max(joules, by_zone.get(sample.zone, 0.0))  # running and terminated: the same energy
    return {f"{prefix}{pod}": SeriesEnergy(namespaces[pod], sum(by_zone.values())) for pod, by_zone in per_pod.items()}


def select_families(chunks: Iterable[bytes], names: tuple[str, ...]) -> Families:
    """The sample lines of the named families, read chunk by chunk: a payload is never held whole.

    Kepler 0.7's idle lines are dropped here; a damaged line is kept, for the parser to reject.
    """
    wanted = {name.encode(): name for name in names}
    found: dict[str, list[bytes]] = {}
    current: str | None = None  # the wanted family under the last header seen, if it is one
    kepler = False
    carry = b""
    for chunk in chunks:
        data = carry + chunk
        cut = data.rfind(b"\n") + 1
        data, carry = data[:cut], data[cut:]
        position = 0
        while position < len(data):
            header = _next_header(data, position)
            if current is not None and header > position:
                found.setdefault(current, []).extend(
                    line for line in data[position:header].split(b"\n") if line and _IDLE not in line)
            if header == len(data):
                break
            end = data.index(b"\n", header)
            family = data[header + 7:end].split(b" ", 1)[0]
            current = wanted.get(family)
            kepler = kepler or family.startswith(b"kepler_")
            position = end + 1
    if carry and current is not None and _IDLE not in carry:  # a last line without its newline
        found.setdefault(current, []).append(carry)
    return Families(lines=found, kepler=kepler)


def _next_header(data: bytes, start: int) -> int:
    """Start of the next `# HELP`/`# TYPE` line at or after `start` (a line start), or len(data).

    `#` is rare in Kepler's text, so a search for that one byte skips the sample lines quickly.
    """
    at = data.find(b"#", start)
    while at >= 0:
        if (at == 0 or data[at - 1] == 0x0A) and data.startswith(_HEADERS, at):
            return at
        at = data.find(b"#", at + 1)
    return len(data)
