"""Named regressions of what the through-the-stack fuzz found (issue 9).

A record of 240 kB of U+0001 (or of quotes, backslashes, 4-byte characters) is well under the broker's 1 MB,
but its dead letter, cut at 256 Ki characters, was 1.5 MB of JSON (`\\u0001` is 6 bytes): the broker refused
it. The key-vault service nacked the record and read it again, forever, so key.invalid stopped on that
partition; the inference worker and billing got a second, shorter letter only through the runner's fallback,
with an `unprocessable: RecordRejected` reason instead of `invalid_request`. The shared factory now cuts a
payload until the encoded letter fits, and a hostile record key longer than any id is cut.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from byok_billing.handlers import BillingDeps, handle_usage_batch
from byok_billing.ports import InRecord
from byok_core.kafka import DeadLetters, make_broker, record_key
from byok_core.settings import KafkaSettings
from byok_events import DeadLetter, topics
from byok_inference.entrypoints.prompts import PromptRecordHandler
from byok_keyvault.entrypoints.kafka import register_key_event_subscriber
from fakes.inference import make_harness
from faststream.kafka import KafkaMessage, TestKafkaBroker
from fuzz_support import MAX_LETTER_BYTES, Record, check_dead_letter

FLOODS = {
    "control characters": b"\x01" * 240_000,
    "unit separators": b"\x1f" * 240_000,
    "quotes": b'"' * 600_000,
    "backslashes": b"\\" * 600_000,
    "4-byte characters": "\U0001f600".encode() * 240_000,
    "not UTF-8": b"\xff" * 900_000,
}


@pytest.mark.parametrize("raw", FLOODS.values(), ids=FLOODS.keys())
def test_regression_a_dead_letter_of_escaped_characters_fits_the_broker(raw: bytes) -> None:
    letter = DeadLetters().build(Record(raw, topic="t"), "invalid_request: not JSON")
    assert len(letter.to_bytes()) <= 512 * 1024 <= MAX_LETTER_BYTES
    assert getattr(letter, "payload_truncated", False) is True
    assert raw.decode("utf-8", "replace").startswith(letter.payload) or letter.payload.startswith("base64:")


def test_regression_a_hostile_record_key_is_cut_in_the_dead_letter() -> None:
    assert record_key(Record(b"x", key=b"k" * 900_000)) == b"k" * 1024
    assert record_key(Record(b"x", key="\U0001f600".encode() * 256)) == "\U0001f600".encode() * 256  # an id


async def test_regression_inference_dead_letters_a_control_character_flood_as_invalid_request() -> None:
    h = make_harness()
    raw = FLOODS["control characters"]
    await PromptRecordHandler(h.deps)(Record(raw, topic=topics.PROMPT_REQUESTS))
    [(letter, _)] = h.publisher.dead_letters
    check_dead_letter(letter, 256 * 1024, raw)
    assert letter.reason.startswith("invalid_request: not JSON")


class Publisher:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def publish(self, out: list[Any]) -> None:
        self.sent.extend(out)


async def test_regression_billing_dead_letters_a_control_character_flood_that_fits() -> None:
    publisher = Publisher()
    deps = BillingDeps(None, publisher, None, Decimal("0.2"), Decimal("0.05"))  # type: ignore[arg-type]
    raw = FLOODS["control characters"]
    outcome = await handle_usage_batch([InRecord(topics.USAGE_EVENTS, 0, 3, b"t", raw)], deps)
    assert outcome.invalid == 1
    [out] = [r for r in publisher.sent if r.topic == topics.DLQ]
    assert len(out.value) <= MAX_LETTER_BYTES
    check_dead_letter(DeadLetter.model_validate_json(out.value), raw=raw)


async def test_regression_keyvault_dead_letters_a_control_character_flood_in_one_go() -> None:
    class Store:
        async def mark_invalid(self, ref: Any, version: int) -> bool:
            raise AssertionError("not a key event")

    broker = make_broker(KafkaSettings())
    register_key_event_subscriber(broker, Store(), group_id="byok-keyvault-regression", retry_delay=0)  # type: ignore[arg-type]
    letters: list[bytes] = []

    @broker.subscriber(topics.DLQ, group_id="dlq-reader")
    async def on_dlq(msg: KafkaMessage) -> None:
        letters.append(bytes(msg.body))

    raw = FLOODS["control characters"]
    async with TestKafkaBroker(broker) as patched:
        await patched.publish(raw, topics.KEY_EVENTS, key=b"t")
        await asyncio.sleep(0)
    [letter] = letters
    assert len(letter) <= MAX_LETTER_BYTES  # the real broker refused the 1.5 MB letter: nack, re-read, forever
    check_dead_letter(DeadLetter.model_validate_json(letter), raw=raw)
