"""Tests that need a worker of their own (so no other test worker consumes their requests meanwhile):
the key-source "none" column of the matrix, and an unreachable key store."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer
from byok_core.sealing_keys import SealingKeyStore
from byok_core.vault import VaultClient
from byok_testing.fake_providers import RunningFakeProviders
from inference_itest_support import (
    RUN,
    TopicWatch,
    finals,
    prompt,
    run_matrix_phase,
    send,
    start_worker,
    stop_worker,
    worker_settings,
)

pytestmark = pytest.mark.integration


async def test_matrix_without_any_key(
    stack_env: dict[str, str],
    fake_providers: RunningFakeProviders,
    vault_root: VaultClient,
    producer: AIOKafkaProducer,
    responses: TopicWatch,
    usages: TopicWatch,
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
    responses: TopicWatch,
    usages: TopicWatch,
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
        await responses.wait_for(lambda _: all(finals(responses, rid) for rid in rids), 60)
    finally:
        await stop_worker(worker, task)
    for rid in rids:
        [final] = finals(responses, rid)
        assert final["error"]["code"] == "key_store_unavailable" and final["error"]["retriable"] is True
        assert fake_providers.server.book.find(contains=f"<{rid}>") == []
    assert [u for u in usages.values() if u["tenant_id"] == f"vd{RUN}"] == []
