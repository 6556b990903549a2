"""byok.keys.events: key lifecycle, never key material."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .common import Event, Provider, UtcDatetime, utc_now

KeyEventType = Literal["key.stored", "key.rotated", "key.deleted", "key.invalid"]


class KeyEvent(Event):
    schema_: Literal["byok.key.event/v1"] = Field("byok.key.event/v1", alias="schema")
    event_id: str
    type: KeyEventType
    tenant_id: str
    user_id: str | None = None
    scope: Literal["user", "org"]
    provider: Provider
    fingerprint: str | None = None
    version: int | None = None
    at: UtcDatetime = Field(default_factory=utc_now)
