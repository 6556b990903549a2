"""The one dead-letter factory: redact before any encoding, cut to size, never raise."""

from __future__ import annotations

import base64
import json

import pytest
from byok_billing.handlers import dead_letter as billing_dead_letter
from byok_billing.ports import InRecord
from byok_core.kafka import DeadLetters
from byok_events import DeadLetter
from fakes.kafka import Rec

KEY = "sk-ant-api03-" + "A" * 40


def test_a_key_inside_a_non_utf8_record_is_redacted_before_base64() -> None:
    raw = b"\xff\xfe garbage " + KEY.encode() + b" \x80 more"
    letter = DeadLetters().build(Rec("byok.prompt.requests", 2, 7, raw), "invalid_request: not JSON")
    assert letter.payload.startswith("base64:")
    decoded = base64.b64decode(letter.payload.removeprefix("base64:"))
    assert KEY.encode() not in decoded and b"[REDACTED]" in decoded
    assert decoded.startswith(b"\xff\xfe garbage ")  # the rest of the record is kept, byte for byte
    assert KEY not in letter.model_dump_json()


def test_text_records_stay_text_and_are_cut_to_size() -> None:
    raw = json.dumps({"apiKey": KEY, "pad": "x" * 5000}).encode()
    letter = DeadLetters(max_payload_chars=1000).build(Rec("t", 0, 1, raw), "why " + KEY)
    assert len(letter.payload) == 1000 and not letter.payload.startswith("base64:")
    assert KEY not in letter.payload and KEY not in letter.reason
    assert letter.model_extra and letter.model_extra.get("payload_truncated") is True


def test_a_large_non_utf8_record_is_cut_too() -> None:
    letter = DeadLetters(max_payload_chars=400).build(Rec("t", 0, 1, b"\xff" * 10_000), "x")
    assert letter.payload.startswith("base64:") and len(letter.payload) <= 400
    assert letter.model_extra and letter.model_extra.get("payload_truncated") is True


@pytest.mark.parametrize(
    "value",
    [None, b"", 12345, "text \udcff with a lone surrogate", bytearray(b"\x00\x01"), object()],
    ids=["none", "empty", "int", "surrogate", "bytearray", "object"],
)
def test_building_a_letter_never_raises(value: object) -> None:
    letter = DeadLetters().build(Rec("t", 0, 1, value), "reason \udcff")
    assert isinstance(letter, DeadLetter)
    letter.to_bytes()  # encodable


def test_a_record_without_coordinates_still_gets_a_letter() -> None:
    letter = DeadLetters().build(object(), "why")
    assert (letter.partition, letter.offset, letter.payload) == (-1, -1, "")


def test_billing_dead_letters_are_redacted_too() -> None:
    record = InRecord("byok.usage.events", 0, 5, b"acme", json.dumps({"event_id": KEY}).encode())
    out = billing_dead_letter(record, "invalid_request: event_id")
    assert KEY.encode() not in out.value
    assert DeadLetter.model_validate_json(out.value).offset == 5
