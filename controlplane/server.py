"""`dockyard server`: the control plane process.

It starts (or connects to) etcd, serves the Control API (the CLI), the Certificates,
Sessions and LogBroker APIs (agents) plus the standard health and reflection services on
:7070, serves /healthz, /metrics and the web console on :7080 (controlplane/console),
and runs the leader's reconcile loop. SIGTERM and SIGINT stop it cleanly: it stops
leading, the gRPC server drains, the loops stop, and the embedded etcd is stopped last,
each step within a bound of its own (controlplane/stopping.py), so a slow or stopped
etcd cannot hold the stop.

:7070 is mutual TLS only (see controlplane/security): every caller presents a certificate
from the cluster CA, or a join certificate made from the join token (Register only). One
interceptor enforces which certificate each rpc needs (controlplane/api/roles.py).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from dockyard.common.spec import rules
from dockyard.controlplane import stopping
from dockyard.controlplane.api.builds import BuildBroker, BuildsService
from dockyard.controlplane.api.certificates import CertificatesService
from dockyard.controlplane.api.control import ControlService
from dockyard.controlplane.api.logs import LogBroker, LogBrokerService
from dockyard.controlplane.api.roles import RoleInterceptor
from dockyard.controlplane.api.sessionregistry import SessionRegistry
from dockyard.controlplane.api.sessions import SessionsService
from dockyard.controlplane.config import ServerConfig
from dockyard.controlplane.console.auth import Access, console_key
from dockyard.controlplane.console.feed import Feed
from dockyard.controlplane.console.web import Console, make_app
from dockyard.controlplane.detector import DetectorSettings
from dockyard.controlplane.election import Election
from dockyard.controlplane.embedded_etcd import EmbeddedEtcd
from dockyard.controlplane.files.migrate import migrate_apps
from dockyard.controlplane.files.store import FileStore
from dockyard.controlplane.http_status import serve_http
from dockyard.controlplane.leader import Leader
from dockyard.controlplane.liveness import NodeLiveness
from dockyard.controlplane.metrics import ClusterCollector, register_cluster
from dockyard.controlplane.mirror import Mirror
from dockyard.controlplane.network.claims import SubnetClaims, check_cluster_cidr
from dockyard.controlplane.network.subnets import parse_cluster_cidr
from dockyard.controlplane.security import cluster as security
from dockyard.controlplane.security.datakey import ensure_data_key
from dockyard.controlplane.security.etcd_certs import EtcdFiles
from dockyard.controlplane.security.ratelimit import SourceBuckets
from dockyard.controlplane.security.sealed import SealError
from dockyard.controlplane.selfprobe import SelfProbe, health_call
from dockyard.controlplane.store.client import ClientTls
from dockyard.controlplane.store.etcd import EtcdStore, StoreUnavailable
from dockyard.v1 import control_pb2, control_pb2_grpc, dispatcher_pb2, dispatcher_pb2_grpc

log = logging.getLogger("dockyard.server")


class ServerError(Exception):
    """A reason the server cannot start, in one line."""


async def run_server(config: ServerConfig, *,
                     on_stopping: Callable[[Callable[[], None]], None] = lambda kill: None
                     ) -> None:
    """Serve until SIGTERM or SIGINT, then stop in bounded steps (controlplane/stopping.py).
    `on_stopping(kill_etcd)` is called once as the stop begins, with what kills the
    embedded etcd at once (nothing without one): the program (cli/server.py) arms its
    watchdog there. The library ends no process itself."""
    settings = detector_settings(config)  # a bad setting stops the server before etcd starts
    etcd: EmbeddedEtcd | None = None
    endpoints = list(config.etcd)
    etcd_tls = external_etcd_tls(config)
    if config.embedded_etcd:
        etcd = EmbeddedEtcd(
            data_dir=config.data_dir / "etcd",
            client_port=config.etcd_client_port,
            peer_port=config.etcd_client_port + 1,
            files=EtcdFiles.under(config.data_dir),
        )
        endpoints = [etcd.start()]
        etcd_tls = etcd.client_tls
    store = EtcdStore(endpoints, tls=etcd_tls)
    try:
        await store.connect(wait_s=20.0)
        if etcd is not None:
            await etcd.secure(store)
    except StoreUnavailable as exc:
        if etcd is not None:
            if etcd.exited() is not None:
                raise ServerError(f"the embedded etcd exited: {etcd.why_exited()}") from None
            await etcd.stop()
        raise ServerError(str(exc)) from None

    try:
        ca, created = await security.ensure_ca(store, config.kek_path)
        tls = security.Tls(ca, config.listen)
        tokens = security.TokenKeeper(store, ca, config.data_dir / "join-token")
        tokens.on_change = tls.set_token
        await tokens.ensure(config.join_token)
        cidr = parse_cluster_cidr(config.cluster_cidr)
        await check_cluster_cidr(store, cidr)
        files = FileStore(store, await ensure_data_key(store, config.kek_path))
        await migrate_apps(store, files)
    except (StoreUnavailable, ValueError, SealError) as exc:
        if etcd is not None:
            await etcd.stop()
        raise ServerError(str(exc)) from None
    home = config.admin_credentials if created else None
    security.write_admin_credentials(ca, config.data_dir, home=home)
    if created:
        _print_first_start(config)

    mirror = Mirror(store)
    leader = Leader(store, mirror, debounce_s=config.reconcile_debounce_s,
                    node_grace_s=config.node_grace_s)
    server = grpc.aio.server(
        options=[
            ("grpc.so_reuseport", 0),
            # Stated, not gRPC's defaults: docs/limits.md; the CLI's channel matches them.
            ("grpc.max_receive_message_length", rules.MAX_REQUEST_BYTES),
            ("grpc.max_send_message_length", rules.MAX_RESPONSE_BYTES),
        ],
        interceptors=[RoleInterceptor(tls.peer)],
    )
    registry = SessionRegistry()
    probe_channel, probe_call = health_call(config.listen, ca)
    self_probe = SelfProbe(probe_call)  # how far behind this replica is in reading calls
    liveness = NodeLiveness(store, registry, settings=settings,
                            leave_grace_s=config.leave_grace_s, behind_s=self_probe.behind_s)
    broker = LogBroker()
    builds = BuildBroker()
    rate, burst = config.join_rate
    claims = SubnetClaims(store, cidr)  # registrations choose subnets from this copy
    certificates = CertificatesService(
        store,
        tls=tls,
        registry=registry,
        liveness=liveness,
        joins=SourceBuckets(rate_per_s=rate, burst=burst),
        node_cert_s=config.node_cert_s,
        heartbeat_s=config.heartbeat_s,
        cluster_cidr=cidr,
        claims=claims,
    )
    dispatcher_pb2_grpc.add_CertificatesServicer_to_server(certificates, server)
    dispatcher_pb2_grpc.add_SessionsServicer_to_server(
        SessionsService(store, mirror, registry=registry, broker=broker,
                        heartbeat_s=config.heartbeat_s, liveness=liveness, files=files,
                        builds=builds), server)
    dispatcher_pb2_grpc.add_LogBrokerServicer_to_server(LogBrokerService(broker, mirror), server)
    dispatcher_pb2_grpc.add_BuildsServicer_to_server(BuildsService(builds), server)
    control = ControlService(store, on_change=leader.poke, liveness=registry, tokens=tokens,
                             logs=broker, allow=config.allow, limits=config.limits, files=files,
                             console=Access(console_key(ca.key_pem), config.http_listen,
                                            config.http_tls),
                             registry=config.registry, builds=builds,
                             view=lambda: mirror.view, mirror=mirror)
    control_pb2_grpc.add_ControlServicer_to_server(control, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [
            control_pb2.DESCRIPTOR.services_by_name["Control"].full_name,
            *(service.full_name for service in dispatcher_pb2.DESCRIPTOR.services_by_name.values()),
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    try:
        server.add_secure_port(config.listen, tls.credentials())
    except RuntimeError:
        raise ServerError(f"cannot listen on {config.listen}: address in use?") from None

    async def probe() -> str | None:
        try:
            await store.get(security.TOKEN_KEY)
        except StoreUnavailable as exc:
            return str(exc)
        return mirror.problem  # not ready until the mirror is in sync with etcd

    feed = Feed(store, mirror)
    console = Console(mirror=mirror, feed=feed, key=console_key(ca.key_pem),
                      heartbeat_ms=registry.last_heartbeat_ms,
                      ca=ca if config.http_tls else None)
    try:
        http = await serve_http(config.http_listen, make_app(probe, console),
                                ssl=tls.http_context() if config.http_tls else None)
    except OSError as exc:
        raise ServerError(f"cannot listen on {config.http_listen}: {exc.strerror}") from None
    unregister = register_cluster(ClusterCollector(lambda: mirror.view,
                                                   registry.last_heartbeat_ms))
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    log.info("serving gRPC on %s, HTTP on %s, etcd %s", config.listen, config.http_listen,
             store.endpoints)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _on_signal, stop)
    election = Election(store, replica=config.replica or config.listen, ttl_s=config.leader_ttl_s)
    campaign = asyncio.create_task(election.run(leader.run), name="election")
    loops = [
        asyncio.create_task(mirror.run(), name="mirror"),
        campaign,
        asyncio.create_task(tokens.follow(), name="join-token"),
        asyncio.create_task(liveness.run(), name="liveness"),
        asyncio.create_task(claims.run(), name="subnet-claims"),
        asyncio.create_task(self_probe.run(), name="self-probe"),
    ]
    stopper = asyncio.create_task(stop.wait())
    watched = {stopper, *loops}
    if etcd is not None:
        watched.add(asyncio.create_task(_watch_child(etcd)))
    done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
    if stopper not in done:
        for t in done:
            if t.cancelled():
                log.error("stopping: %s ended unexpectedly", t.get_name())
            elif t.exception() is not None:
                log.error("stopping: %s", t.exception())
    log.info("stopping (at most %gs)", stopping.total_bound_s())
    on_stopping(etcd.kill if etcd is not None else lambda: None)
    # Stop campaigning first: ending the election loop stops the leader's work and
    # revokes its lease, which deletes the leader key; another replica may lead at once,
    # and this one no longer does.
    await stopping.bounded("resign", _cancelled(campaign))
    await stopping.bounded("health", health_servicer.enter_graceful_shutdown())
    await stopping.bounded("grpc", server.stop(grace=stopping.DRAIN_S))
    http.close()
    await stopping.bounded("console", feed.close())
    unregister()
    await stopping.bounded("loops", _cancelled(*watched))
    await stopping.bounded("probe", probe_channel.close())
    await stopping.bounded("etcd-client", store.close())
    if etcd is not None:
        await stopping.bounded("etcd", etcd.stop(grace_s=stopping.ETCD_TERM_S))
        etcd.kill()  # never left running, whatever the step above did
    log.info("stopped")


def detector_settings(config: ServerConfig) -> DetectorSettings:
    """The failure detector's settings from the server's; ServerError when they do not
    make sense together."""
    settings = DetectorSettings(
        period_s=config.heartbeat_s, grace_s=config.node_grace_s,
        grace_max_s=config.node_grace_max_s or 2.5 * config.node_grace_s)
    problem = settings.problem()
    if problem is None and config.leave_grace_s < config.node_grace_s:
        problem = (f"--leave-grace ({config.leave_grace_s:g}s) must be at least --node-grace "
                   f"({config.node_grace_s:g}s)")
    if problem is not None:
        raise ServerError(problem)
    return settings


def _print_first_start(config: ServerConfig) -> None:
    from dockyard.controlplane.firststart import first_start_message, host_ip, same_file_text

    data_dir = config.data_dir.resolve()
    copy = config.admin_credentials
    if copy is not None and not same_file_text(copy, data_dir / "admin.pem"):
        copy = None  # another cluster's credential was there and is kept
    print(first_start_message(listen=config.listen, data_dir=data_dir, admin_copy=copy,
                              host_ip=host_ip()), flush=True)


def external_etcd_tls(config: ServerConfig) -> ClientTls | None:
    """Client TLS to an external etcd from --etcd-cacert/--etcd-cert/--etcd-key, or None.
    ServerError (one line) for an incomplete set or an unreadable file."""
    given = (config.etcd_cacert, config.etcd_cert, config.etcd_key)
    if not any(given):
        return None
    if config.embedded_etcd:
        raise ServerError("--etcd-cacert, --etcd-cert and --etcd-key are for an external etcd "
                          "(--etcd URL); the embedded etcd makes its own")
    if not all(given):
        raise ServerError("--etcd-cacert, --etcd-cert and --etcd-key go together")
    try:
        return ClientTls.from_files(*given)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ServerError(str(exc)) from None


def _on_signal(stop: asyncio.Event) -> None:
    if stop.is_set():
        log.info("already stopping (at most %gs)", stopping.total_bound_s())
    stop.set()


async def _cancelled(*tasks: asyncio.Task[Any]) -> None:
    """Cancel `tasks` and wait until each has ended."""
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _watch_child(etcd: EmbeddedEtcd) -> None:
    while etcd.exited() is None:
        await asyncio.sleep(0.5)
    raise ServerError(f"the embedded etcd exited with code {etcd.exited()}")
