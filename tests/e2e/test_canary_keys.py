"""Canary keys planted through the API and through a sealed request are found nowhere but at the provider.

Searched: every log of the services and of the stack, every record (key, value, headers) written to every
contract topic while the test ran, and every row of every table of the ledger. The fake provider
receiving the canary is the positive control: the search would see a leak.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from byok_client import fetch_sealing_key
from byok_core.sealing import seal
from byok_events import topics
from sqlalchemy import MetaData, create_engine, select

pytestmark = pytest.mark.integration


async def _all_partitions_consumer(bootstrap: str) -> AIOKafkaConsumer:
    """A consumer without a group, subscribed to every contract topic: it is assigned every partition."""
    consumer = AIOKafkaConsumer(*topics.ALL_TOPICS, bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    while len(consumer.assignment()) < len(topics.ALL_TOPICS):
        await asyncio.sleep(0.05)
    return consumer


async def _stop(consumer: AIOKafkaConsumer) -> None:
    with contextlib.suppress(asyncio.CancelledError):  # aiokafka 0.14 may cancel its own reset task on stop
        await consumer.stop()


async def _end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    consumer = await _all_partitions_consumer(bootstrap)
    try:
        return await consumer.end_offsets(list(consumer.assignment()))
    finally:
        await _stop(consumer)


async def _records_since(bootstrap: str, start: dict[TopicPartition, int]) -> list[tuple[str, bool, bytes]]:
    """(topic, is a header, bytes) of the key, value and headers of every record written to the contract
    topics after `start`."""
    consumer = await _all_partitions_consumer(bootstrap)
    blobs: list[tuple[str, bool, bytes]] = []
    try:
        ends = await consumer.end_offsets(list(consumer.assignment()))
        remaining = {tp for tp, end in ends.items() if end > start.get(tp, 0)}
        for tp in consumer.assignment():
            consumer.seek(tp, start.get(tp, 0))
        deadline = asyncio.get_running_loop().time() + 60
        while remaining:
            assert asyncio.get_running_loop().time() < deadline, f"could not read to the end of {remaining}"
            for tp, records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).items():
                for record in records:
                    if record.offset < ends[tp]:
                        blobs.extend(((tp.topic, False, record.value or b""), (tp.topic, False, record.key or b"")))
                        blobs.extend((tp.topic, True, value) for _, value in record.headers or ())
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await _stop(consumer)
    return blobs


def _table_texts(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return [repr(tuple(row)) for table in metadata.sorted_tables for row in connection.execute(select(table))]
    finally:
        engine.dispose()


async def test_canaries_appear_nowhere_but_at_the_provider(services, tenant, client, fake) -> None:
    offsets_before = await _end_offsets(services["BYOK_KAFKA_BOOTSTRAP"])
    canary = uuid.uuid4().hex
    stored_canary = f"sk-proj-CANARY{canary}stored00000000"
    sealed_canary = f"AIzaSyCANARY{canary[:23]}"
    rejected_canary = f"sk-ant-api03-CANARY{canary}rejected"
    await tenant.store_key("openai", stored_canary)
    await tenant.store_key("anthropic", rejected_canary)
    await fake.add_rules({"action": "401", "api_key": rejected_canary})

    # the user's token rides along (header byok-user-token): it must leak nowhere either
    ok_stored = await client.submit(tenant.prompt("gpt-4.1"), user_token=tenant.token)
    ok_sealed = await client.submit(tenant.prompt("gemini-2.5-flash"), user_api_keys={"gemini": sealed_canary})
    rejected = await client.submit(tenant.prompt("claude-sonnet-4-5"), user_token=tenant.token)
    sealing_key = await fetch_sealing_key(services["BYOK_KEYVAULT_URL"])
    sealed_for_another_request = seal(
        sealed_canary, public_key=sealing_key, tenant_id=tenant.tenant_id, request_id=str(uuid.uuid4())
    )
    replayed_to_other_request = await client.submit(
        {**tenant.prompt("gemini-2.5-flash"), "sealed_keys": {"gemini": sealed_for_another_request}}
    )
    answers = [await asyncio.wait_for(w, 60) for w in (ok_stored, ok_sealed, rejected, replayed_to_other_request)]
    assert [a.status for a in answers] == ["completed", "completed", "failed", "failed"], [
        a.model_dump() for a in answers
    ]
    assert answers[0].key_source == "user" and answers[1].key_source == "request", [a.model_dump() for a in answers]
    assert answers[2].error.code == "invalid_user_key"
    assert answers[3].error.code == "sealed_key_invalid"

    # Positive control: the provider did receive each canary, so a leak would be visible to this search.
    for key in (stored_canary, sealed_canary, rejected_canary):
        assert await fake.calls(api_key=key), f"the canary {key[:12]} never reached the provider"

    await asyncio.sleep(2)  # let billing write and logs flush
    needles = (canary, canary[:23])
    run_dirs = {Path(services["E2E_RUN_DIR"]), Path(services["BYOK_RUN_DIR"])}
    logs = [p for d in run_dirs for p in d.glob("*.log") if p.name != "fake-providers.log"]
    assert any(p.name == "inference.log" for p in logs) and any(p.name == "keyvault.log" for p in logs)
    for path in logs:
        text = path.read_text(errors="replace")
        assert not any(n in text for n in needles), f"canary key in {path}"

    token_needle = tenant.token.rsplit(".", 1)[1]  # the signature: the part only the token's holder has
    for path in logs:
        assert token_needle not in path.read_text(errors="replace"), f"user token in {path}"

    records = await _records_since(services["BYOK_KAFKA_BOOTSTRAP"], offsets_before)
    blobs = [blob for _, _, blob in records]
    assert any(tenant.tenant_id.encode() in blob for blob in blobs), "the tenant's own records were not read"
    assert not any(n.encode() in blob for blob in blobs for n in needles), "canary key in a Kafka record"
    carried = [blob for topic, header, blob in records if topic == topics.PROMPT_REQUESTS and header]
    assert any(token_needle.encode() in blob for blob in carried), "positive control: the request carried it"
    elsewhere = [blob for topic, header, blob in records if not (topic == topics.PROMPT_REQUESTS and header)]
    assert not any(token_needle.encode() in blob for blob in elsewhere), "user token in a Kafka record"

    rows = _table_texts(services["BYOK_DATABASE_URL"])
    assert any(tenant.tenant_id in row for row in rows), "the tenant's ledger rows were not read"
    assert not any(n in row for row in rows for n in needles), "canary key in a ledger row"
    assert not any(token_needle in row for row in rows), "user token in a ledger row"
