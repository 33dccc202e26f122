"""Leader election through a coordination.k8s.io Lease, so the action service can run two replicas
and only one acts (docs/actions.md "High availability").

The algorithm is client-go's and the kubernetes client's (kubernetes.leaderelection): a candidate
reads the Lease; it takes it when it is free, or when its holder has not renewed it for a lease
duration as seen by this candidate's own clock (no clock is compared across machines); the holder
renews every retry period; every write carries the Lease's resourceVersion, so of two candidates
racing for it one gets 409 and stays a follower. A leader that has not renewed within the renew
deadline, shorter than the lease duration, stops acting before anyone else may start.

Written here, not taken from kubernetes.leaderelection (client 37): that candidate cannot be
stopped (it sleeps in a loop for ever), never gives the Lease up on shutdown (a rolling update
then waits a whole lease duration), binds the default client instead of the one gridshift loaded,
runs the work as a callback thread rather than answering "may I write now?" before every write,
and logs each retry at INFO.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import urllib3
from kubernetes import client as k8s

from gridshift.config import LeaderElectionSettings

log = logging.getLogger(__name__)
_UNREACHABLE = (k8s.ApiException, urllib3.exceptions.HTTPError, OSError, ValueError)


@dataclass(frozen=True)
class LeaseRecord:
    holder: str
    renewed: datetime | None
    transitions: int
    resource_version: str | None


class LeaseElector:
    def __init__(self, api_client: k8s.ApiClient, settings: LeaderElectionSettings, *, namespace: str, identity: str,
                 timeout_seconds: float = 5.0, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic,
                 on_change: Callable[[bool], None] | None = None) -> None:
        if not identity:
            raise ValueError("leader election needs an identity (the pod's name)")
        self.api = k8s.CoordinationV1Api(api_client)
        self.settings, self.namespace, self.identity = settings, namespace, identity
        self.timeout_seconds = timeout_seconds
        self.clock, self.monotonic, self.on_change = clock, monotonic, on_change
        self.holder: str = ""  # who leads, as last read ("" unknown or free)
        self._observed: tuple[str, datetime | None] | None = None  # the record last seen, and when (monotonic)
        self._observed_at = 0.0
        self._renewed_at: float | None = None  # when this candidate last took or renewed the Lease (monotonic)
        self._acquired_at: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- what the service asks --------------------------------------------------------------

    def is_leader(self) -> bool:
        """True while this candidate holds the Lease and renewed it within the renew deadline: asked
        before every write, so a leader cut off from the API server stops writing in time."""
        renewed = self._renewed_at
        return renewed is not None and self.monotonic() - renewed < self.settings.renew_deadline_seconds

    def start(self) -> LeaseElector:
        self._thread = threading.Thread(target=self._loop, name="leader-election", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop trying and, when leading, give the Lease up so another replica takes it at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._renewed_at is not None:
            self._release()

    # --- the loop -----------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.try_acquire_or_renew()
            self._stop.wait(self.settings.retry_period_seconds)

    def try_acquire_or_renew(self) -> bool:
        """One round: read the Lease, then take, renew or leave it. True if this candidate leads."""
        was_leading = self.is_leader()
        try:
            leading = self._round()
        except _UNREACHABLE as error:  # the API server away: try again next period
            log.warning("leader election: the Lease %s/%s could not be read or written: %s", self.namespace,
                        self.settings.lease_name, _short(error))
            leading = False
        if leading:
            self._renewed_at = self.monotonic()
        now_leading = self.is_leader()
        if now_leading != was_leading:
            self._changed(now_leading)
        return now_leading

    def _round(self) -> bool:
        record = self._read()
        if record is None:
            return self._create()
        self._observe(record)
        if record.holder == self.identity:
            return self._write(record, acquired=False)
        self._renewed_at = None  # taken over (or given up): not ours, whatever the deadline says
        if record.holder and self.monotonic() - self._observed_at < self.settings.lease_duration_seconds:
            return False  # held, and renewed within a lease duration of our clock
        return self._write(record, acquired=True)

    def _observe(self, record: LeaseRecord) -> None:
        seen = (record.holder, record.renewed)
        if seen != self._observed:
            self._observed, self._observed_at = seen, self.monotonic()
        if record.holder != self.holder:
            if record.holder and record.holder != self.identity:
                log.info("leader election: %s leads", record.holder)
            self.holder = record.holder

    def _read(self) -> LeaseRecord | None:
        try:
            lease = self.api.read_namespaced_lease(self.settings.lease_name, self.namespace,
                                                   _request_timeout=self.timeout_seconds)
        except k8s.ApiException as error:
            if error.status == 404:
                return None
            raise
        spec = lease.spec or k8s.V1LeaseSpec()
        return LeaseRecord(holder=spec.holder_identity or "", renewed=spec.renew_time,
                           transitions=spec.lease_transitions or 0, resource_version=lease.metadata.resource_version)

    def _spec(self, *, acquired_at: datetime | None, transitions: int, holder: str | None = None,
              duration: float | None = None) -> k8s.V1LeaseSpec:
        now = datetime.fromtimestamp(self.clock(), timezone.utc)
        return k8s.V1LeaseSpec(holder_identity=self.identity if holder is None else holder,
                               lease_duration_seconds=int(duration or self.settings.lease_duration_seconds),
                               acquire_time=acquired_at or now, renew_time=now, lease_transitions=transitions)

    def _create(self) -> bool:
        body = k8s.V1Lease(metadata=k8s.V1ObjectMeta(name=self.settings.lease_name, namespace=self.namespace),
                           spec=self._spec(acquired_at=None, transitions=0))
        try:
            self.api.create_namespaced_lease(self.namespace, body, _request_timeout=self.timeout_seconds)
        except k8s.ApiException as error:
            if error.status == 409:  # another candidate created it first
                return False
            raise
        self._acquired_at = body.spec.acquire_time
        self.holder = self.identity
        return True

    def _write(self, record: LeaseRecord, *, acquired: bool) -> bool:
        """Renew (`acquired` False) or take the Lease, guarded by the resourceVersion read."""
        spec = self._spec(acquired_at=None if acquired else self._acquired_at,
                          transitions=record.transitions + (1 if acquired else 0))
        body = k8s.V1Lease(metadata=k8s.V1ObjectMeta(name=self.settings.lease_name, namespace=self.namespace,
                                                     resource_version=record.resource_version), spec=spec)
        try:
            self.api.replace_namespaced_lease(self.settings.lease_name, self.namespace, body,
                                              _request_timeout=self.timeout_seconds)
        except k8s.ApiException as error:
            if error.status == 409:  # someone else wrote it since we read it
                return False
            raise
        if acquired:
            self._acquired_at = spec.acquire_time
        self.holder = self.identity
        return True

    def _release(self) -> None:
        self._renewed_at = None
        self._changed(False)
        try:
            record = self._read()
            if record is None or record.holder != self.identity:
                return
            body = k8s.V1Lease(metadata=k8s.V1ObjectMeta(name=self.settings.lease_name, namespace=self.namespace,
                                                         resource_version=record.resource_version),
                               spec=self._spec(acquired_at=None, transitions=record.transitions, holder="", duration=1))
            self.api.replace_namespaced_lease(self.settings.lease_name, self.namespace, body,
                                              _request_timeout=self.timeout_seconds)
            log.info("leader election: gave the Lease %s/%s up", self.namespace, self.settings.lease_name)
        except _UNREACHABLE as error:  # it expires on its own
            log.warning("leader election: could not give the Lease up (it expires in %.0f s): %s",
                        self.settings.lease_duration_seconds, _short(error))

    def _changed(self, leading: bool) -> None:
        if leading:
            log.info("leader election: %s leads now (Lease %s/%s)", self.identity, self.namespace, self.settings.lease_name)
        else:
            log.warning("leader election: %s stopped leading; no further writes", self.identity)
        if self.on_change is not None:
            self.on_change(leading)


def _short(error: BaseException) -> str:
    if isinstance(error, k8s.ApiException):
        return f"HTTP {error.status} {error.reason or ''}".strip()
    return f"{type(error).__name__}: {error}"[:300]
