"""bootstrap(): build the worker from settings; run(): start, serve /healthz + /metrics, drain on SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from byok_core.auth import build_verifier
from byok_core.fingerprint import Fingerprints
from byok_core.kafka import (
    ConsumerRunner,
    DeadLetters,
    KafkaPublisher,
    StateFollower,
    aiokafka_options,
    make_producer,
)
from byok_core.logging import configure_logging
from byok_core.observability import OpsServer
from byok_core.sealing_keys import SealingKeyStore
from byok_core.vault import VaultClient
from byok_events import topics
from byok_pricing import Pricer, load_pricer
from prometheus_client import Gauge

from .adapters.answered import AnsweredLru
from .adapters.budgets import BudgetBlocks
from .adapters.env_keys import EnvKeyStore, NoSealedKeys
from .adapters.kafka_publisher import WorkerPublisher
from .adapters.key_cache import CachedKeyStore
from .adapters.providers.gateway import SdkGateway
from .adapters.sealed_opener import VaultSealedKeyOpener
from .adapters.user_tokens import TokenAuthority
from .adapters.vault_keys import VaultKeyReader
from .config import InferenceSettings
from .domain.retry import RetryPolicy
from .entrypoints.prompts import Limits, PromptRecordHandler
from .entrypoints.state_topics import state_topics
from .handlers import Deps
from .ports import KeyStore, SealedKeyOpener
from .warm_up import warm_up

log = logging.getLogger("byok.inference")

# A request-supplied key never gets a client of its own (gateway.py): "cached" counts stored keys' clients only,
# bounded by BYOK_INFERENCE_MAX_SDK_CLIENTS, whatever the number of distinct request keys.
SDK_CLIENTS = Gauge("byok_inference_sdk_clients", "Provider SDK clients held by the worker", ["state"])


@dataclass
class Worker:
    settings: InferenceSettings
    kafka: KafkaPublisher
    follower: StateFollower
    loop: ConsumerRunner
    gateway: SdkGateway
    keys: CachedKeyStore
    answered: AnsweredLru
    ops: OpsServer | None
    vault: VaultClient | None = None
    prices: Pricer | None = None

    async def start(self) -> None:
        await self.kafka.start()
        await self.follower.start()
        await self.follower.catch_up(self.settings.catch_up_timeout_seconds)
        await warm_up(
            producer=self.kafka.producer,
            keys=self.keys,
            gateway=self.gateway,
            providers=self.settings.providers_to_preload(),
            load_prices=self.prices.warm_up if self.prices is not None else None,
        )
        await self.loop.start()
        if self.ops is not None:
            await self.ops.start()

    async def stop(self) -> None:
        await self.loop.drain_and_close()
        await self.follower.stop()
        await self.kafka.stop()
        await self.gateway.aclose()
        if self.vault is not None:
            await self.vault.aclose()
        if self.ops is not None:
            await self.ops.stop()

    async def healthy(self) -> bool:
        return self.loop.running and self.loop.assigned.is_set()


def bootstrap(settings: InferenceSettings | None = None) -> Worker:
    settings = settings or InferenceSettings()
    kafka = aiokafka_options(settings.kafka)
    publisher = KafkaPublisher(
        make_producer(
            settings.kafka,
            linger_ms=settings.producer_linger_ms,
            max_batch_size=settings.producer_max_batch_bytes,
            max_request_size=4 * 1024 * 1024,
        )
    )
    store: KeyStore
    opener: SealedKeyOpener
    vault: VaultClient | None = None
    if settings.key_store == "env":
        store, opener = EnvKeyStore(settings.system_keys), NoSealedKeys()
    else:
        vault = VaultClient(settings.vault)
        store, opener = (
            VaultKeyReader(vault, settings.system_keys),
            VaultSealedKeyOpener(SealingKeyStore(vault), max_age_seconds=settings.sealed_key_max_age_seconds),
        )
    keys = CachedKeyStore(
        store, ttl=settings.key_cache_ttl_seconds, stale_if_unavailable=settings.key_stale_if_unavailable_seconds
    )
    gateway = SdkGateway(
        settings.providers, timeout=settings.provider_timeout_seconds, max_clients=settings.max_sdk_clients
    )
    gateway.preload(settings.providers_to_preload())
    SDK_CLIENTS.labels("cached").set_function(lambda: gateway.cached_clients)
    SDK_CLIENTS.labels("closing").set_function(lambda: gateway.closing_clients)
    answered = AnsweredLru(settings.dedupe_max_entries)
    prices = load_pricer(settings.price_overrides)
    budgets = BudgetBlocks()
    deps = Deps(
        keys=keys,
        sealed=opener,
        providers=gateway,
        publisher=WorkerPublisher(publisher),
        answered=answered,
        budgets=budgets,
        prices=prices,
        authority=TokenAuthority(build_verifier(settings.auth)) if settings.user_auth == "required" else None,
        provider_retry=RetryPolicy(
            attempts=settings.retry_attempts,
            base_delay=settings.retry_base_delay_seconds,
            max_delay=settings.retry_max_delay_seconds,
            max_retry_after=settings.max_retry_after_seconds,
        ),
        key_store_retry=RetryPolicy(attempts=settings.key_store_attempts, base_delay=0.2, max_delay=2.0),
        fingerprints=Fingerprints(vault) if vault is not None else Fingerprints.ephemeral(),
        default_max_tokens=settings.default_max_tokens,
    )
    read_ahead = {
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
        "max_partition_fetch_bytes": settings.fetch_partition_max_bytes,
        "fetch_max_bytes": settings.fetch_max_bytes,
    }
    prompt_read_ahead = {**read_ahead, "fetch_min_bytes": settings.prompt_fetch_min_bytes}
    if settings.prompt_fetch_max_wait_ms is not None:
        prompt_read_ahead["fetch_max_wait_ms"] = settings.prompt_fetch_max_wait_ms
    follower = StateFollower(
        AIOKafkaConsumer(
            **kafka,
            group_id=None,
            enable_auto_commit=False,
            fetch_min_bytes=settings.state_fetch_min_bytes,
            **read_ahead,
        ),
        state_topics(
            answered=answered,
            budgets=budgets,
            evict=keys.evict,
            dedupe_window=settings.dedupe_window_seconds,
            catch_up_records=settings.dedupe_catch_up_max_records,
        ),
        service="inference",
        options=kafka,
    )
    consumer = AIOKafkaConsumer(
        **kafka,
        group_id=settings.group_id,
        enable_auto_commit=False,
        auto_offset_reset=settings.auto_offset_reset,
        **prompt_read_ahead,
    )
    limits = Limits(max_request_bytes=settings.max_request_bytes)
    loop = ConsumerRunner(
        consumer,
        [topics.PROMPT_REQUESTS],
        handle=PromptRecordHandler(deps, limits),
        dead_letters=DeadLetters(max_payload_chars=limits.max_dlq_payload_chars),
        sink=deps.publisher,
        service="inference",
        max_in_flight=settings.max_in_flight,
        commit_interval=settings.commit_interval_seconds,
        poll_ms=settings.poll_ms,
        drain_timeout=settings.drain_timeout_seconds,
        on_assigned=lambda: follower.catch_up(settings.catch_up_timeout_seconds),
    )
    worker = Worker(settings, publisher, follower, loop, gateway, keys, answered, None, vault, prices)
    if settings.metrics_port:
        worker.ops = OpsServer(settings.observability.metrics_host, settings.metrics_port, worker.healthy)
    return worker


async def serve(worker: Worker) -> None:
    """Run until SIGTERM/SIGINT (graceful: drain in-flight work) or a fatal error."""
    await worker.start()
    tune_gc(worker.settings.gc_young_threshold)
    stop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        stop.add_signal_handler(sig, worker.loop.stop)
    log.info("inference worker started", extra={"max_in_flight": worker.settings.max_in_flight})
    try:
        await worker.loop.run()
    finally:
        log.info("inference worker stopping")
        await worker.stop()


def tune_gc(young_threshold: int) -> None:
    """Keep the cyclic garbage collector off the hot path (profiled: it took ~40% of the worker's CPU).

    After start-up every long-lived object (modules, SDK clients, pydantic schemas) is frozen out of the
    collector's scans, so a full collection only walks what was allocated since; and the young generation
    is collected every `young_threshold` allocations instead of every 700, so the state of requests in
    flight is less often promoted to the older generations. Cycles are still collected.
    """
    gc.collect()
    gc.freeze()
    if young_threshold > 0:
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(young_threshold, older, oldest)


def run() -> None:
    settings = InferenceSettings()
    configure_logging("inference", settings.observability.log_level, settings.observability.log_format)

    async def main() -> None:
        await serve(bootstrap(settings))  # aiokafka clients must be built inside the running loop

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(main())


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (less CPU per message and per HTTP call), else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
