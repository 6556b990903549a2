"""The producer client against the running services: typed answers, streams, sealing, reply partitions."""

from __future__ import annotations

import asyncio
import gc
import json
import uuid

import pytest
from aiokafka import TopicPartition
from byok_client import ByokClient, ByokClientSync, RequestFailed, ResponseTimeout
from byok_events import PromptResponse, topics
from byok_testing.topics import TopicTail

pytestmark = pytest.mark.integration


async def test_complete_returns_a_typed_response_on_the_reply_partition(services, tenant) -> None:
    bootstrap = services["BYOK_KAFKA_BOOTSTRAP"]
    async with (
        TopicTail(bootstrap, topics.PROMPT_RESPONSES) as responses,
        ByokClient(
            kafka=bootstrap, tenant_id=tenant.tenant_id, user_id=tenant.user_id, metadata={"team": "search"}
        ) as client,
    ):
        response = await client.complete("gpt-4.1", "Say hello", max_tokens=50)
        partition = client.reply_partition
        ours = [r for r in await responses.caught_up() if r.key == response.request_id.encode()]
    assert isinstance(response, PromptResponse)
    assert response.status == "completed" and response.output_text and response.key_source == "system"
    assert ours and {r.partition for r in ours} == {partition}, (
        "every response event of the request is on the reply partition"
    )


async def test_two_clients_read_only_their_own_partitions(services, tenant) -> None:
    bootstrap = services["BYOK_KAFKA_BOOTSTRAP"]
    async with (
        ByokClient(kafka=bootstrap, tenant_id=tenant.tenant_id, reply_partition=1) as a,
        ByokClient(kafka=bootstrap, tenant_id=tenant.tenant_id, reply_partition=2) as b,
    ):
        assert a._replies._consumer.assignment() == {TopicPartition(topics.PROMPT_RESPONSES, 1)}
        assert b._replies._consumer.assignment() == {TopicPartition(topics.PROMPT_RESPONSES, 2)}
        first, second = await asyncio.gather(a.complete("gpt-4.1", "one"), b.complete("gpt-4.1", "two"))
    assert first.status == second.status == "completed" and first.request_id != second.request_id


async def test_stream_yields_deltas_and_frees_them(services, tenant) -> None:
    async with ByokClient(kafka=services["BYOK_KAFKA_BOOTSTRAP"], tenant_id=tenant.tenant_id) as client:
        stream = client.stream("claude-sonnet-4-5", [{"role": "user", "content": "Tell a story"}])
        pieces = []
        async for delta in stream:
            assert delta.status == "delta"
            pieces.append(delta.output_text)
        assert stream.response is not None and stream.response.status == "completed"
        assert len(pieces) >= 2 and "".join(pieces).split() == stream.response.output_text.split()
        assert client._replies._watching == {}, "nothing is kept once the stream is done"
        del delta  # the test's own reference to the last one
        gc.collect()
        kept = [
            o
            for o in gc.get_objects()
            if isinstance(o, PromptResponse) and o.status == "delta" and o.request_id == stream.request_id
        ]
        assert kept == [], "no delta is kept by the client once handed over"


async def test_user_api_keys_are_sealed_and_spent(services, tenant, fake) -> None:
    key = "AIzaSy" + uuid.uuid4().hex[:33]
    bootstrap = services["BYOK_KAFKA_BOOTSTRAP"]
    async with (
        TopicTail(bootstrap, topics.PROMPT_REQUESTS) as requests,
        ByokClient(
            kafka=bootstrap, keyvault_url=services["BYOK_KEYVAULT_URL"], tenant_id=tenant.tenant_id, byok_mode="require"
        ) as client,
    ):
        response = await client.complete("gemini-2.5-flash", "hi", user_api_keys={"gemini": key})
        sent = [r.value for r in await requests.caught_up() if r.key == response.request_id.encode()]
    assert response.key_source == "request" and await fake.calls(api_key=key)
    assert len(sent) == 1 and key.encode() not in sent[0]
    assert json.loads(sent[0])["sealed_keys"]["gemini"].startswith("byok-seal-v2.")


async def test_a_failed_answer_raises_with_its_code(services, tenant) -> None:
    async with ByokClient(kafka=services["BYOK_KAFKA_BOOTSTRAP"], tenant_id=tenant.tenant_id) as client:
        with pytest.raises(RequestFailed) as failed:
            await client.complete("gemini-2.5-flash", "hi", byok_mode="require")
        assert failed.value.code == "byok_key_required"
        with pytest.raises(RequestFailed) as unknown:
            await client.complete("no-such-model-9", "hi")
        assert unknown.value.code == "unknown_model" and unknown.value.response.tenant_id == tenant.tenant_id


async def test_timeout_and_user_token_header(services, tenant, fake) -> None:
    bootstrap = services["BYOK_KAFKA_BOOTSTRAP"]
    await fake.add_rules({"action": "ok", "model": "gpt-4.1-mini", "latency_ms": 3000, "times": 1})
    async with (
        TopicTail(bootstrap, topics.PROMPT_REQUESTS) as requests,
        ByokClient(
            kafka=bootstrap, tenant_id=tenant.tenant_id, user_id=tenant.user_id, user_token=tenant.token
        ) as client,
    ):
        with pytest.raises(ResponseTimeout) as late:
            await client.complete("gpt-4.1-mini", "slow", timeout=0.5)
        sent = [dict(r.headers) for r in await requests.caught_up() if r.key == late.value.request_id.encode()]
    assert sent == [{"byok-user-token": tenant.token.encode()}]


async def test_the_sync_wrapper(services, tenant) -> None:
    def script() -> tuple[str, list[str]]:
        with ByokClientSync(kafka=services["BYOK_KAFKA_BOOTSTRAP"], tenant_id=tenant.tenant_id) as client:
            text = client.complete("gpt-4.1", "Say hello").output_text or ""
            deltas = [d.output_text or "" for d in client.stream("gpt-4.1", "Tell a story")]
        return text, deltas

    text, deltas = await asyncio.to_thread(script)
    assert text and len(deltas) >= 2
