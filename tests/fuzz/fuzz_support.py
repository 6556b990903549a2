"""What every fuzzed consumer must do with a record: a normal outcome or one dead letter, nothing else.

BYOK_FUZZ_SCALE multiplies the number of cases (default 1: at least 5,000 records per consumed topic).
"""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass
from typing import Any

from byok_core.kafka import DeadLetters
from byok_events import DeadLetter
from fuzz_strategies import KEY_PROBES
from hypothesis import HealthCheck, settings
from pydantic import BaseModel, ValidationError

SCALE = float(os.environ.get("BYOK_FUZZ_SCALE", "1"))
# What a dead letter may take as a record: the broker's default message.max.bytes (1,048,588) and the
# producer's max_request_size (1 MiB), less room for the record key (the original key) and the headers.
MAX_LETTER_BYTES = 1_000_000

# No deadline (a 1 MB record takes a while on a busy machine) and no example database on disk.
FUZZ = settings(
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def cases(n: int) -> int:
    return max(1, int(n * SCALE))


@dataclass
class Record:
    """The attributes of an aiokafka ConsumerRecord that the consumers read."""

    value: bytes | None
    key: bytes | None = b"k"
    topic: str = ""
    partition: int = 0
    offset: int = 0
    headers: tuple[tuple[str, bytes], ...] = ()


def accepted(model: type[BaseModel], raw: bytes, max_bytes: int | None = None) -> Any | None:
    """The model's verdict, the oracle: the event when the contract accepts the record, else None."""
    if max_bytes is not None and len(raw) > max_bytes:
        return None
    try:
        return model.model_validate_json(raw)
    except ValidationError:
        return None


def check_dead_letter(letter: DeadLetter, max_payload_chars: int | None = None, raw: bytes | None = None) -> None:
    """A dead letter as the contract wants it: an invalid_request reason, no key material (also inside a
    base64 payload), the payload within its limit; with the record's bytes `raw`, the payload is exactly what
    the shared factory (byok_core.kafka.DeadLetters: redacted, then cut) makes of them, so no path publishes
    a letter that bypassed it."""
    text = letter.model_dump_json()
    assert letter.reason.startswith("invalid_request: "), letter.reason[:200]
    assert not any(probe in text for probe in KEY_PROBES), "key material in a dead letter"
    if letter.payload.startswith("base64:"):
        decoded = base64.b64decode(letter.payload.removeprefix("base64:")).decode("latin-1")
        assert not any(probe in decoded for probe in KEY_PROBES), "key material in a base64 dead-letter payload"
    if max_payload_chars is not None:
        assert len(letter.payload) <= max_payload_chars
    assert len(letter.to_bytes()) <= MAX_LETTER_BYTES, "a dead letter larger than the broker takes"
    if raw is not None:
        limit = max_payload_chars or DeadLetters().max_payload_chars
        source = Record(raw, topic=letter.source_topic, partition=letter.partition, offset=letter.offset)
        made = DeadLetters(max_payload_chars=limit).build(source, letter.reason)
        assert letter.payload == made.payload, "a dead letter that did not come from the shared factory"
        truncated = bool(getattr(letter, "payload_truncated", False))
        assert truncated == bool(getattr(made, "payload_truncated", False))
        if len(raw) > 4 * limit:
            assert truncated, "a huge record's dead letter does not say it was cut"


# What every fuzz test ran, for the table conftest.py prints and writes to $BYOK_RUN_DIR/fuzz.md.
REPORT: list[dict[str, Any]] = []


def report(topic: str, seen: dict[str, Any], where: str = "in process") -> None:
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0].rsplit("::", 1)[-1]
    REPORT.append({"test": test, "topic": topic, "where": where, "seen": dict(seen), "at": time.monotonic()})
    print(f"[fuzz] {topic} ({where}): {seen}")
