"""`gridshift` command line: one image, the subcommand picks the role."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from gridshift import __version__, logs
from gridshift.config import Config, ConfigError, load_config


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


def _serve(app: Any, host: str, port: int, loop: _Loop, *announce: object) -> int:
    """Serve `app` on host:port with `loop` running until SIGINT/SIGTERM, then stop both.

    `announce`: a log message and its arguments, logged (INFO) once serving; none, nothing is logged."""
    from gridshift.web import Server

    server = Server(app, host, port).start()
    loop.start()
    if announce:
        logging.getLogger("gridshift").info(*announce)
    wait_for_signal()
    loop.stop()
    server.stop()
    return 0


def _run_exporter(args: argparse.Namespace) -> int:
    from gridshift.exporters.grid.app import build_grid_exporter

    config = _load(args.config, "exporter")
    if config is None:
        return 2
    configure_logging(config, args)
    exporter = build_grid_exporter(config)
    gc.freeze()  # start-up objects live forever; keeping them out of GC passes makes parsing ~20% cheaper
    host, port = config.exporter.listen_address, args.port or config.exporter.port
    return _serve(exporter.app, host, port, exporter.loop,
                  "grid exporter on %s:%d for zones %s", host, port, ", ".join(config.grid.entsoe.zones) or "(none)")


def _run_actions(args: argparse.Namespace) -> int:
    import os

    from gridshift.actions.app import InsecureRefused, build_action_service

    loaded = _config_and_cluster(args, "gridshift actions")
    if loaded is None:
        return 2
    config, api_client = loaded
    try:
        service = build_action_service(config, api_client=api_client, insecure=args.insecure, dry_run=args.dry_run,
                                       release_namespace=os.environ.get("POD_NAMESPACE", ""))
    except InsecureRefused as error:
        print(f"gridshift actions: {error}", file=sys.stderr)
        return 2
    host, port = config.actions.listen_address, args.port or config.actions.port
    mode = service.reconciler.executor.dry_run
    return _serve(service.app, host, port, service.reconciler,
                  "action service on %s:%d%s", host, port, f" ({mode} dry run)" if mode else "")


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
    return _serve(exporter.app, settings.listen_address, args.port or settings.port, exporter.refresher)


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
