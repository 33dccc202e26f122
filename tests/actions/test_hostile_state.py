"""Issue 19 defect 1: a `gridshift.io/state` annotation nested deep enough makes `json.loads`
raise RecursionError, not ValueError. It must be an error for that object only: reported with
its name, nothing changed on it, every other workload of the namespace handled, the pass (and
readiness, which is "a pass succeeded") unharmed."""

from __future__ import annotations

import pytest

from gridshift.actions.state import StateError, decode
from tests.actions.conftest import alert

HIGH = alert("DE_LU", "high")
STATE = "gridshift.io/state"
NESTED = "[" * 2000  # 2 KB, well under the 16 KiB cap


@pytest.mark.parametrize("text", [NESTED, '{"a":' * 3000, "[" * 15000])
def test_a_deeply_nested_state_is_a_state_error(text: str) -> None:
    with pytest.raises(StateError, match="nested"):
        decode(text)


def test_one_nested_state_spoils_nothing_else(service, cluster) -> None:
    cluster.namespace("team-a", {"gridshift.io/action": "pause", "gridshift.io/zone": "DE_LU"})
    cluster.deployment("team-a", "aaa-bad", replicas=3, annotations={STATE: NESTED})
    cluster.deployment("team-a", "zzz-good", replicas=3)
    service.notify(HIGH)
    service.reconcile()
    assert cluster.get("Deployment", "team-a", "zzz-good")["spec"]["replicas"] == 0
    bad = cluster.get("Deployment", "team-a", "aaa-bad")
    assert bad["spec"]["replicas"] == 3 and bad["metadata"]["annotations"][STATE] == NESTED
    [decision] = [d for d in service.decisions() if d["name"] == "aaa-bad"]
    assert decision["result"] == "skipped" and "nested" in decision["reason"]
    response = service.client.get("/readyz")
    assert response.status_code == 200, response.get_json()
