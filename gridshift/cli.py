"""`gridshift` command line: one image, the subcommand picks the role."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gridshift import __version__, logs
from gridshift.config import Config, ConfigError, load_config
from gridshift.serving_settings import ServingSettings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    return int(args.run(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridshift", description=__doc__)
    parser.add_argument("--version", action="version", version=f"gridshift {__version__}")
    commands = parser.add_subparsers(title="commands")

    exporter = commands.add_parser("exporter", help="serve grid generation mix and intensity metrics")
    exporter.add_argument("--config", help="YAML configuration file (see docs/configuration.md)")
    exporter.add_argument("--log-format", choices=logs.FORMATS, help="text (the default) or json: one object a line")
    exporter.add_argument("--port", type=int, help="override exporter.port")
    exporter.set_defaults(run=_run_exporter)

    actions = commands.add_parser("actions", help="the action service: Alertmanager webhook -> hold and restore workloads")
    actions.add_argument("--config", help="YAML configuration file (see docs/configuration.md)")
    actions.add_argument("--log-format", choices=logs.FORMATS, help="text (the default) or json: one object a line")
    actions.add_argument("--port", type=int, help="override actions.port")
    actions.add_argument("--insecure", action="store_true", help="accept webhooks without a token (never in production)")
    _kube_arguments(actions, default=None)
    actions.set_defaults(run=_run_actions)
    restore = actions.add_subparsers(title="actions commands").add_parser(
        "restore", help="restore every workload gridshift holds, from its gridshift.io/state, whatever the alerts "
        "(before uninstalling, or while the service is down)")
    scope = restore.add_mutually_exclusive_group(required=True)
    scope.add_argument("--all", action="store_true", help="in every namespace (opted in or not any more)")
    scope.add_argument("--namespace", metavar="N", help="only in namespace N")
    restore.add_argument("--config", default=argparse.SUPPRESS, help="YAML configuration file (see docs/configuration.md)")
    restore.add_argument("--stop-service", metavar="[NAMESPACE/]DEPLOYMENT",
                         help="first scale the action service's Deployment to 0 and wait for its pods to go, so it "
                         "cannot hold again what is restored; started again if the restore fails (the chart's "
                         "uninstall hook; NAMESPACE defaults to $POD_NAMESPACE)")
    _kube_arguments(restore, default=argparse.SUPPRESS)
    restore.set_defaults(run=_run_restore)

    power = commands.add_parser("power-exporter",
                                help="serve per-namespace power, energy and emissions (Kepler or the CPU estimator)")
    power.add_argument("--config", help="YAML configuration file (see docs/configuration.md)")
    power.add_argument("--log-format", choices=logs.FORMATS, help="text (the default) or json: one object a line")
    power.add_argument("--port", type=int, help="override power.port")
    power.set_defaults(run=_run_power_exporter)

    report = commands.add_parser("report", help="a namespace's energy, emissions, intensity, actions and avoided "
                                 "emissions over a time range, from Prometheus: Markdown and PNG charts")
    from gridshift.report.command import add_arguments

    add_arguments(report)
    report.set_defaults(run=_run_report)

    demo = commands.add_parser("demo", help="the whole loop on loopback from recorded real data, no token needed")
    demo.add_argument("--data", help="folder of recorded inputs (default: the checkout's data/)")
    demo.add_argument("--duration", type=float, default=0, help="stop after this many seconds (default: until Ctrl-C)")
    demo.add_argument("--speed", type=float, default=1800.0, help="trace seconds per second (default 1800: an hour in 2 s)")
    demo.set_defaults(run=_run_demo)
    return parser


def _kube_arguments(parser: argparse.ArgumentParser, *, default: Any) -> None:
    """--dry-run[=client|server] and --kubeconfig, for `actions` and `actions restore` alike."""
    parser.add_argument("--dry-run", nargs="?", const="client", choices=("client", "server"), default=default,
                        help="alone (or =client): decide and record, send no write; =server: send each write with "
                        "Kubernetes' server-side dry run (dryRun=All), so RBAC and admission answer, nothing persisted")
    parser.add_argument("--kubeconfig", default=default, help="kubeconfig file (default: in-cluster, else ~/.kube/config)")


def _kube_client(kubeconfig: str | None, command: str) -> Any | None:
    """The API client, or None after one line saying why there is none."""
    from gridshift.actions.kube.config import KubeConfigError, load_api_client

    try:
        return load_api_client(kubeconfig)
    except KubeConfigError as error:
        print(f"{command}: {error}", file=sys.stderr)
        return None


def _config_and_cluster(args: argparse.Namespace, command: str) -> tuple[Config, Any] | None:
    """The action service's configuration (logging set up) and API client; None after printing why not."""
    config = _load(args.config, "actions")
    if config is None:
        return None
    configure_logging(config, args)
    api_client = _kube_client(args.kubeconfig, command)
    return None if api_client is None else (config, api_client)


def _load(path: str | None, role: str) -> Config | None:
    """The configuration as `role` (a command of ROLE_SECTIONS) needs it, or None after printing why."""
    try:
        return load_config(path, role=role)
    except ConfigError as error:
        print(f"gridshift: {error}", file=sys.stderr)
        return None


def configure_logging(config: Config, args: argparse.Namespace) -> None:
    """The configuration's log level, and its log format unless `--log-format` says another."""
    logs.configure(config.log_level, getattr(args, "log_format", None) or config.log_format)


class _Loop(Protocol):
    """What runs beside the HTTP server: a refresher or the reconciler."""

    def start(self) -> Any: ...

    def stop(self) -> Any: ...


@dataclass(frozen=True)
class Listen:
    """Where a component serves: its app on host:port, /metrics on `metrics_port` if set (0: beside the app)."""

    host: str
    port: int
    metrics_port: int = 0
    max_body_bytes: int = 64 * 1024


def _serve(app: Any, listen: Listen, loop: _Loop, serving: ServingSettings, *announce: object) -> int:
    """Serve `app` with `loop` running until SIGINT/SIGTERM, then shut down within the grace period.

    `announce`: a log message and its arguments, logged (INFO) once serving; none, nothing is logged."""
    from gridshift.web import Server, create_metrics_app

    servers = [Server(app, listen.host, listen.port, serving, max_body_bytes=listen.max_body_bytes).start()]
    if listen.metrics_port:
        servers.append(Server(create_metrics_app(app), listen.host, listen.metrics_port, serving).start())
    loop.start()
    if announce:
        logging.getLogger("gridshift").info(*announce)
    wait_for_signal()
    shut_down(servers, loop, grace_seconds=serving.shutdown_grace_seconds)
    return 0


def shut_down(servers: Sequence[Any], loop: _Loop, *, grace_seconds: float) -> bool:
    """Stop taking requests (webhooks included), let the loop finish what it is doing and the
    requests already read complete, all within `grace_seconds`. False if the loop had to be left
    unfinished (its writes are idempotent: the next pass, here or in another replica, ends them)."""
    deadline = time.monotonic() + grace_seconds
    for server in servers:
        server.stop_accepting()
    stopping = threading.Thread(target=loop.stop, name="loop-stop", daemon=True)
    stopping.start()
    stopping.join(timeout=max(0.0, deadline - time.monotonic() - 1.0))  # a second kept for the servers
    finished = not stopping.is_alive()
    if not finished:
        logging.getLogger("gridshift").warning("shutting down before the loop finished (grace period of %g s)",
                                               grace_seconds)
    for server in servers:
        server.stop(timeout=max(0.1, deadline - time.monotonic()))
    return finished


def _run_exporter(args: argparse.Namespace) -> int:
    from gridshift.exporters.grid.app import build_grid_exporter

    config = _load(args.config, "exporter")
    if config is None:
        return 2
    configure_logging(config, args)
    exporter = build_grid_exporter(config)
    gc.freeze()  # start-up objects live forever; keeping them out of GC passes makes parsing ~20% cheaper
    settings = config.exporter
    listen = Listen(settings.listen_address, args.port or settings.port, settings.metrics_port)
    return _serve(exporter.app, listen, exporter.loop, config.serving, "grid exporter on %s:%d for zones %s",
                  listen.host, listen.port, ", ".join(config.grid.entsoe.zones) or "(none)")


def _run_actions(args: argparse.Namespace) -> int:
    import os

    from gridshift.actions.app import CannotStart, build_action_service

    loaded = _config_and_cluster(args, "gridshift actions")
    if loaded is None:
        return 2
    config, api_client = loaded
    try:
        service = build_action_service(config, api_client=api_client, insecure=args.insecure, dry_run=args.dry_run,
                                       release_namespace=os.environ.get("POD_NAMESPACE", ""),
                                       identity=os.environ.get("POD_NAME", ""))  # else the host name: the pod's
    except CannotStart as error:
        print(f"gridshift actions: {error}", file=sys.stderr)
        return 2
    settings = config.actions
    listen = Listen(settings.listen_address, args.port or settings.port, settings.metrics_port, service.served_body_limit)
    mode = service.reconciler.executor.dry_run
    return _serve(service.app, listen, service.loop, config.serving,
                  "action service on %s:%d%s", listen.host, listen.port, f" ({mode} dry run)" if mode else "")


def _run_restore(args: argparse.Namespace) -> int:
    import os
    import time

    from gridshift.actions.executor import dry_run_mode
    from gridshift.actions.kube.client import Kube
    from gridshift.actions.policy import protected_namespaces
    from gridshift.actions.restore import run_restore

    loaded = _config_and_cluster(args, "gridshift actions restore")
    if loaded is None:
        return 2
    config, api_client = loaded
    settings = config.actions
    return run_restore(kube=Kube(api_client, timeout_seconds=settings.request_timeout_seconds),
                       # --all: every namespace, or every target namespace when the service is limited to some
                       namespaces=settings.target_namespaces if args.all else (args.namespace,),
                       dry_run=dry_run_mode(args.dry_run or ""),  # not actions.dry_run: the way out acts unless asked
                       karmada=bool(settings.karmada_clusters), clock=time.time, out=print,
                       protected=protected_namespaces(settings.protected_namespaces, os.environ.get("POD_NAMESPACE", "")),
                       stop=_deployment(args.stop_service))


def _deployment(reference: str | None) -> tuple[str, str] | None:
    """`namespace/name` or `name` (in $POD_NAMESPACE, else default) as (namespace, name)."""
    import os

    if not reference:
        return None
    namespace, _, name = reference.rpartition("/")
    return namespace or os.environ.get("POD_NAMESPACE") or "default", name


def _run_power_exporter(args: argparse.Namespace) -> int:
    from gridshift.exporters.power.app import build_power_exporter
    from gridshift.exporters.power.discover import DiscoveryError, load_api_client

    config = _load(args.config, "power-exporter")
    if config is None:
        return 2
    configure_logging(config, args)
    settings = config.power
    try:
        kube = load_api_client()
    except DiscoveryError as error:
        # Static Kepler targets need no API, but then every node is in the default zone.
        if not settings.kepler.static_targets or settings.estimator.enabled:
            print(f"gridshift: {error}", file=sys.stderr)
            return 2
        logging.getLogger("gridshift").warning("%s: every node is in zone %s", error, config.cluster.default_zone)
        kube = None
    exporter = build_power_exporter(settings, kube_api_client=kube, cluster=config.cluster)
    listen = Listen(settings.listen_address, args.port or settings.port, settings.metrics_port)
    return _serve(exporter.app, listen, exporter.refresher, config.serving)


def _run_report(args: argparse.Namespace) -> int:
    from gridshift.report.command import run

    return run(args)


def _run_demo(args: argparse.Namespace) -> int:
    from gridshift.demo import run_demo

    return run_demo(data=args.data, duration=args.duration, speed=args.speed)


def wait_for_signal(timeout: float | None = None) -> None:
    """Block until SIGINT/SIGTERM (or `timeout` seconds)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait(timeout)


if __name__ == "__main__":
    sys.exit(main())
