"""bootstrap(): build the service from settings; run(): uvicorn with graceful shutdown on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from byok_core.auth import build_verifier
from byok_core.kafka import make_broker
from byok_core.logging import configure_logging
from byok_core.sealing_keys import SealingKeyStore
from byok_core.vault import VaultClient, VaultError
from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from .adapters.kafka_publisher import KafkaKeyEventPublisher
from .adapters.live_validator import SdkLiveValidator
from .adapters.outbox_sqlite import SqliteOutbox
from .adapters.vault_http import AsyncKV
from .adapters.vault_store import VaultKeyStore
from .auth import BearerAuth
from .config import KeyvaultSettings, load_settings
from .entrypoints.http import create_app
from .entrypoints.kafka import register_key_event_subscriber, report_consumer_lag
from .handlers import Deps, load_system_keys
from .outbox import READY, EventOutbox
from .ports import EventPublisher
from .web import parse_frame_ancestors

log = logging.getLogger("byok.keyvault")

KAFKA_RETRY_SECONDS = 2.0
VAULT_STARTUP_ATTEMPTS = 30


@dataclass
class Service:
    settings: KeyvaultSettings
    vault: VaultClient
    store: VaultKeyStore
    sealing: SealingKeyStore
    broker: KafkaBroker
    publisher: KafkaKeyEventPublisher
    outbox_storage: SqliteOutbox
    outbox: EventOutbox
    deps: Deps
    app: FastAPI


def bootstrap(settings: KeyvaultSettings | None = None, *, publisher: EventPublisher | None = None) -> Service:
    """Wire everything. `publisher` replaces the Kafka publisher (tests wrap it to simulate an outage)."""
    settings = settings or KeyvaultSettings()
    vault = VaultClient(settings.vault)
    store = VaultKeyStore(vault, AsyncKV(vault, settings.vault.addr, timeout_seconds=settings.vault.timeout_seconds))
    sealing = SealingKeyStore(vault, public_cache_seconds=settings.keyvault_sealing_cache_seconds)
    broker = make_broker(
        settings.kafka,
        enable_idempotence=True,
        acks="all",
        request_timeout_ms=10_000,
        logger=logging.getLogger("byok.keyvault.kafka"),  # our JSON, redacting handler; not FastStream's own
        log_level=logging.DEBUG,  # per-message "Received/Processed" lines only at DEBUG
    )
    kafka_publisher = KafkaKeyEventPublisher(broker)
    subscriber = register_key_event_subscriber(broker, store, group_id=settings.keyvault_consumer_group)
    outbox_storage = SqliteOutbox(settings.keyvault_outbox_path)
    outbox = EventOutbox(
        outbox_storage,
        publisher or kafka_publisher,
        store,
        publish_timeout=settings.keyvault_publish_timeout_seconds,
        retry_seconds=settings.keyvault_outbox_retry_seconds,
    )
    validator = SdkLiveValidator(settings.providers, timeout_seconds=settings.keyvault_live_validation_timeout_seconds)
    deps = Deps(store=store, outbox=outbox, validator=validator)
    verifier = BearerAuth(build_verifier(settings.auth, fallback_secret=settings.jwt_secret()))

    async def health() -> dict[str, Any]:
        vault_ok = await store.healthy()
        return {
            "status": "ok" if vault_ok else "unhealthy",
            "vault": vault_ok,
            "kafka": kafka_publisher.connected,
            "outbox_ready": outbox_storage.count(READY),
        }

    service: Service

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await _start_vault_side(service)
        kafka_task = asyncio.create_task(_connect_kafka(broker, kafka_publisher), name="kafka-connect")
        relay_task = asyncio.create_task(outbox.run(), name="outbox-relay")
        lag_task = asyncio.create_task(report_consumer_lag(subscriber), name="consumer-lag")
        log.info("key-vault service ready on %s:%d", settings.keyvault_host, settings.keyvault_port)
        try:
            yield
        finally:
            log.info("key-vault service stopping")
            await outbox.stop()
            for task in (relay_task, kafka_task, lag_task):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            kafka_publisher.connected = False
            with contextlib.suppress(Exception):
                await broker.stop()
            outbox_storage.close()
            await store.aclose()
            log.info("key-vault service stopped")

    app = create_app(
        deps=deps,
        verifier=verifier,
        sealing=sealing,
        health=health,
        max_body_bytes=settings.keyvault_max_body_bytes,
        lifespan=lifespan,
        frame_ancestors=parse_frame_ancestors(settings.keyvault_frame_ancestors),
    )
    service = Service(settings, vault, store, sealing, broker, kafka_publisher, outbox_storage, outbox, deps, app)
    return service


async def _start_vault_side(service: Service) -> None:
    """Sealing key present and system keys loaded; waits for Vault a little, then fails loudly."""
    for attempt in range(VAULT_STARTUP_ATTEMPTS):
        try:
            public = await service.sealing.ensure_current()
            await load_system_keys(service.settings.system_keys, service.store)
            log.info("sealing key current: kid=%s", public.kid)
            await service.outbox.resolve_prepared(older_than=0)  # leftovers of a previous run
            return
        except VaultError as exc:
            if attempt == VAULT_STARTUP_ATTEMPTS - 1:
                raise
            log.warning("Vault not ready (%s); retrying", type(exc).__name__)
            await asyncio.sleep(1.0)


async def _connect_kafka(broker: KafkaBroker, publisher: KafkaKeyEventPublisher) -> None:
    """Start the broker (producer + key.invalid subscriber); until it is up, events wait in the outbox."""
    while True:
        try:
            await broker.start()
            publisher.connected = True
            log.info("connected to Kafka")
            return
        except Exception as exc:
            log.warning("Kafka not reachable (%s); retrying in %.0fs", type(exc).__name__, KAFKA_RETRY_SECONDS)
            with contextlib.suppress(Exception):
                await broker.stop()
            await asyncio.sleep(KAFKA_RETRY_SECONDS)


def run() -> None:
    settings = load_settings()
    configure_logging("keyvault", settings.observability.log_level, settings.observability.log_format)
    service = bootstrap(settings)
    config = uvicorn.Config(
        service.app,
        host=settings.keyvault_host,
        port=settings.keyvault_port,
        log_config=None,  # our redacting handler stays in charge
        access_log=False,  # the request log is ours (method, route, status; never bodies or tokens)
        timeout_graceful_shutdown=int(settings.keyvault_shutdown_grace_seconds),
        server_header=False,
    )
    _Server(config).run()


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after its graceful shutdown (exit by signal); we exit 0 instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
