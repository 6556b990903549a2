"""The one dead-letter factory: a byok.dlq/v1 entry for any consumed record, whatever it holds.

Order matters: the record is read as text first (invalid UTF-8 kept as surrogate escapes), redacted, cut
to size, and only then encoded (as text, or 'base64:' when it is still not UTF-8). Redacting after
base64 would let a key inside a non-UTF-8 record through. Building a letter never raises.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from byok_events import DeadLetter

from ..logging import redact

log = logging.getLogger("byok.dlq")

MAX_PAYLOAD_CHARS = 256 * 1024
MAX_REASON_CHARS = 1000
# A letter is a Kafka record: the broker takes about 1 MB with the key. JSON writes a control character in
# 6 bytes and UTF-8 takes up to 4, so a payload cut in characters can still be too large (240 kB of U+0001
# made a 1.5 MB letter the broker refused, and a consumer that retries a refused dead letter never moved on).
MAX_LETTER_BYTES = 512 * 1024
MAX_KEY_BYTES = 1024  # a contract key (an id of at most 256 characters) fits whole


def _payload(raw: bytes, limit: int) -> tuple[str, bool]:
    text = redact(raw.decode("utf-8", "surrogateescape"))
    truncated = len(text) > limit
    text = text[:limit]
    try:
        text.encode("utf-8")  # surrogate escapes (bytes that were not UTF-8) refuse to encode
        return text, truncated
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogateescape")
        room = max(0, (limit - len("base64:")) * 3 // 4)
        return "base64:" + base64.b64encode(data[:room]).decode("ascii"), truncated or len(data) > room


def _cut(payload: str, keep: int) -> str:
    """The first `keep` characters of a payload; base64 is cut at a 4-character boundary (it still decodes)."""
    if payload.startswith("base64:"):
        body = payload.removeprefix("base64:")
        return "base64:" + body[: max(0, keep - len("base64:")) // 4 * 4]
    return payload[:keep]


def _int(value: Any) -> int:
    return value if isinstance(value, int) else -1


class DeadLetters:
    """Builds dead letters with the same safety rules in every service."""

    def __init__(
        self,
        max_payload_chars: int = MAX_PAYLOAD_CHARS,
        max_reason_chars: int = MAX_REASON_CHARS,
        max_letter_bytes: int = MAX_LETTER_BYTES,
    ) -> None:
        self.max_payload_chars = max_payload_chars
        self.max_reason_chars = max_reason_chars
        self.max_letter_bytes = max_letter_bytes

    def reason(self, reason: str) -> str:
        text = redact(reason)[: self.max_reason_chars]
        return text.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate must not stop encoding

    def build(self, record: Any, reason: str) -> DeadLetter:
        """`record` is anything with topic, partition, offset and value (an aiokafka ConsumerRecord)."""
        topic = getattr(record, "topic", None)
        partition, offset = _int(getattr(record, "partition", -1)), _int(getattr(record, "offset", -1))
        try:
            reason = self.reason(str(reason))
        except Exception:
            reason = "unreadable reason"
        try:
            raw = getattr(record, "value", None) or b""
            if not isinstance(raw, bytes | bytearray | memoryview):
                raw = str(raw).encode("utf-8", "surrogatepass")
            payload, truncated = _payload(bytes(raw), self.max_payload_chars)
        except Exception:
            log.warning("dead-letter payload unreadable", extra={"offset": offset, "partition": partition})
            payload, truncated = "", True
        letter = DeadLetter(
            source_topic=topic if isinstance(topic, str) else "",
            partition=partition,
            offset=offset,
            reason=reason,
            payload=payload,
        )
        # Only a large payload can be too large encoded: 6 bytes per character at most, plus the reason.
        while 6 * (len(letter.payload) + len(letter.reason)) + 512 > self.max_letter_bytes:
            size = len(letter.to_bytes())
            if size <= self.max_letter_bytes:
                break
            keep = min(len(letter.payload) * self.max_letter_bytes // size, len(letter.payload)) * 9 // 10
            letter.payload, truncated = _cut(letter.payload, keep), True
        if truncated:
            letter.payload_truncated = True  # type: ignore[attr-defined]  # an added field (extra allowed)
        return letter

    def encode(self, record: Any, reason: str) -> bytes:
        return self.build(record, reason).to_bytes()


def record_key(record: Any) -> bytes | None:
    """The original record key (the DLQ is keyed like the source), when it is bytes; a hostile key longer
    than any id is cut, so that key and letter together still fit a Kafka record."""
    key = getattr(record, "key", None)
    return bytes(key[:MAX_KEY_BYTES]) if isinstance(key, bytes | bytearray) else None
