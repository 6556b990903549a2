"""A provider call and its outcome, independent of any SDK."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from byok_events import Provider


# Not frozen: a frozen dataclass sets each field through object.__setattr__ (three times the cost), and
# these are built on every prompt. Treat them as values all the same.
@dataclass
class TokenUsage:
    input_tokens: int  # TOTAL input, cache reads and writes included
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0  # part of output_tokens

    @property
    def used(self) -> bool:
        return self.input_tokens > 0 or self.output_tokens > 0


@dataclass
class ProviderCall:
    provider: Provider  # the API called (openrouter when routed through it)
    model: str  # the model id sent to it
    api_key: str = field(repr=False)
    messages: list[dict[str, Any]]  # the contract's Chat Completions messages, as plain dicts
    max_tokens: int
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    reasoning_effort: str | None = None
    reuse_client: bool = True  # False for request-supplied keys: their SDK client lives for this call only


@dataclass
class Completion:
    text: str
    finish_reason: str | None  # normalised: stop | length | tool_calls | content_filter | error
    usage: TokenUsage
    tool_calls: list[dict[str, Any]] | None = None  # Chat Completions shape, arguments as JSON text
    dropped_params: tuple[str, ...] = ()  # settings the provider's API does not take, not sent


class FailureKind(enum.Enum):
    AUTH = "auth"  # the key was rejected
    FORBIDDEN = "forbidden"  # 403: the key is valid but may not use this model, region or feature
    UNSUPPORTED = "unsupported"  # the request asks for something the provider cannot do (no call made)
    RATE_LIMITED = "rate_limited"
    SERVER = "server"  # 5xx or connection trouble
    TIMEOUT = "timeout"
    BAD_REQUEST = "bad_request"  # any other 4xx

    @property
    def retriable(self) -> bool:
        return self in (FailureKind.RATE_LIMITED, FailureKind.SERVER, FailureKind.TIMEOUT)


class ProviderFailure(Exception):
    """A provider call that failed; the message is ours and never carries key material."""

    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        usage: TokenUsage | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.usage = usage  # tokens already used when a stream broke mid-way
