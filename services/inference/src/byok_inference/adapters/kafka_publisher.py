"""Publisher over one shared AIOKafkaProducer (idempotent, acks=all). Each publish waits for the ack."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from byok_events import DeadLetter, KeyEvent, PromptResponse, UsageEvent, topics
from byok_events.keys import INFERENCE_PRODUCER, PRODUCER_HEADER

STATUS_HEADER = "byok-status"
TENANT_HEADER = "byok-tenant"  # with the record key (request_id), names the request for de-duplication


class KafkaPublisher:
    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def _send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> None:
        future = await self._producer.send(topic, value=value, key=key, headers=headers, partition=partition)
        await future

    async def response(self, event: PromptResponse, *, partition: int | None = None) -> None:
        if partition is not None and partition not in await self._producer.partitions_for(topics.PROMPT_RESPONSES):
            partition = None  # a reply partition that does not exist: by key, rather than fail the publish
        # The status header lets followers skip deltas without parsing JSON.
        await self._send(
            topics.PROMPT_RESPONSES,
            event.request_id.encode(),
            event.to_bytes(),
            [(STATUS_HEADER, event.status.encode()), (TENANT_HEADER, event.tenant_id.encode())],
            partition,
        )

    async def usage(self, event: UsageEvent) -> None:
        await self._send(topics.USAGE_EVENTS, event.tenant_id.encode(), event.to_bytes())

    async def key_event(self, event: KeyEvent) -> None:
        await self._send(
            topics.KEY_EVENTS,
            event.tenant_id.encode(),
            event.to_bytes(),
            [(PRODUCER_HEADER, INFERENCE_PRODUCER.encode())],
        )

    async def dead_letter(self, event: DeadLetter, key: bytes | None) -> None:
        await self._send(topics.DLQ, key, event.to_bytes())
