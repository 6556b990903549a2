"""PromptClient: publishes byok.prompt.request/v1 (sealing any plaintext keys first) and awaits responses."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from byok_core.kafka import aiokafka_options
from byok_core.settings import KafkaSettings
from byok_events import PromptRequest, PromptResponse, topics
from byok_sealing import PublicSealingKey, canonical_time, seal


async def fetch_sealing_key(keyvault_url: str) -> PublicSealingKey:
    """The current public sealing key, from the key-vault service's GET /api/sealing-key."""
    async with aiohttp.ClientSession() as session, session.get(f"{keyvault_url}/api/sealing-key") as answer:
        answer.raise_for_status()
        return PublicSealingKey.from_json(await answer.json())


class PromptClient:
    """One producer for prompts and one consumer of byok.prompt.responses (its own consumer group)."""

    def __init__(self, kafka: KafkaSettings, sealing_key: PublicSealingKey | None = None) -> None:
        self._kafka = kafka
        self._sealing_key = sealing_key
        self._producer = AIOKafkaProducer(**aiokafka_options(kafka), enable_idempotence=True, acks="all")
        self._consumer = AIOKafkaConsumer(
            topics.PROMPT_RESPONSES,
            **aiokafka_options(kafka),
            group_id=f"byok-client-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="latest",
            enable_auto_commit=False,
        )
        self._waiters: dict[str, asyncio.Future[PromptResponse]] = {}
        self._deltas: dict[str, list[str]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> PromptClient:
        await self._producer.start()
        await self._consumer.start()
        await self._wait_for_assignment()
        self._reader = asyncio.create_task(self._read_responses())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self._consumer.stop()
        await self._producer.stop()

    async def _wait_for_assignment(self) -> None:
        for _ in range(200):
            if self._consumer.assignment():
                await self._consumer.seek_to_end()
                for tp in self._consumer.assignment():
                    await self._consumer.position(tp)
                return
            await self._consumer.getmany(timeout_ms=100)
        raise TimeoutError("no partition of byok.prompt.responses was assigned")

    async def submit(
        self, request: Mapping[str, Any], *, request_keys: Mapping[str, str] | None = None
    ) -> asyncio.Future[PromptResponse]:
        """Publish a prompt; plaintext request_keys (provider -> key) are sealed before they leave."""
        body = dict(request)
        body.setdefault("schema", "byok.prompt.request/v1")
        body.setdefault("request_id", str(uuid.uuid4()))
        if request_keys:
            if self._sealing_key is None:
                raise ValueError("request keys need the public sealing key (fetch_sealing_key)")
            # the seal binds created_at: the event carries exactly the instant that was sealed
            created_at = datetime.now(UTC)
            body["created_at"] = canonical_time(created_at)
            body["sealed_keys"] = {
                provider: seal(
                    key,
                    public_key=self._sealing_key,
                    tenant_id=body["tenant_id"],
                    request_id=body["request_id"],
                    provider=provider,
                    created_at=created_at,
                )
                for provider, key in request_keys.items()
            }
        prompt = PromptRequest.model_validate(body)
        waiter: asyncio.Future[PromptResponse] = asyncio.get_running_loop().create_future()
        self._waiters[prompt.request_id] = waiter
        await self._producer.send_and_wait(
            topics.PROMPT_REQUESTS, key=prompt.request_id.encode(), value=prompt.to_bytes()
        )
        return waiter

    def streamed_text(self, request_id: str) -> str:
        return "".join(self._deltas.get(request_id, []))

    async def _read_responses(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    try:
                        response = PromptResponse.model_validate(json.loads(record.value))
                    except ValueError:
                        continue
                    if response.status == "delta":
                        self._deltas.setdefault(response.request_id, []).append(response.output_text or "")
                        continue
                    waiter = self._waiters.pop(response.request_id, None)
                    if waiter is not None and not waiter.done():  # a duplicate answer is dropped by request_id
                        waiter.set_result(response)
