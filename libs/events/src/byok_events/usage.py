"""byok.usage.events: tokens used by one provider call."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .common import Event, KeySource, Provider, Route, UtcDatetime
from .validation import MAX_TOKENS, Id, ModelId, TokenCount

MAX_TOKENS_PER_EVENT = MAX_TOKENS


class UsageEvent(Event):
    """byok.usage/v1. event_id is the billing idempotency key."""

    schema_: Literal["byok.usage/v1"] = Field("byok.usage/v1", alias="schema")
    event_id: Id
    request_id: Id | None = None
    tenant_id: Id
    user_id: Id | None = None
    provider: Provider
    model: ModelId
    route: Route = Route.DIRECT
    key_source: KeySource
    byok: bool
    input_tokens: TokenCount = Field(description="TOTAL input, cache included")
    output_tokens: TokenCount
    cache_read_tokens: TokenCount = 0
    cache_write_tokens: TokenCount = 0
    reasoning_tokens: TokenCount = Field(
        0, description="Reasoning/thinking tokens: part of output_tokens, priced as output"
    )
    metadata: dict[str, str] | None = Field(
        None, description="The request's metadata, carried along", exclude_if=lambda v: v is None
    )
    occurred_at: UtcDatetime

    @model_validator(mode="after")
    def _consistent(self) -> UsageEvent:
        if self.cache_read_tokens + self.cache_write_tokens > self.input_tokens:
            raise ValueError("cache tokens exceed input_tokens (input_tokens is the total input)")
        if self.reasoning_tokens > self.output_tokens:
            raise ValueError("reasoning_tokens exceed output_tokens (output_tokens includes reasoning)")
        if self.byok != (self.key_source != KeySource.SYSTEM):
            raise ValueError("byok must equal key_source != 'system'")
        return self
