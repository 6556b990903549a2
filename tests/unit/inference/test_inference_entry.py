"""The record edge (DLQ for garbage), the key cache and the budget blocks."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import pytest
from byok_events import BudgetAlert, ErrorCode, Provider
from byok_inference.adapters.budgets import BudgetBlocks
from byok_inference.adapters.key_cache import CachedKeyStore
from byok_inference.entrypoints.prompts import Limits, PromptRecordHandler
from byok_inference.ports import KeyStoreUnavailable
from fakes.inference import FakeKeyStore, make_harness


@dataclass
class Record:
    value: bytes | None
    key: bytes | None = b"k"
    topic: str = "byok.prompt.requests"
    partition: int = 3
    offset: int = 42


def valid(rid: str = "r1", **extra: object) -> dict[str, object]:
    return {
        "schema": "byok.prompt.request/v1",
        "request_id": rid,
        "tenant_id": "t1",
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "hi"}],
        **extra,
    }


async def test_not_json_goes_to_dlq_only() -> None:
    h = make_harness()
    await PromptRecordHandler(h.deps)(Record(b"\xff\xfe not json sk-ant-abcdefghijklmnopqrstuvwxyz"))
    [(letter, key)] = h.publisher.dead_letters
    assert letter.reason.startswith("invalid_request: not JSON") and (letter.partition, letter.offset) == (
        3,
        42,
    )
    assert key == b"k" and h.publisher.responses == []


async def test_wrong_schema_gets_dlq_and_failed_response_without_key_material() -> None:
    h = make_harness()
    body = valid(messages=[], sealed_keys={"anthropic": "sk-ant-api03-plaintextsecretkey1234567890"})
    await PromptRecordHandler(h.deps)(Record(json.dumps(body).encode()))
    [(letter, _)] = h.publisher.dead_letters
    assert "messages" in letter.reason
    assert "plaintextsecret" not in letter.model_dump_json()
    [failed] = h.publisher.responses
    assert failed.request_id == "r1" and failed.error is not None
    assert failed.error.code is ErrorCode.INVALID_REQUEST and h.providers.calls == []


async def test_huge_record_is_rejected() -> None:
    h = make_harness()
    body = valid(messages=[{"role": "user", "content": "x" * 5000}])
    await PromptRecordHandler(h.deps, Limits(max_request_bytes=2048, max_dlq_payload_chars=1000))(
        Record(json.dumps(body).encode())
    )
    [(letter, _)] = h.publisher.dead_letters
    assert "larger than 2048" in letter.reason and len(letter.payload) == 1000
    assert letter.model_extra and letter.model_extra.get("payload_truncated") is True
    assert h.publisher.responses[0].error.code is ErrorCode.INVALID_REQUEST  # type: ignore[union-attr]


async def test_valid_record_reaches_the_handler() -> None:
    h = make_harness()
    h.keys.put("system", "*", None, "openai", "sys-key")
    await PromptRecordHandler(h.deps)(Record(json.dumps(valid()).encode()))
    assert h.publisher.dead_letters == [] and h.publisher.responses[0].status == "completed"


async def test_key_cache_serves_from_memory_and_evicts_on_key_event() -> None:
    inner = FakeKeyStore()
    inner.put("user", "t1", "u1", "openai", "v1")
    cache = CachedKeyStore(inner, ttl=60)
    got = await asyncio.gather(*(cache.get("user", "t1", "u1", Provider.OPENAI) for _ in range(10)))
    assert {k.api_key for k in got if k} == {"v1"} and inner.reads == 1
    assert await cache.get("org", "t1", None, Provider.OPENAI) is None
    assert await cache.get("org", "t1", None, Provider.OPENAI) is None
    assert inner.reads == 2
    inner.put("user", "t1", "u1", "openai", "v2")
    assert (await cache.get("user", "t1", "u1", Provider.OPENAI)).api_key == "v1"  # type: ignore[union-attr]
    cache.evict("t1", "u1", "user", "openai")
    assert (await cache.get("user", "t1", "u1", Provider.OPENAI)).api_key == "v2"  # type: ignore[union-attr]


async def test_key_cache_expires() -> None:
    inner = FakeKeyStore()
    cache = CachedKeyStore(inner, ttl=0.05)
    assert await cache.get("org", "t1", None, Provider.GEMINI) is None
    inner.put("org", "t1", None, "gemini", "new")
    await asyncio.sleep(0.06)
    assert (await cache.get("org", "t1", None, Provider.GEMINI)).api_key == "new"  # type: ignore[union-attr]


async def test_key_cache_uses_a_last_known_key_while_the_store_is_down_but_never_an_evicted_one() -> None:
    inner = FakeKeyStore()
    inner.put("system", "*", None, "openai", "sys-1")
    inner.put("user", "t1", "u1", "openai", "user-1")
    cache = CachedKeyStore(inner, ttl=0.01, stale_if_unavailable=0.5)
    for scope, tenant, user in (("system", "*", None), ("user", "t1", "u1")):
        assert await cache.get(scope, tenant, user, Provider.OPENAI) is not None  # type: ignore[arg-type]
    await asyncio.sleep(0.02)
    inner.down = True
    got = await asyncio.gather(*(cache.get("system", "*", None, Provider.OPENAI) for _ in range(5)))
    assert {k.api_key for k in got if k} == {"sys-1"} and cache.stale_answers == 5
    cache.evict("t1", "u1", "user", "openai")  # a key event: the key changed, its old value is never used
    with pytest.raises(KeyStoreUnavailable):
        await cache.get("user", "t1", "u1", Provider.OPENAI)
    with pytest.raises(KeyStoreUnavailable):  # never read: nothing to fall back on
        await cache.get("org", "t1", None, Provider.OPENAI)
    await asyncio.sleep(0.5)
    with pytest.raises(KeyStoreUnavailable):  # past the stale bound
        await cache.get("system", "*", None, Provider.OPENAI)
    inner.down = False
    assert (await cache.get("system", "*", None, Provider.OPENAI)).api_key == "sys-1"  # type: ignore[union-attr]


def test_hard_budget_blocks_for_its_period_only() -> None:
    period = ["2026-11"]
    blocks = BudgetBlocks(lambda: period[0])

    def alert(kind: str, threshold: str, measure: str = "platform_charge") -> BudgetAlert:
        return BudgetAlert(
            event_id="e",
            tenant_id="t1",
            period="2026-11",
            kind=kind,
            measure=measure,
            threshold=threshold,
            budget="10",
            spent="10",
        )

    blocks.apply(alert("soft", "0.8"))
    blocks.apply(alert("hard", "1.0", "provider_cost"))
    assert not blocks.blocked("t1")
    blocks.apply(alert("hard", "1.0"))
    assert blocks.blocked("t1") and not blocks.blocked("t2")
    period[0] = "2026-12"
    assert not blocks.blocked("t1")
