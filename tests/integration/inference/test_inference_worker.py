"""The inference worker end to end: real Kafka, real Vault, the fake provider over HTTP, the official SDKs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from byok_core.fingerprint import Fingerprints, load_secret
from byok_core.sealing_keys import SealingKeyStore
from byok_core.vault import VaultClient
from byok_core.vault.key_codec import org_key_path, user_key_path
from byok_events import BudgetAlert, KeyEvent
from byok_inference.main import Worker
from byok_sealing import seal
from byok_testing.fake_providers import Rule, RunningFakeProviders
from byok_testing.topics import TopicTail
from support.inference import (
    MODELS,
    PROVIDERS,
    RUN,
    SYSTEM_KEYS,
    answered,
    expected_system_key,
    finals,
    prompt,
    put_key,
    run_matrix_phase,
    send,
    start_worker,
    stop_worker,
    worker_settings,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def worker(stack_env: dict[str, str], fake_providers: RunningFakeProviders) -> AsyncIterator[Worker]:
    w, task = await start_worker(worker_settings(stack_env, fake_providers, f"itest-{RUN}", SYSTEM_KEYS))
    yield w
    await stop_worker(w, task)


@pytest.fixture(scope="module")
async def sealing(vault_root: VaultClient) -> SealingKeyStore:
    store = SealingKeyStore(vault_root)
    await store.ensure_current()
    return store


async def test_matrix_modes_sources_providers(
    stack_env: dict[str, str],
    fake_providers: RunningFakeProviders,
    vault_root: VaultClient,
    sealing: SealingKeyStore,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    usages: TopicTail,
    worker: Worker,
) -> None:
    n = await run_matrix_phase(
        stack_env,
        fake_providers,
        vault_root,
        sealing,
        producer,
        responses,
        usages,
        ["request", "user", "org", "system"],
        SYSTEM_KEYS,
        worker,
    )
    assert n == 48


async def test_rejected_user_key_gives_invalid_user_key_and_key_event_no_fallback(
    kafka_bootstrap: str,
    fake_providers: RunningFakeProviders,
    vault_root: VaultClient,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    usages: TopicTail,
    worker: Worker,
) -> None:
    tenant, rid, key = f"inv{RUN}", f"{RUN}-invalid", f"bad-{RUN}"
    keyed = Fingerprints(secret=await load_secret(vault_root, create=True))  # as the key-vault service does
    keys_watch = await TopicTail(kafka_bootstrap, "byok.keys.events", key=tenant).start()
    try:
        for provider in ("gemini", "anthropic"):
            await put_key(vault_root, user_key_path(tenant, "u1", provider), key + provider)
            fake_providers.server.book.rules.append(Rule(action="invalid_key", api_key=key + provider))
        await send(
            producer,
            [prompt(rid + "g", tenant, "gemini-2.5-flash"), prompt(rid + "a", tenant, "claude-sonnet-4-5")],
        )
        await responses.until(lambda _: bool(finals(responses, rid + "g") and finals(responses, rid + "a")))
        await keys_watch.until(lambda v: len(v) == 2)
        for suffix, provider in (("g", "gemini"), ("a", "anthropic")):
            [final] = finals(responses, rid + suffix)
            assert final["error"]["code"] == "invalid_user_key" and final["key_source"] == "user"
            calls = fake_providers.server.book.find(contains=f"<{rid}{suffix}>")
            assert [c.api_key for c in calls] == [key + provider]  # no fallback to the system key
            assert key not in json.dumps(final)
        events = [KeyEvent.model_validate(v) for v in keys_watch.values()]
        assert {(e.type, e.scope, e.user_id, e.provider.value) for e in events} == {
            ("key.invalid", "user", "u1", "gemini"),
            ("key.invalid", "user", "u1", "anthropic"),
        }
        assert all(key not in e.model_dump_json() for e in events)
        assert {e.provider.value: e.fingerprint for e in events} == {p: keyed(key + p) for p in ("gemini", "anthropic")}
        assert await usages.absent_for(0.3, lambda u: u["tenant_id"] == tenant) == []
    finally:
        await keys_watch.stop()
        for provider in ("gemini", "anthropic"):
            await vault_root.destroy(user_key_path(tenant, "u1", provider))


async def test_sealed_key_replayed_to_another_tenant_or_request_does_not_open(
    fake_providers: RunningFakeProviders,
    sealing: SealingKeyStore,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    worker: Worker,
) -> None:
    public = await sealing.current_public()
    tenant, rid = f"seal{RUN}", f"{RUN}-seal"
    at = datetime.now(UTC)
    sealed = seal(
        f"sealed-{RUN}", public_key=public, tenant_id=tenant, request_id=rid, provider="openai", created_at=at
    )
    old = at - timedelta(seconds=901)  # beyond BYOK_SEALED_KEY_MAX_AGE_SECONDS (900 by default)
    aged = seal(
        f"sealed-{RUN}",
        public_key=public,
        tenant_id=tenant,
        request_id=rid + "-aged",
        provider="openai",
        created_at=old,
    )
    when = {"created_at": at.isoformat()}
    requests = [
        prompt(rid, tenant, "gpt-4.1", sealed_keys={"openai": sealed}, **when),
        prompt(rid + "-other-request", tenant, "gpt-4.1", sealed_keys={"openai": sealed}, **when),
        prompt(rid + "-other-tenant", tenant + "x", "gpt-4.1", sealed_keys={"openai": sealed}, **when),
        prompt(rid + "-garbage", tenant, "gpt-4.1", sealed_keys={"openai": "byok-seal-v1.nope.AAAA.BBBB"}, **when),
        prompt(rid + "-aged", tenant, "gpt-4.1", sealed_keys={"openai": aged}, created_at=old.isoformat()),
    ]
    # the captured key with a new prompt under the same request id: de-duplicated, never run again
    replayed = prompt(rid, tenant, "gpt-4.1", sealed_keys={"openai": sealed}, **when)
    replayed["messages"] = [{"role": "user", "content": f"<{rid}> a new prompt from someone else"}]
    # ... and under a new request id with a fresh created_at: does not open
    fresh = prompt(
        rid + "-fresh-time", tenant, "gpt-4.1", sealed_keys={"openai": sealed}, created_at=datetime.now(UTC).isoformat()
    )
    await send(producer, requests)
    await responses.until(lambda _: answered(responses, [r["request_id"] for r in requests]))
    await send(producer, [replayed, fresh])
    await responses.until(lambda _: finals(responses, rid + "-fresh-time"))
    assert finals(responses, rid)[0]["key_source"] == "request"
    for r in [*requests[1:], fresh]:
        [final] = finals(responses, r["request_id"])
        assert final["status"] == "failed" and final["error"]["code"] == "sealed_key_invalid", final
    calls = fake_providers.server.book.find(api_key=f"sealed-{RUN}")
    assert len(calls) == 1 and rid in calls[0].prompt and "someone else" not in calls[0].prompt
    assert len(finals(responses, rid)) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_streaming_deltas_then_completed(
    fake_providers: RunningFakeProviders,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    usages: TopicTail,
    worker: Worker,
    provider: str,
    vault_root: VaultClient,
) -> None:
    tenant, rid = f"st{RUN}", f"{RUN}-stream-{provider}"
    await send(producer, [prompt(rid, tenant, MODELS[provider][0], stream=True, byok_mode="disabled")])
    await responses.until(lambda _: bool(finals(responses, rid)))
    mine = [v for v in responses.values() if v["request_id"] == rid]
    assert [v["status"] for v in mine][-1] == "completed" and len(mine) >= 3
    deltas = [v["output_text"] for v in mine if v["status"] == "delta"]
    assert "".join(deltas) == mine[-1]["output_text"] and rid in mine[-1]["output_text"]
    [call] = fake_providers.server.book.find(contains=f"<{rid}>")
    # Vault's system key wins over the worker's env fallback (another test may have loaded one).
    assert call.stream and call.api_key == await expected_system_key(vault_root, provider, SYSTEM_KEYS[provider])
    await usages.until(lambda v: any(u["request_id"] == rid for u in v))


async def test_garbage_goes_to_the_dlq(
    kafka_bootstrap: str, producer: AIOKafkaProducer, responses: TopicTail, worker: Worker
) -> None:
    marker = f"dlq{RUN}"
    dlq = await TopicTail(kafka_bootstrap, "byok.dlq", key=lambda k: bool(k and marker.encode() in k)).start()
    try:
        records = [
            (f"{marker}-notjson", b"{not json at all"),
            (
                f"{marker}-schema",
                json.dumps(
                    {
                        "schema": "byok.prompt.request/v1",
                        "request_id": f"{RUN}-bad-schema",
                        "tenant_id": "t",
                        "model": "gpt-4.1",
                        "messages": "nope",
                    }
                ).encode(),
            ),
            (
                f"{marker}-huge",
                json.dumps(
                    prompt(f"{RUN}-huge", "t", "gpt-4.1") | {"messages": [{"role": "user", "content": "x" * 600_000}]}
                ).encode(),
            ),
        ]
        for key, value in records:
            await (await producer.send("byok.prompt.requests", value, key=key.encode()))
        await dlq.until(lambda v: len(v) == 3)
        reasons = {r.key.decode(): json.loads(r.value)["reason"] for r in dlq.records}
        assert reasons[f"{marker}-notjson"].startswith("invalid_request: not JSON")
        assert reasons[f"{marker}-schema"].startswith("invalid_request: wrong schema")
        assert "larger than" in reasons[f"{marker}-huge"]
        await responses.until(
            lambda _: bool(finals(responses, f"{RUN}-bad-schema") and finals(responses, f"{RUN}-huge"))
        )
        for rid in (f"{RUN}-bad-schema", f"{RUN}-huge"):
            assert finals(responses, rid)[0]["error"]["code"] == "invalid_request"
    finally:
        await dlq.stop()


async def test_retries_then_success_and_exhausted_retries(
    fake_providers: RunningFakeProviders,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    worker: Worker,
) -> None:
    rid_ok, rid_fail = f"{RUN}-retry-ok", f"{RUN}-retry-fail"
    book = fake_providers.server.book
    book.rules.append(Rule(action="429", model="o3-retry-ok", retry_after=0.2, times=2))
    book.rules.append(Rule(action="500", model="o3-retry-fail"))
    await send(
        producer,
        [
            prompt(rid_ok, "t", "o3-retry-ok", byok_mode="disabled"),
            prompt(rid_fail, "t", "o3-retry-fail", byok_mode="disabled"),
        ],
    )
    await responses.until(lambda _: bool(finals(responses, rid_ok) and finals(responses, rid_fail)))
    assert finals(responses, rid_ok)[0]["status"] == "completed"
    assert len(book.find(contains=f"<{rid_ok}>")) == 3
    failed = finals(responses, rid_fail)[0]
    assert failed["error"]["code"] == "provider_error" and failed["error"]["retriable"] is True
    assert len(book.find(contains=f"<{rid_fail}>")) == 3  # BYOK_INFERENCE_RETRY_ATTEMPTS default


async def test_a_request_published_twice_is_answered_once(
    fake_providers: RunningFakeProviders,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    usages: TopicTail,
    worker: Worker,
) -> None:
    tenant, rid = f"dup{RUN}", f"{RUN}-dup"
    await send(producer, [prompt(rid, tenant, "gpt-4.1", byok_mode="disabled")] * 2)
    await responses.until(lambda _: bool(finals(responses, rid)))
    await send(producer, [prompt(rid, tenant, "gpt-4.1", byok_mode="disabled")])  # and once more later
    await asyncio.sleep(1.5)  # time enough for a second answer, were one sent
    assert len(finals(responses, rid)) == 1
    assert len(fake_providers.server.book.find(contains=f"<{rid}>")) == 1
    assert len([u for u in usages.values() if u["request_id"] == rid]) == 1


async def test_hard_budget_alert_blocks_the_tenant(
    fake_providers: RunningFakeProviders,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    worker: Worker,
) -> None:
    from byok_inference.adapters.budgets import current_period

    tenant, rid = f"bud{RUN}", f"{RUN}-budget"
    alert = BudgetAlert(
        event_id=f"{RUN}-alert",
        tenant_id=tenant,
        period=current_period(),
        kind="hard",
        measure="platform_charge",
        threshold="1.0",
        budget="1",
        spent="1.2",
    )
    await (await producer.send("byok.billing.alerts", alert.to_bytes(), key=tenant.encode()))
    assert await worker.follower.catch_up(10)  # the worker has read the alert
    await send(producer, [prompt(rid, tenant, "gpt-4.1", byok_mode="disabled")])
    await responses.until(lambda _: bool(finals(responses, rid)))
    assert finals(responses, rid)[0]["error"]["code"] == "budget_exceeded"
    assert fake_providers.server.book.find(contains=f"<{rid}>") == []


async def test_key_event_drops_the_cached_key_within_a_second(
    fake_providers: RunningFakeProviders,
    vault_root: VaultClient,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    worker: Worker,
) -> None:
    tenant, rid = f"rot{RUN}", f"{RUN}-rot"
    path = org_key_path(tenant, "openai")
    await put_key(vault_root, path, f"old-{RUN}")
    try:
        await send(producer, [prompt(rid + "1", tenant, "gpt-4.1")])
        await responses.until(lambda _: bool(finals(responses, rid + "1")))
        await put_key(vault_root, path, f"new-{RUN}")
        event = KeyEvent(event_id=f"{RUN}-rot", type="key.rotated", tenant_id=tenant, scope="org", provider="openai")
        await (await producer.send("byok.keys.events", event.to_bytes(), key=tenant.encode()))
        await asyncio.sleep(1.0)  # the claim under test: within a second
        await send(producer, [prompt(rid + "2", tenant, "gpt-4.1")])
        await responses.until(lambda _: bool(finals(responses, rid + "2")))
        keys = [fake_providers.server.book.find(contains=f"<{rid}{n}>")[0].api_key for n in (1, 2)]
        assert keys == [f"old-{RUN}", f"new-{RUN}"]
    finally:
        await vault_root.destroy(path)
