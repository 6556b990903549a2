"""The worker's Publisher port on the shared KafkaPublisher: one topic, record key and headers per event type."""

from __future__ import annotations

from byok_core.kafka import KafkaPublisher
from byok_events import DeadLetter, KeyEvent, PromptResponse, UsageEvent, topics
from byok_events.keys import INFERENCE_PRODUCER, PRODUCER_HEADER

STATUS_HEADER = "byok-status"
TENANT_HEADER = "byok-tenant"  # with the record key (request_id), names the request for de-duplication


class WorkerPublisher:
    def __init__(self, kafka: KafkaPublisher) -> None:
        self._kafka = kafka

    async def response(self, event: PromptResponse, *, partition: int | None = None) -> None:
        if partition is not None and partition not in await self._kafka.producer.partitions_for(
            topics.PROMPT_RESPONSES
        ):
            partition = None  # a reply partition that does not exist: by key, rather than fail the publish
        # The status header lets followers skip deltas without parsing JSON.
        await self._kafka.send(
            topics.PROMPT_RESPONSES,
            event.request_id.encode(),
            event.to_bytes(),
            [(STATUS_HEADER, event.status.encode()), (TENANT_HEADER, event.tenant_id.encode())],
            partition=partition,
        )

    async def usage(self, event: UsageEvent) -> None:
        await self._kafka.send(topics.USAGE_EVENTS, event.tenant_id.encode(), event.to_bytes())

    async def key_event(self, event: KeyEvent) -> None:
        await self._kafka.send(
            topics.KEY_EVENTS,
            event.tenant_id.encode(),
            event.to_bytes(),
            [(PRODUCER_HEADER, INFERENCE_PRODUCER.encode())],
        )

    async def dead_letter(self, event: DeadLetter, key: bytes | None) -> None:
        await self._kafka.dead_letter(event, key)
