"""Tests that need a worker of their own (so no other test worker consumes their requests meanwhile):
the key-source "none" column of the matrix, and an unreachable key store."""

from __future__ import annotations

import json

import pytest
from aiokafka import AIOKafkaProducer
from byok_core.sealing_keys import SealingKeyStore
from byok_core.vault import VaultClient
from byok_testing.fake_providers import RunningFakeProviders
from byok_testing.topics import TopicTail
from support.inference import (
    RUN,
    answered,
    finals,
    prompt,
    run_matrix_phase,
    send,
    start_worker,
    stop_worker,
    this_run,
    worker_settings,
)

pytestmark = pytest.mark.integration


async def test_matrix_without_any_key(
    stack_env: dict[str, str],
    fake_providers: RunningFakeProviders,
    vault_root: VaultClient,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    usages: TopicTail,
) -> None:
    sealing = SealingKeyStore(vault_root)
    await sealing.ensure_current()
    n = await run_matrix_phase(
        stack_env, fake_providers, vault_root, sealing, producer, responses, usages, ["none"], None, None
    )
    assert n == 12


async def test_key_store_unreachable_fails_without_fallback(
    stack_env: dict[str, str],
    fake_providers: RunningFakeProviders,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    usages: TopicTail,
) -> None:
    """Vault unreachable (the worker is pointed at a closed port): key_store_unavailable after retries,
    although the worker holds an env system key it could have used."""
    settings = worker_settings(
        stack_env, fake_providers, f"itest-{RUN}-vaultdown", {"openai": f"env-{RUN}"}, key_store_attempts=2
    )
    settings.vault.addr = "http://127.0.0.1:9"
    settings.vault.timeout_seconds = 0.5
    worker, task = await start_worker(settings)
    try:
        rids = [f"{RUN}-vaultdown-{mode}" for mode in ("disabled", "prefer")]
        await send(producer, [prompt(rid, f"vd{RUN}", "gpt-4.1", byok_mode=rid.rsplit("-", 1)[1]) for rid in rids])
        await responses.until(lambda _: answered(responses, rids), timeout=60)
    finally:
        await stop_worker(worker, task)
    for rid in rids:
        [final] = finals(responses, rid)
        assert final["error"]["code"] == "key_store_unavailable" and final["error"]["retriable"] is True
        assert fake_providers.server.book.find(contains=f"<{rid}>") == []
    assert [u for u in usages.values() if u["tenant_id"] == f"vd{RUN}"] == []


async def test_poison_records_are_dead_lettered_and_the_partition_goes_on(
    stack_env: dict[str, str],
    fake_providers: RunningFakeProviders,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    kafka_bootstrap: str,
) -> None:
    """Issue 9: one schema-valid prompt the handler failed on (an SDK's ValueError) stopped the worker for
    good, and so did deep nesting (RecursionError) and a timestamp overflowing UTC (OverflowError). Each now
    ends as a dead letter (and a failed response when it has a request id), and the valid prompt behind
    them on the same partition is answered."""
    settings = worker_settings(stack_env, fake_providers, f"itest-{RUN}-poison", {"openai": f"env-{RUN}"})
    worker, task = await start_worker(settings)
    refused = f"{RUN}-poison-sdk"
    original = worker.gateway.complete

    async def complete(call, on_delta=None):  # type: ignore[no-untyped-def]
        if any(refused in str(m.get("content")) for m in call.messages):
            raise ValueError("invalid model name")  # what google-genai raises for '?', '&', '..' in a model
        return await original(call, on_delta)

    worker.gateway.complete = complete  # type: ignore[method-assign]
    dlq = await TopicTail(kafka_bootstrap, "byok.dlq", key=this_run).start()
    tenant = f"poison{RUN}"
    deep = f"{RUN}-poison-deep"
    overflow = f"{RUN}-poison-overflow"
    good = f"{RUN}-poison-good"
    bodies = [
        (deep, b'{"request_id": "' + deep.encode() + b'", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        (overflow, json.dumps(prompt(overflow, tenant, "gpt-4.1", created_at="0001-01-01T00:00:00+05:00")).encode()),
        (refused, json.dumps(prompt(refused, tenant, "gpt-4.1")).encode()),
        (good, json.dumps(prompt(good, tenant, "gpt-4.1")).encode()),
    ]
    try:
        for rid, body in bodies:  # one partition, in this order
            await (await producer.send("byok.prompt.requests", body, key=rid.encode(), partition=0))
        await responses.until(lambda _: bool(finals(responses, good)), timeout=60)
        await dlq.until(lambda values: len(values) >= 3, timeout=30)
    finally:
        await stop_worker(worker, task)
        await dlq.stop()
    [answer] = finals(responses, good)
    assert answer["status"] == "completed"
    for rid in (overflow, refused):
        [failed] = finals(responses, rid)
        assert failed["status"] == "failed" and failed["error"]["code"] == "invalid_request"
    letters = {r.key.decode(): json.loads(r.value) for r in dlq.records}
    assert set(letters) == {deep, overflow, refused}
    assert letters[refused]["reason"].startswith("invalid_request: unprocessable: ValueError")
    assert all(letter["partition"] == 0 for letter in letters.values())
