"""Canary keys planted through the API and through a sealed request are found nowhere but at the provider.

Searched: every log of the services and of the stack, every record (key, value, headers) written to every
contract topic while the test ran, and every row of every table of the ledger. The fake provider
receiving the canary is the positive control: the search would see a leak.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from byok_client import fetch_sealing_key
from byok_events import topics
from byok_sealing import seal
from byok_testing.topics import TopicTail
from byok_testing.waiting import wait_until
from sqlalchemy import MetaData, create_engine, select

pytestmark = pytest.mark.integration


def _blobs(records: list[Any]) -> list[tuple[str, bool, bytes]]:
    """(topic, is a header, bytes) of the key, value and headers of each record."""
    blobs: list[tuple[str, bool, bytes]] = []
    for record in records:
        blobs.extend(((record.topic, False, record.value or b""), (record.topic, False, record.key or b"")))
        blobs.extend((record.topic, True, value) for _, value in record.headers or ())
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
    async with TopicTail(services["BYOK_KAFKA_BOOTSTRAP"], *topics.ALL_TOPICS) as everything:
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
        at = datetime.now(UTC)  # only the request id differs from what was sealed
        sealed_for_another_request = seal(
            sealed_canary,
            public_key=sealing_key,
            tenant_id=tenant.tenant_id,
            request_id=str(uuid.uuid4()),
            provider="gemini",
            created_at=at,
        )
        replayed_to_other_request = await client.submit(
            {
                **tenant.prompt("gemini-2.5-flash"),
                "sealed_keys": {"gemini": sealed_for_another_request},
                "created_at": at.isoformat(),
            }
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

        # the last writes the prompts cause: billing's two charges, and the key-vault service marking the
        # rejected key invalid (it hears of it from the worker)
        await everything.wait_for(
            lambda v: v.get("tenant_id") == tenant.tenant_id, count=2, topic=topics.BILLING_CHARGES, timeout=30
        )

        async def rejected_listed_invalid() -> bool:
            return any(k["keyType"] == "anthropic" and k["status"] == "invalid" for k in await tenant.list_keys())

        await wait_until(rejected_listed_invalid, 30, "the rejected key is not listed as invalid", interval=0.3)
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

        records = _blobs(await everything.caught_up())
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
