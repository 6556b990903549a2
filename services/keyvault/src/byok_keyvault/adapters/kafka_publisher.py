"""EventPublisher on the FastStream Kafka broker: byok.keys.events, record key tenant_id, JSON body."""

from __future__ import annotations

from byok_events import KeyEvent, topics
from faststream.kafka import KafkaBroker


class KafkaKeyEventPublisher:
    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker
        self.connected = False

    async def publish(self, event: KeyEvent) -> None:
        if not self.connected:
            raise ConnectionError("Kafka broker not connected")
        await self._broker.publish(
            event.to_bytes(),
            topics.KEY_EVENTS,
            key=event.tenant_id.encode(),
            headers={"content-type": "application/json", "event_id": event.event_id},
        )
