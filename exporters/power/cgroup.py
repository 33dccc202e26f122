"""A process's pod UID from its cgroup path (/proc/<pid>/cgroup). Pure, apart from reading the file.

The kubelet puts each pod in a cgroup named after the pod's UID:

- cgroupfs driver (v1 and v2): `/kubepods/burstable/pod<uid>/<container>`, `/kubepods/pod<uid>/...`
- systemd driver: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/...`,
  with the UID's dashes written as underscores (a dash separates slice levels)
- nested (kind): `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/...`

Static pods are named by their config hash (32 hex digits, no dashes) instead of a UUID.
"""

from __future__ import annotations

import re
from pathlib import Path

_POD = re.compile(
    r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})(?![0-9a-f])"
)


def pod_uid_from_cgroup(text: str) -> str | None:
    """The pod UID in a /proc/<pid>/cgroup text (any hierarchy line), dashes restored; None outside pods."""
    for line in text.splitlines():
        path = line.split(":", 2)[-1]
        if "kubepods" not in path:
            continue
        match = _POD.search(path)
        if match:
            return match.group(1).replace("_", "-")
    return None


def pod_uid_of_pid(pid: int, proc: Path = Path("/proc")) -> str | None:
    try:
        return pod_uid_from_cgroup((proc / str(pid) / "cgroup").read_text(encoding="utf-8", errors="replace"))
    except OSError:  # the process ended, or is not ours to read
        return None
