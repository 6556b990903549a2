"""byok.dlq: a record that could not be processed, with the reason."""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import Field

from .common import Event, UtcDatetime, utc_now


class DeadLetter(Event):
    schema_: Literal["byok.dlq/v1"] = Field("byok.dlq/v1", alias="schema")
    source_topic: str
    partition: int
    offset: int
    reason: str
    payload: str = Field(description="The original record: UTF-8 text, or 'base64:' + base64 when not text")
    at: UtcDatetime = Field(default_factory=utc_now)

    @staticmethod
    def encode_payload(raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(raw).decode()
