"""Shared field types: money as decimal strings, UTC timestamps, enumerations of the contract."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator

from .validation import Timestamp

MAX_MONEY_CHARS = 64
MAX_MONEY_EXPONENT = 40


def utc_now() -> datetime:
    return datetime.now(UTC)


def _parse_money(value: object) -> Decimal:
    if isinstance(value, float):
        raise ValueError("money must be a decimal string, never a float")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        if len(str(value)) > MAX_MONEY_CHARS:
            raise ValueError("money has at most 64 characters")
        try:
            parsed = Decimal(str(value))
        except ArithmeticError as exc:
            raise ValueError("not a decimal number") from exc
        if not parsed.is_finite():
            raise ValueError("money must be finite")
        exponent = parsed.as_tuple().exponent
        if not isinstance(exponent, int) or not -MAX_MONEY_EXPONENT <= exponent <= MAX_MONEY_EXPONENT:
            raise ValueError("money has at most 40 digits either side of the point")
        return parsed
    raise ValueError("money must be a decimal string")


Money = Annotated[Decimal, PlainValidator(_parse_money), PlainSerializer(lambda d: format(d, "f"), return_type=str)]
"""A USD amount: a decimal string on the wire, a Decimal in Python."""

UtcDatetime = Timestamp
"""An RFC 3339 timestamp, UTC in Python (byok_events.validation.Timestamp)."""


class Provider(StrEnum):
    ANTHROPIC = "anthropic"
    OPENAI = "openai"
    GEMINI = "gemini"
    OPENROUTER = "openrouter"


class Route(StrEnum):
    DIRECT = "direct"
    OPENROUTER = "openrouter"


class KeySource(StrEnum):
    REQUEST = "request"
    USER = "user"
    ORG = "org"
    SYSTEM = "system"


class ByokMode(StrEnum):
    DISABLED = "disabled"
    PREFER = "prefer"
    REQUIRE = "require"


class ErrorCode(StrEnum):
    UNKNOWN_MODEL = "unknown_model"
    BYOK_KEY_REQUIRED = "byok_key_required"
    NO_KEY_AVAILABLE = "no_key_available"
    INVALID_USER_KEY = "invalid_user_key"
    SEALED_KEY_INVALID = "sealed_key_invalid"
    KEY_STORE_UNAVAILABLE = "key_store_unavailable"
    PROVIDER_RATE_LIMITED = "provider_rate_limited"
    PROVIDER_ERROR = "provider_error"
    PROVIDER_TIMEOUT = "provider_timeout"
    INVALID_REQUEST = "invalid_request"
    BUDGET_EXCEEDED = "budget_exceeded"
    KEY_FORBIDDEN = "key_forbidden"
    UNAUTHORIZED = "unauthorized"
    MODEL_NOT_PRICED = "model_not_priced"


class Event(BaseModel):
    """Base of every contract event: unknown fields are kept (the contract lets producers add fields)."""

    model_config = ConfigDict(extra="allow", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()
