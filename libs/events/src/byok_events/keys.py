"""byok.keys.events: key lifecycle, never key material."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .common import Event, Provider, UtcDatetime, utc_now
from .validation import Id, ShortText

KeyEventType = Literal["key.stored", "key.rotated", "key.deleted", "key.invalid"]


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
