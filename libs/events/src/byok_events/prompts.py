"""byok.prompt.requests and byok.prompt.responses."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from .common import ByokMode, ErrorCode, Event, KeySource, Provider, Route, UtcDatetime, utc_now
from .validation import Id, ModelId, ShortText, TokenCount

MAX_MESSAGES = 1_000
MAX_CONTENT_CHARS = 1_000_000


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant"] = Field(description="Who speaks")
    content: str = Field(max_length=MAX_CONTENT_CHARS, description="Plain text content")


class PromptRequest(Event):
    """A prompt to run (byok.prompt.request/v1). request_id is the idempotency key."""

    schema_: Literal["byok.prompt.request/v1"] = Field(
        "byok.prompt.request/v1", alias="schema", description="Schema name and version"
    )
    request_id: Id = Field(description="Idempotency key; also the record key")
    tenant_id: Id = Field(description="The tenant (org) the request runs for")
    user_id: Id | None = Field(None, description="The end user, when known")
    model: ModelId = Field(description="Model id, optionally provider-prefixed")
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    max_tokens: TokenCount | None = Field(None, ge=1, le=1_000_000)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    stop: list[str] | str | None = None
    byok_mode: ByokMode = Field(ByokMode.PREFER, description="disabled | prefer | require")
    sealed_keys: dict[Provider, str] | None = Field(
        None, description="Request-supplied keys sealed to the inference worker, by provider"
    )
    stream: bool = Field(False, description="Also emit delta events")
    reply_partition: StrictInt | None = Field(
        None,
        ge=0,
        le=100_000,
        description="Partition of byok.prompt.responses every response event of this request is written to "
        "(the producer's reply partition); absent: the partition of the request_id key",
    )
    created_at: UtcDatetime | None = None


class Usage(BaseModel):
    input_tokens: TokenCount = 0
    output_tokens: TokenCount = 0
    cache_read_tokens: TokenCount = 0
    cache_write_tokens: TokenCount = 0


class ResponseError(BaseModel):
    code: ErrorCode
    message: ShortText
    retriable: bool = False


class PromptResponse(Event):
    """The outcome of a prompt, or one stream delta (byok.prompt.response/v1)."""

    schema_: Literal["byok.prompt.response/v1"] = Field("byok.prompt.response/v1", alias="schema")
    request_id: Id
    tenant_id: Id | Literal[""] = Field(
        description='The tenant; "" only in the failed answer to a request whose tenant_id could not be read'
    )
    status: Literal["completed", "failed", "delta"]
    provider: Provider | None = None
    model: ModelId | None = None
    route: Route | None = None
    key_source: KeySource | None = None
    output_text: str | None = None
    finish_reason: ShortText | None = None
    usage: Usage | None = None
    error: ResponseError | None = None
    completed_at: UtcDatetime = Field(default_factory=utc_now)
