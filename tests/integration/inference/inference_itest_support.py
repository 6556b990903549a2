"""Helpers of the inference worker's integration tests (imported by the tests and their conftest)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from byok_core.kafka import topic_partitions
from byok_core.sealing_keys import SealingKeyStore
from byok_core.settings import KafkaSettings, ProviderEndpoints, SystemKeys, VaultSettings
from byok_core.vault import VaultClient
from byok_core.vault.key_codec import org_key_path, user_key_path
from byok_inference.config import InferenceSettings
from byok_inference.handlers import usage_event_id
from byok_inference.main import Worker, bootstrap
from byok_sealing import seal
from byok_testing.fake_providers import RunningFakeProviders

RUN = uuid.uuid4().hex[:8]
PROVIDERS = ["anthropic", "openai", "gemini", "openrouter"]
MODELS = {
    "anthropic": ("claude-sonnet-4-5", "anthropic/claude-sonnet-4.5"),
    "openai": ("gpt-4.1", "openai/gpt-4.1"),
    "gemini": ("gemini-2.5-flash", "google/gemini-2.5-flash"),
    "openrouter": ("openrouter/meta-llama/llama-3-70b-instruct", "meta-llama/llama-3-70b-instruct"),
}
MODES = ["disabled", "prefer", "require"]
SYSTEM_KEYS = {p: f"sys-{RUN}-{p}" for p in PROVIDERS}
TEST_PRICES = Path(__file__).with_name("test_prices.toml")  # prices the made-up models of these tests


class TopicWatch:
    """Reads a topic from its end as of start(), keeping the records whose key passes `keep`."""

    def __init__(self, bootstrap: str, topic: str, keep: Callable[[bytes | None], bool]) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.keep = keep
        self.records: list[Any] = []
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> TopicWatch:
        await self._consumer.start()
        parts = await topic_partitions({"bootstrap_servers": self.bootstrap}, [self.topic])
        self._consumer.assign(parts)
        await self._consumer.seek_to_end(*parts)
        for tp in parts:
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        while True:
            for records in (await self._consumer.getmany(timeout_ms=100)).values():
                self.records.extend(r for r in records if self.keep(r.key))

    def values(self) -> list[dict[str, Any]]:
        return [json.loads(r.value) for r in self.records]

    async def wait_for(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 30.0,
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.values()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.topic}: condition not met; have {len(self.records)} records")
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()


def worker_settings(
    stack_env: dict[str, str],
    fake: RunningFakeProviders,
    group: str,
    system_keys: dict[str, str] | None = None,
    **overrides: Any,
) -> InferenceSettings:
    env = fake.env
    return InferenceSettings(
        kafka=KafkaSettings(bootstrap=stack_env["BYOK_KAFKA_BOOTSTRAP"], client_id=f"test-{group}"),
        vault=VaultSettings(addr=stack_env["BYOK_VAULT_ADDR"], token=stack_env["BYOK_VAULT_TOKEN_INFERENCE"]),
        providers=ProviderEndpoints(
            anthropic_base_url=env["BYOK_ANTHROPIC_BASE_URL"],
            openai_base_url=env["BYOK_OPENAI_BASE_URL"],
            gemini_base_url=env["BYOK_GEMINI_BASE_URL"],
            openrouter_base_url=env["BYOK_OPENROUTER_BASE_URL"],
        ),
        system_keys=SystemKeys(**{f"{p}_api_key": v for p, v in (system_keys or {}).items()}),
        group_id=group,
        auto_offset_reset="latest",
        metrics_port=0,
        retry_base_delay_seconds=0.05,
        retry_max_delay_seconds=0.2,
        provider_timeout_seconds=10.0,  # 2 s was met under CI load: a retried call made the matrix see two calls
        dedupe_window_seconds=300,
        **{"price_overrides": TEST_PRICES, **overrides},
    )


async def start_worker(settings: InferenceSettings) -> tuple[Worker, asyncio.Task[None]]:
    """Start a worker in this process and wait until it owns its partitions at their end."""
    worker = bootstrap(settings)
    await worker.start()
    task = asyncio.create_task(worker.loop.run())
    await asyncio.wait_for(worker.loop.assigned.wait(), 60)
    consumer = worker.loop.consumer  # resolve "latest" before producing
    for tp in consumer.assignment():
        await consumer.position(tp)
    return worker, task


async def stop_worker(worker: Worker, task: asyncio.Task[None]) -> None:
    worker.loop.stop()
    await task
    await worker.stop()


async def send(producer: AIOKafkaProducer, requests: list[dict[str, Any]]) -> None:
    futures = [
        await producer.send("byok.prompt.requests", json.dumps(r).encode(), key=r["request_id"].encode())
        for r in requests
    ]
    await asyncio.gather(*futures)


async def expected_system_key(vault_root: VaultClient, provider: str, env_key: str | None) -> str | None:
    """The system key the worker will use: Vault system/<provider> first, then its env fallback."""
    found = await vault_root.read(f"system/{provider}")
    if found is not None and found[0].get("api_key") and found[0].get("status", "active") != "invalid":
        return str(found[0]["api_key"])
    return env_key


def prompt(rid: str, tenant: str, model: str, **extra: Any) -> dict[str, Any]:
    return {
        "schema": "byok.prompt.request/v1",
        "request_id": rid,
        "tenant_id": tenant,
        "user_id": "u1",
        "model": model,
        "messages": [{"role": "user", "content": f"request <{rid}> in one sentence, what causes ocean tides?"}],
        **extra,
    }


def finals(watch: TopicWatch, rid: str) -> list[dict[str, Any]]:
    return [v for v in watch.values() if v["request_id"] == rid and v["status"] != "delta"]


async def put_key(vault: VaultClient, path: str, api_key: str) -> None:
    await vault.write(path, {"api_key": api_key, "status": "active", "provider": "x"})


async def run_matrix_phase(
    stack_env: dict[str, str],
    fake: RunningFakeProviders,
    vault: VaultClient,
    sealing: SealingKeyStore,
    producer: AIOKafkaProducer,
    responses: TopicWatch,
    usages: TopicWatch,
    sources: list[str],
    system_keys: dict[str, str] | None,
    worker: Worker | None,
) -> int:
    public = await sealing.current_public()
    cases = []
    for i, (mode, source, provider) in enumerate(itertools.product(MODES, sources, PROVIDERS)):
        tenant, rid = f"mx{RUN}-{source[:3]}{i}", f"{RUN}-mx-{source}-{i}"
        key = f"k-{RUN}-{i}-{source}-{provider}"
        extra: dict[str, Any] = {"byok_mode": mode}
        if source == "request":
            at = datetime.now(UTC)
            extra["created_at"] = at.isoformat()
            extra["sealed_keys"] = {
                provider: seal(
                    key, public_key=public, tenant_id=tenant, request_id=rid, provider=provider, created_at=at
                )
            }
        elif source == "user":
            await put_key(vault, user_key_path(tenant, "u1", provider), key)
        elif source == "org":
            await put_key(vault, org_key_path(tenant, provider), key)
        cases.append((mode, source, provider, tenant, rid, key, prompt(rid, tenant, MODELS[provider][0], **extra)))
    own = None
    if worker is None:
        own = await start_worker(worker_settings(stack_env, fake, f"itest-{RUN}-none", system_keys))
    try:
        await send(producer, [c[-1] for c in cases])
        await responses.wait_for(lambda _: all(finals(responses, c[4]) for c in cases), 60)
    finally:
        if own is not None:
            await stop_worker(*own)
    await asyncio.sleep(0.5)  # let usage events arrive
    for mode, source, provider, tenant, rid, key, _ in cases:
        case = (mode, source, provider)
        system = await expected_system_key(vault, provider, (system_keys or {}).get(provider))
        or_system = await expected_system_key(vault, "openrouter", (system_keys or {}).get("openrouter"))
        user_side = key if source in ("request", "user", "org") else None
        expected: tuple[str, str, bool] | None = None  # (key, key_source, through OpenRouter)
        if mode != "disabled" and user_side:
            expected = (user_side, source, provider == "openrouter")
        elif mode != "require" and system:
            expected = (system, "system", provider == "openrouter")
        elif mode != "require" and or_system:
            expected = (or_system, "system", True)
        [final] = finals(responses, rid)
        calls = fake.server.book.find(contains=f"<{rid}>")
        usage = [u for u in usages.values() if u["request_id"] == rid]
        if expected is None:
            code = "byok_key_required" if mode == "require" else "no_key_available"
            assert final["status"] == "failed" and final["error"]["code"] == code, case
            assert calls == [] and usage == [], case
            continue
        expected_key, expected_source, routed = expected
        assert final["status"] == "completed", (case, final)
        assert [c.api_key for c in calls] == [expected_key], case
        assert final["key_source"] == expected_source, case
        assert final["route"] == ("openrouter" if routed else "direct"), case
        assert final["provider"] == ("openrouter" if routed else provider), case
        assert calls[0].model == final["model"] == (MODELS[provider][1] if routed else MODELS[provider][0]), case
        [u] = usage
        assert u["event_id"] == usage_event_id(tenant, rid) and u["byok"] == (expected_source != "system"), case
        assert (u["provider"], u["model"], u["route"], u["key_source"]) == (
            final["provider"],
            final["model"],
            final["route"],
            final["key_source"],
        ), case
        assert u["input_tokens"] >= u["cache_read_tokens"] + u["cache_write_tokens"] > 0, case
    for case in cases:
        source, provider, tenant = case[1], case[2], case[3]
        if source == "user":
            await vault.destroy(user_key_path(tenant, "u1", provider))
        elif source == "org":
            await vault.destroy(org_key_path(tenant, provider))
    return len(cases)
