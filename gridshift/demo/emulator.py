"""An emulated Kubernetes API for the demo and the tests: kmock 0.8's ``KubernetesEmulator``, made
usable from synchronous code and the real ``kubernetes`` client.

What it adds on top of kmock (each item is a gap found in kmock 0.8, see NOTES.md):

* runs the emulator as a real HTTP server on 127.0.0.1 in a background thread
  (``running_emulator()``), so the sync ``kubernetes`` client can talk to it;
* ``/api/v1/namespaces[/<name>]`` URLs are parsed correctly (kmock 0.8 mis-parses them);
* ``metadata.resourceVersion`` (+ uid, creationTimestamp, generation) is stamped and
  bumped on every write; stale ``resourceVersion`` in a patch/PUT body -> 409 Conflict;
* PATCH honours the Content-Type: json-patch (RFC 6902, a failed ``test`` op -> 422 like
  the real apiserver), merge-patch (RFC 7386), strategic-merge (approximated as merge);
* PUT (replace), the ``/scale`` subresource (autoscaling/v1 Scale) for GET/PATCH/PUT;
* ``labelSelector`` / ``fieldSelector`` (metadata.name, metadata.namespace) on LIST;
* ``metadata.generateName`` on create (e.g. core/v1 Events);
* built-in resources pre-registered (LIST of an empty resource -> [] instead of 404);
* discovery URLs with the trailing slash the python client uses (``/apis/``, ``/version/``);
* ``dryRun=All`` on PATCH and POST: the write is checked (patch applied, resourceVersion
  guard, faults) and answered as stored, but nothing is stored, as a real apiserver does
  (kmock 0.8 ignores the parameter and would persist the write);
* ``inject()``: per-verb/resource faults (status and/or delay) that fire BEFORE any
  state mutation (kmock's own ``emu[...] << 500`` reactions fire AFTER the write);
* a request is matched to its reaction in constant time, not by scanning every request served
  before it (kmock 0.8 slows with every request: issue 19 defect 10);
* ``forget_requests()``: drops the record of requests served (a long benchmark's memory).
"""
from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import itertools
import re
import threading
import uuid
from collections.abc import Iterator, Mapping
from types import EllipsisType
from typing import Any

import aiohttp.web
import attrs
import jsonpatch
import kmock
from kmock._internal import apps as _kapps
from kmock._internal import dsl as _kdsl
from kmock._internal import parsing as _kparsing
from kmock._internal import rendering as _krendering

# --------------------------------------------------------------------------------------------
# 1. kmock 0.8 parses /api/v1/namespaces/<ns> as "namespace=<ns>, plural=None" and crashes on
#    /api/v1/namespaces (500 ValueError). Patch the (private) path parser once, process-wide.
# --------------------------------------------------------------------------------------------
_NS_PATH = re.compile(r'^/api/v1/namespaces(?:/([^/]+)(?:/(status|finalize))?)?/*$')
_orig_parse_path = _kparsing.parse_path


def _parse_path(path: str) -> _kparsing.ParsedPath:
    m = _NS_PATH.match(path)
    if m:
        return _kparsing.ParsedPath(group='', version='v1', plural='namespaces',
                                    namespace=None, name=m.group(1), subresource=m.group(2))
    return _orig_parse_path(path)


if _kparsing.parse_path is _orig_parse_path:
    _kparsing.parse_path = _parse_path

# --------------------------------------------------------------------------------------------
# 2. kmock 0.8 decides which reaction serves a request by asking `request in reaction._source`,
#    and a view answers that by iterating every request it ever recorded through its filters:
#    each request costs more than the last (61 ms at the first thousand GETs, 200 ms at the
#    second; issue 19 defect 10). A request's membership of a filtered view is its membership of
#    the source and the view's criteria, and of the root its index in the record: O(1) a view.
#    Views whose membership depends on position or on other views (slices, groups, exclusions,
#    streams) keep kmock's own answer.
# --------------------------------------------------------------------------------------------
_orig_contains = _kdsl.View.__contains__


def _holds(view: _kdsl.View, request: _krendering.Request) -> bool:
    kind = type(view)
    if isinstance(view, _kdsl.Root):
        record = view._requests
        index = request.id
        if 0 <= index < len(record) and record[index] is request:
            return True
        return any(seen is request for seen in record)
    if kind is _kdsl.Filter:
        return bool(view.criteria(request)) and _holds(view._source, request)
    if kind is _kdsl.Priority or kind is _kdsl.Chained:
        return _holds(view._source, request)
    return bool(_orig_contains(view, request))


def _contains(self: _kdsl.View, item: Any) -> bool:
    if isinstance(item, _krendering.Request):
        return _holds(self, item)
    return bool(_orig_contains(self, item))


if _kdsl.View.__contains__ is _orig_contains:
    _kdsl.View.__contains__ = _contains  # type: ignore[method-assign]  # kmock's private API, see above

# --------------------------------------------------------------------------------------------
# Helpers: patches, selectors.
# --------------------------------------------------------------------------------------------
_REASONS = {400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound',
            405: 'MethodNotAllowed', 409: 'Conflict', 410: 'Expired', 422: 'Invalid',
            429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable',
            504: 'Timeout'}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (None deletes a key, lists are replaced)."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _split_selector(sel: str) -> list[str]:
    parts, depth, cur = [], 0, ''
    for ch in sel:
        if ch == ',' and depth == 0:
            parts.append(cur)
            cur = ''
            continue
        depth += ch == '('
        depth -= ch == ')'
        cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def match_label_selector(selector: str | None, labels: Mapping[str, str] | None) -> bool:
    """Equality- and set-based label selectors: a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a."""
    labels = labels or {}
    for req in _split_selector(selector or ''):
        if m := re.fullmatch(r'(\S+)\s+(in|notin)\s*\((.*)\)', req):
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(',')}
            if op == 'in' and labels.get(key) not in values:
                return False
            if op == 'notin' and key in labels and labels[key] in values:
                return False
        elif m := re.fullmatch(r'([^!=\s]+)\s*(!=|==|=)\s*(\S*)', req):
            key, op, value = m.groups()
            if op == '!=' and labels.get(key) == value:
                return False
            if op in ('=', '==') and labels.get(key) != value:
                return False
        elif req.startswith('!'):
            if req[1:].strip() in labels:
                return False
        elif req not in labels:
            return False
    return True


_SELECTABLE_FIELDS = ('metadata.name', 'metadata.namespace', 'status.phase', 'spec.nodeName')


def match_field_selector(selector: str | None, obj: Mapping[str, Any]) -> bool:
    """metadata.name, metadata.namespace, and the pods' status.phase and spec.nodeName (= == !=);
    other fields are ignored (match)."""
    for req in _split_selector(selector or ''):
        m = re.fullmatch(r'([^!=\s]+)\s*(!=|==|=)\s*(\S*)', req)
        if not m or m.group(1) not in _SELECTABLE_FIELDS:
            continue
        section, key = m.group(1).split('.', 1)
        actual = (obj.get(section) or {}).get(key) or ''
        if (m.group(2) == '!=') == (actual == m.group(3)):
            return False
    return True


def _selector_string(spec_selector: Mapping[str, Any] | None) -> str:
    labels = (spec_selector or {}).get('matchLabels') or {}
    return ','.join(f'{k}={v}' for k, v in labels.items())


# --------------------------------------------------------------------------------------------
# Fault injection.
# --------------------------------------------------------------------------------------------
@attrs.define
class Fault:
    method: str | None = None            # 'PATCH', 'GET', ... (None = any)
    resource: str | None = None          # 'deployments' or 'apps/v1/deployments' (None = any)
    name: str | None = None
    namespace: str | None = None
    subresource: str | None | EllipsisType = ...   # ... = any; None = main resource only
    status: int | None = 500             # None = do not fail (only delay)
    reason: str | None = None
    message: str | None = None
    delay: float = 0.0                   # seconds, before failing / proceeding
    times: int | None = 1                # None = forever
    hits: int = 0                        # how many requests it caught so far

    def matches(self, request: kmock.Request) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method and request.method.value.upper() != self.method.upper():
            return False
        if self.resource and (request.resource is None or not kmock.resource(self.resource).check(request.resource)):
            return False
        if self.name is not None and request.name != self.name:
            return False
        if self.namespace is not None and request.namespace != self.namespace:
            return False
        if self.subresource is not ... and request.subresource != self.subresource:
            return False
        return True


# --------------------------------------------------------------------------------------------
# The emulator.
# --------------------------------------------------------------------------------------------
def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


@attrs.define(kw_only=True)
class Emulator(kmock.KubernetesEmulator):
    json_patch_test_failure_status: int = 422   # real apiserver: 422 (Invalid); some fakes use 409
    base_url: str | None = None                 # set by running_emulator()
    _rv: Any = attrs.field(factory=lambda: itertools.count(1000), init=False)
    _faults: list[Fault] = attrs.field(factory=list, init=False)
    _faults_lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)
    _kinds: dict[tuple[str, str], tuple[kmock.resource, bool]] = attrs.field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        # Register all built-in resources (core, apps, batch, autoscaling, events.k8s.io, ...):
        # otherwise LIST of a resource with no stored objects is a 404 "Resource Not Found".
        self.resources.load_bundled()
        for res in self.resources:
            info = self.resources[res]
            if info.kind:
                api_version = f'{res.group}/{res.version}' if res.group else res.version
                self._kinds[api_version, info.kind] = (res, bool(info.namespaced))
        # The python client requests discovery with a trailing slash; kmock only knows the bare URLs.
        fb = self.fallback ** 1  # above the other fallbacks, below any user reaction
        fb['get', re.compile(r'/apis/[^/]+/[^/]+/')] << self._serve_version
        fb['get', re.compile(r'/apis/[^/]+/')] << self._serve_group
        fb['get', re.compile(r'/api/v1/')] << self._serve_version
        fb['get /apis/'] << self._serve_apis
        fb['get /api/'] << self._serve_api
        fb['get /version/'] << self._serve_server_version

    # ---------------------------------------------------------------- test-side API (sync)
    def add(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Preload an object (resource derived from apiVersion+kind); stamps rv/uid. Returns it."""
        obj = copy.deepcopy(dict(obj))
        res, namespaced = self._kinds[obj['apiVersion'], obj['kind']]
        meta = obj.setdefault('metadata', {})
        namespace = meta.get('namespace') if namespaced else None
        if namespaced and not namespace:
            namespace = meta['namespace'] = 'default'
        self._stamp_new(obj)
        self.objects[res, namespace, meta['name']] = obj
        return obj

    def state(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        """The current stored state as a plain dict (deep copy)."""
        return copy.deepcopy(self.objects[resource, namespace, name].raw)

    def forget_requests(self) -> None:
        """Drop the record of the requests served so far (kmock keeps every one, in the root and in
        each reaction that served it): a benchmark's memory stays flat over many passes."""
        self._requests.clear()
        for reaction in self._payloads:
            reaction._requests.clear()

    def inject(self, method: str | None = None, resource: str | None = None, **kwargs: Any) -> Fault:
        """Fail/delay matching requests BEFORE they touch the state. See Fault for kwargs."""
        fault = Fault(method=method, resource=resource, **kwargs)
        with self._faults_lock:
            self._faults.append(fault)
        return fault

    # ---------------------------------------------------------------- server side
    def _next_rv(self) -> str:
        return str(next(self._rv))

    def _stamp_new(self, obj: dict[str, Any]) -> None:
        meta = obj.setdefault('metadata', {})
        if not meta.get('name') and meta.get('generateName'):
            meta['name'] = meta['generateName'] + uuid.uuid4().hex[:5]
        meta.setdefault('uid', str(uuid.uuid4()))
        meta.setdefault('creationTimestamp', _now())
        meta.setdefault('generation', 1)
        meta['resourceVersion'] = self._next_rv()

    def _conflict(self, request: kmock.Request) -> kmock.KubernetesError:
        assert request.resource is not None
        gr = f'{request.resource.plural}.{request.resource.group}' if request.resource.group else request.resource.plural
        return kmock.KubernetesError(
            status=409, reason='Conflict',
            message=f'Operation cannot be fulfilled on {gr} "{request.name}": the object has been modified;'
                    f' please apply your changes to the latest version and try again',
            details={'name': request.name, 'group': request.resource.group, 'kind': request.resource.plural})

    def _patched(self, current: dict[str, Any], request: kmock.Request) -> dict[str, Any]:
        ctype = (request.headers.get('Content-Type') or '').split(';')[0].strip().lower()
        if ctype == 'application/json-patch+json' or isinstance(request.data, list):
            try:
                return jsonpatch.apply_patch(current, request.data, in_place=False)
            except jsonpatch.JsonPatchTestFailed as e:
                raise kmock.KubernetesError(status=self.json_patch_test_failure_status,
                                            reason=_REASONS.get(self.json_patch_test_failure_status),
                                            message=str(e)) from None
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as e:
                raise kmock.KubernetesError(status=422, reason='Invalid', message=str(e)) from None
        if not isinstance(request.data, Mapping):
            raise kmock.KubernetesError(status=400, reason='BadRequest', message='invalid patch body')
        # merge-patch+json and strategic-merge-patch+json (strategic is approximated by RFC 7386).
        return merge_patch(current, request.data)

    def _commit(self, request: kmock.Request, current: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        """Optimistic concurrency + stamping; stores `new` as the next version. Call under the lock."""
        self._check_version(request, current, new)
        old_meta, new_meta = current.get('metadata', {}), new.setdefault('metadata', {})
        for key in ('name', 'namespace', 'uid', 'creationTimestamp'):  # immutable
            if key in old_meta:
                new_meta[key] = old_meta[key]
        new_meta['generation'] = old_meta.get('generation', 1) + (new.get('spec') != current.get('spec'))
        new_meta['resourceVersion'] = self._next_rv()
        assert request.resource is not None and request.name is not None
        self.objects[request.resource, request.namespace, request.name].history.append(new)
        return new

    def _check_version(self, request: kmock.Request, current: dict[str, Any], new: dict[str, Any]) -> None:
        new_rv = (new.get('metadata') or {}).get('resourceVersion')
        if new_rv and new_rv != current.get('metadata', {}).get('resourceVersion'):
            raise self._conflict(request)

    async def _dry_run(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        """``dryRun=All``: answer the write as the apiserver would, store nothing."""
        if request.params.get('dryRun') != 'All':
            raise kmock.KubernetesError(status=400, reason='BadRequest',
                                        message=f"dryRun: unsupported value {request.params.get('dryRun')!r}")
        method = request.method.value.upper()
        if method == 'PATCH' and request.name is not None and request.subresource is None:
            async with self._lock:
                current = self._existing(request)
                new = self._patched(current, request)
                self._check_version(request, current, new)
            return aiohttp.web.json_response(new)
        if method == 'POST' and isinstance(request.data, dict):
            new = copy.deepcopy(request.data)
            self._stamp_new(new)
            if request.namespace:
                new['metadata']['namespace'] = request.namespace
            return aiohttp.web.json_response(new, status=201)
        raise kmock.KubernetesError(status=400, reason='BadRequest',
                                    message=f'dryRun is emulated for PATCH and POST only, not {method}')

    def _existing(self, request: kmock.Request) -> dict[str, Any]:
        assert request.resource is not None and request.name is not None
        key = (request.resource, request.namespace, request.name)
        if key not in self.objects or self.objects[key].deleted:
            raise kmock.KubernetesObjectNotFoundError()
        return copy.deepcopy(self.objects[key].raw)

    @staticmethod
    def _scale_of(obj: dict[str, Any]) -> dict[str, Any]:
        meta, spec, status = obj.get('metadata', {}), obj.get('spec', {}), obj.get('status', {})
        return {
            'apiVersion': 'autoscaling/v1', 'kind': 'Scale',
            'metadata': {k: meta[k] for k in ('name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp') if k in meta},
            'spec': {'replicas': spec.get('replicas', 1)},
            'status': {'replicas': status.get('replicas', 0), 'selector': _selector_string(spec.get('selector'))},
        }

    async def _apply_faults(self, request: kmock.Request) -> None:
        with self._faults_lock:
            fault = next((f for f in self._faults if f.matches(request)), None)
            if fault is not None:
                fault.hits += 1
        if fault is None:
            return
        if fault.delay:
            await asyncio.sleep(fault.delay)  # cancelled if the client times out and disconnects
        if fault.status is not None:
            raise kmock.KubernetesError(status=fault.status, reason=fault.reason or _REASONS.get(fault.status, 'Unknown'),
                                        message=fault.message or f'injected fault ({fault.status})')

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        await self._apply_faults(request)  # before ANY state mutation
        if 'dryRun' in request.params:
            return await self._dry_run(request)

        res = request.resource
        if res is None or res.plural is None or request.name is None:
            if request.action == kmock.action.CREATE and isinstance(request.data, dict):
                self._stamp_new(request.data)  # kmock stores request.data as-is in super()._handle()
                if request.namespace:
                    request.data['metadata']['namespace'] = request.namespace
            return await super()._handle(request)

        method = request.method.value.upper()
        if request.subresource == 'scale':
            async with self._lock:
                current = self._existing(request)
                scale = self._scale_of(current)
                if method == 'GET':
                    return aiohttp.web.json_response(scale)
                if method == 'PATCH':
                    new_scale = self._patched(scale, request)
                elif method == 'PUT':
                    new_scale = dict(request.data or {})
                else:
                    raise kmock.KubernetesError(status=405, reason='MethodNotAllowed', message=method)
                rv = (new_scale.get('metadata') or {}).get('resourceVersion')
                new = copy.deepcopy(current)
                new.setdefault('metadata', {})['resourceVersion'] = rv or current['metadata'].get('resourceVersion')
                new.setdefault('spec', {})['replicas'] = (new_scale.get('spec') or {}).get('replicas')
                new = self._commit(request, current, new)
                await self._buses[res].put({'type': 'MODIFIED', 'object': new})
            return aiohttp.web.json_response(self._scale_of(new))

        if method in ('PATCH', 'PUT'):
            async with self._lock:
                current = self._existing(request)
                if method == 'PATCH':
                    new = self._patched(current, request)
                elif request.subresource == 'status':
                    new = dict(current, status=(request.data or {}).get('status'))
                    new['metadata'] = dict(current.get('metadata', {}), **{
                        k: v for k, v in ((request.data or {}).get('metadata') or {}).items() if k == 'resourceVersion'})
                else:
                    new = copy.deepcopy(dict(request.data or {}))
                new = self._commit(request, current, new)
                await self._buses[res].put({'type': 'MODIFIED', 'object': new})
            if method == 'PUT':  # kmock has no action for PUT -> no fallback reaction would answer it.
                return aiohttp.web.json_response(new)
            # Skip KubernetesEmulator._handle (it would apply the patch a second time);
            # dispatch reactions: user reactions first, else the fallback returns the stored object.
            return await _kapps.RawHandler._handle(self, request)

        return await super()._handle(request)

    async def _serve_list(self, request: kmock.Request) -> dict[str, Any]:
        result = await super()._serve_list(request)
        label_sel = request.params.get('labelSelector')
        field_sel = request.params.get('fieldSelector')
        items = [item for item in result['items']
                 if match_label_selector(label_sel, (item.get('metadata') or {}).get('labels'))
                 and match_field_selector(field_sel, item)]
        return dict(result, items=items, metadata={'resourceVersion': self._next_rv()})


# --------------------------------------------------------------------------------------------
# Running it from synchronous code.
# --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def running_emulator(cls: type[Emulator] = Emulator, **kwargs: Any) -> Iterator[Emulator]:
    """Start `cls(**kwargs)` + kmock.Server on 127.0.0.1:<random> in a daemon thread's event loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name='kmock-loop', daemon=True)
    thread.start()

    async def start() -> tuple[Emulator, kmock.Server]:
        emu = cls(**kwargs)                  # create inside the loop: it owns asyncio primitives
        await emu.__aenter__()
        server = kmock.Server(emu)           # default host 127.0.0.1, random free port
        await server.__aenter__()
        emu.base_url = str(server.url).rstrip('/')
        return emu, server

    async def stop(emu: Emulator, server: kmock.Server) -> None:
        await server.__aexit__(None, None, None)
        await emu.__aexit__(None, None, None)

    emu, server = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    try:
        yield emu
    finally:
        try:
            asyncio.run_coroutine_threadsafe(stop(emu, server), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()


def make_api_client(base_url: str, **config: Any) -> Any:
    """A kubernetes.client.ApiClient pointed at the emulator (no auth, no env proxy, no retries)."""
    from kubernetes import client
    cfg = client.Configuration(host=base_url)
    cfg.proxy = None          # v37 reads HTTP(S)_PROXY from the environment by default
    cfg.retries = 0           # urllib3 would otherwise retry GETs on read timeouts
    for key, value in config.items():
        setattr(cfg, key, value)
    return client.ApiClient(cfg)
