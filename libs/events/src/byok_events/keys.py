"""byok.keys.events: key lifecycle, never key material."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field

from .common import Event, Provider, UtcDatetime, utc_now
from .ids import DerivedIds
from .validation import Id, ShortText

KeyEventType = Literal["key.stored", "key.rotated", "key.deleted", "key.invalid"]

# key.invalid as the inference worker writes it: this header, a `request_id` field (added), and an
# event_id derived from (tenant_id, request_id) by key_invalid_event_id. The key-vault service refuses others.
PRODUCER_HEADER = "byok-producer"
INFERENCE_PRODUCER = "inference"
_EVENT_NAMESPACE = uuid.UUID("6f3b1c52-3a8e-4f0c-9d59-2f7f4f7b9a10")
_event_ids = DerivedIds(_EVENT_NAMESPACE)


def key_invalid_event_id(tenant_id: str, request_id: str) -> str:
    """The id of the key.invalid a request causes: the same request marks a key once, whoever retries."""
    return _event_ids("key.invalid", tenant_id, request_id)


class KeyEvent(Event):
    schema_: Literal["byok.key.event/v1"] = Field("byok.key.event/v1", alias="schema")
    event_id: Id
    type: KeyEventType
    tenant_id: Id
    user_id: Id | None = None
    scope: Literal["user", "org"]
    provider: Provider
    fingerprint: ShortText | None = None
    version: Annotated[int, Field(strict=True, ge=0, le=2**53)] | None = None
    at: UtcDatetime = Field(default_factory=utc_now)
