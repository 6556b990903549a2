"""The key.invalid subscriber (FastStream): byok.keys.events, group byok-keyvault; other event types are ignored.

Every record ends recorded, ignored (another type) or dead-lettered (unreadable, or the key store still
refusing after the retries). The offset is committed after the handler (AckPolicy.NACK_ON_ERROR): when the
dead letter itself cannot be written, the message is nacked (FastStream seeks back to it) and read again,
so nothing is lost while Kafka refuses our writes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from types import SimpleNamespace

from byok_core.kafka import DeadLetters, PublishFailed, failure_reason, record_key
from byok_core.logging import log_context
from byok_core.observability import HANDLE_SECONDS, MESSAGES, record_consumer_lag
from byok_events import KeyEvent, topics
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from pydantic import ValidationError

from ..domain.key_invalid import refusal
from ..handlers import handle_key_event
from ..ports import KeyStore

log = logging.getLogger("byok.keyvault.consumer")
SERVICE = "keyvault"
ATTEMPTS = 5


def register_key_event_subscriber(
    broker: KafkaBroker, store: KeyStore, *, group_id: str, retry_delay: float = 0.5
) -> object:
    subscriber = broker.subscriber(
        topics.KEY_EVENTS,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        title="keyvault-key-invalid",
    )

    @subscriber
    async def on_key_event(msg: KafkaMessage) -> None:
        started = time.perf_counter()
        raw, body = msg.raw_message, bytes(msg.body or b"")
        try:
            event = KeyEvent.model_validate_json(body)
        except ValidationError as exc:
            await _dead_letter(broker, raw, body, _reason(exc))
            MESSAGES.labels(SERVICE, topics.KEY_EVENTS, "invalid").inc()
            return
        except Exception as exc:
            await _dead_letter(broker, raw, body, "invalid_request: " + failure_reason(exc))
            MESSAGES.labels(SERVICE, topics.KEY_EVENTS, "invalid").inc()
            return
        if event.type != "key.invalid":
            MESSAGES.labels(SERVICE, topics.KEY_EVENTS, "ignored").inc()
            return
        why = refusal(event, getattr(raw, "headers", None))
        if why is not None:  # forged or foreign: never marks a key
            log.warning("key.invalid refused: %s", why)
            await _dead_letter(broker, raw, body, f"invalid_request: key.invalid refused: {why}")
            MESSAGES.labels(SERVICE, topics.KEY_EVENTS, "refused").inc()
            return
        with log_context(event_id=event.event_id):
            for attempt in range(ATTEMPTS):
                try:
                    await handle_key_event(event, store)
                    MESSAGES.labels(SERVICE, topics.KEY_EVENTS, "ok").inc()
                    break
                except ValueError:  # ids the key store cannot place (a path segment it refuses): no retry helps
                    await _dead_letter(broker, raw, body, "invalid_request: tenant_id or user_id: not a key path")
                    MESSAGES.labels(SERVICE, topics.KEY_EVENTS, "dlq").inc()
                    break
                except Exception as exc:
                    if attempt == ATTEMPTS - 1:
                        log.error("key.invalid not recorded after %d attempts (%s)", ATTEMPTS, type(exc).__name__)
                        await _dead_letter(broker, raw, body, f"key_store_unavailable: {type(exc).__name__}")
                        MESSAGES.labels(SERVICE, topics.KEY_EVENTS, "dlq").inc()
                    else:
                        await asyncio.sleep(retry_delay * (2**attempt))
        HANDLE_SECONDS.labels(SERVICE, topics.KEY_EVENTS).observe(time.perf_counter() - started)

    return subscriber


async def report_consumer_lag(subscriber: object, every_seconds: float = 10.0) -> None:
    """Background task: byok_consumer_lag for the key.invalid subscriber's partitions."""
    while True:
        consumer = getattr(subscriber, "consumer", None)
        if consumer is not None:
            try:
                await record_consumer_lag(SERVICE, consumer)
            except Exception:
                log.debug("consumer lag not available yet")
        await asyncio.sleep(every_seconds if consumer is not None else 1.0)


def _reason(exc: ValidationError) -> str:
    """The refused fields, never their values."""
    parts = [
        f"{'.'.join(str(p) for p in e.get('loc', ())) or 'record'}: {e.get('msg', 'invalid')}"
        for e in exc.errors(include_input=False, include_url=False)[:5]
    ]
    return "invalid_request: not a byok.key.event/v1: " + "; ".join(parts)


_DEAD_LETTERS = DeadLetters()


async def _dead_letter(broker: KafkaBroker, raw: object, body: bytes, reason: str) -> None:
    record = SimpleNamespace(
        topic=topics.KEY_EVENTS,
        partition=getattr(raw, "partition", -1),
        offset=getattr(raw, "offset", -1),
        key=getattr(raw, "key", None),
        value=body,
    )
    letter = _DEAD_LETTERS.build(record, reason)  # redacted: never a key in the DLQ, even if someone sent one
    try:
        await broker.publish(
            letter.to_bytes(), topics.DLQ, key=record_key(record), headers={"content-type": "application/json"}
        )
    except Exception as exc:
        raise PublishFailed(f"dead letter not written: {type(exc).__name__}") from exc
