"""Well-formed input (contract, "Well-formed input"): the field types every event model and the HTTP API use.

One place for the rules, so that every consumer refuses the same things with a pydantic ValidationError
naming the field (a dead letter's reason is built from it). Nothing here raises anything else, whatever
the input: an overflowing timestamp, a lone surrogate or a deeply nested document is a ValueError inside
a validator, which pydantic reports as a ValidationError.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, TypeGuard

import pydantic_core
from pydantic import (
    AfterValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

MAX_ID_CHARS = 256
MAX_MODEL_CHARS = 200
MAX_TOKENS = 100_000_000
MAX_SHORT_TEXT = 1_000
"""Free-text fields that are not message content (finish reasons, error messages, fingerprints)."""
MAX_JSON_BYTES = 1024 * 1024
"""No record or HTTP body of the contract needs more; consumers may set a lower limit."""
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def _check_id(value: str) -> str:
    if value != value.strip():
        raise ValueError("an id has no leading or trailing whitespace")
    # Fast path: printable ASCII has none of the refused categories.
    if not (value.isascii() and value.isprintable()):
        for char in value:
            if unicodedata.category(char) in _REFUSED_CATEGORIES:
                raise ValueError("an id has no control, format, surrogate, private-use or unassigned characters")
    return value


Id = Annotated[
    str,
    StringConstraints(strict=True, min_length=1, max_length=MAX_ID_CHARS),
    AfterValidator(_check_id),
]
"""request_id, tenant_id, user_id, event_id: 1-256 characters, none of them control/format/unassigned."""

_ID_ADAPTER: TypeAdapter[str] = TypeAdapter(Id)


def is_valid_id(value: object) -> TypeGuard[str]:
    """Whether `value` is an Id (for code that handles a record that failed validation as a whole)."""
    try:
        _ID_ADAPTER.validate_python(value)
    except ValidationError:
        return False
    return True


_MODEL_CHARS = re.compile(r"[A-Za-z0-9._:/\-]+")


@lru_cache(maxsize=1024)  # a few model ids recur on every event; a refused one raises (never cached)
def _check_model(value: str) -> str:
    if not _MODEL_CHARS.fullmatch(value):
        raise ValueError("a model id has only the characters A-Z a-z 0-9 . _ : / -")
    if ".." in value:
        raise ValueError("a model id has no '..'")
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise ValueError("a model id has no empty path segment")
    return value


ModelId = Annotated[
    str,
    StringConstraints(strict=True, min_length=1, max_length=MAX_MODEL_CHARS),
    AfterValidator(_check_model),
]
"""A model id, optionally provider-prefixed: 1-200 characters of A-Z a-z 0-9 . _ : / -."""

_RFC3339 = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[Tt ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?"
    r"(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
)


def _in_range(parsed: datetime) -> datetime:
    if parsed.tzinfo is UTC:  # the common case (utc_now(), "...Z"): no conversion needed
        if not EARLIEST <= parsed <= LATEST:
            raise ValueError("a timestamp lies between 2000-01-01 and 2100-01-01 UTC")
        return parsed
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("a timestamp carries a UTC offset")
    # The year check first: converting year 1 or 9999 to UTC can overflow, a year in 1999..2100 cannot.
    if not 1999 <= parsed.year <= 2100:
        raise ValueError("a timestamp lies between 2000-01-01 and 2100-01-01 UTC")
    utc = parsed.astimezone(UTC)
    if not EARLIEST <= utc <= LATEST:
        raise ValueError("a timestamp lies between 2000-01-01 and 2100-01-01 UTC")
    return utc


def parse_timestamp(value: object) -> datetime:
    """An RFC 3339 string with an offset (or an aware datetime) -> a UTC datetime; ValueError otherwise."""
    if isinstance(value, datetime):
        return _in_range(value)
    if not isinstance(value, str) or len(value) > 40 or not _RFC3339.fullmatch(value):
        raise ValueError("a timestamp is an RFC 3339 string with an offset, e.g. 2026-11-27T15:00:00Z")
    if len(value) == 20 and value[10] == "T" and value[19] == "Z":  # 2026-11-27T15:00:00Z: the usual form
        text = value  # fromisoformat takes it as it is
    else:
        text = value.upper().replace("Z", "+00:00").replace(" ", "T")
    head, dot, rest = text.partition(".")
    if dot:  # datetime takes at most microseconds
        digits = len(rest) - 6  # the offset is always 6 characters here
        text = f"{head}.{rest[: min(digits, 6)].ljust(6, '0')}{rest[digits:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise ValueError("not a valid date or time") from None
    return _in_range(parsed)


def format_timestamp(value: datetime) -> str:
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


Timestamp = Annotated[
    datetime,
    PlainValidator(parse_timestamp),
    PlainSerializer(format_timestamp, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""An RFC 3339 timestamp with an offset, 2000-01-01..2100-01-01 UTC; a UTC datetime in Python."""

TokenCount = Annotated[int, Field(strict=True, ge=0, le=MAX_TOKENS)]
"""A token count: a JSON integer (never a float, 1.0 included), 0..100,000,000."""

ShortText = Annotated[str, StringConstraints(strict=True, max_length=MAX_SHORT_TEXT)]
"""A bounded free-text field that is not message content."""


def loads_json(raw: bytes | bytearray | str, *, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """json.loads for untrusted input: ValueError (never RecursionError) for anything not acceptable JSON.

    pydantic-core's parser has a nesting limit; NaN/Infinity, invalid UTF-8 and lone surrogates are refused.
    """
    if len(raw) > max_bytes:
        raise ValueError(f"larger than {max_bytes} bytes")
    try:
        return pydantic_core.from_json(raw, allow_inf_nan=False)
    except (ValueError, RecursionError, UnicodeError) as exc:
        raise ValueError("not valid JSON") from exc


def field_errors(exc: pydantic_core.ValidationError, limit: int = 5) -> str:
    """`field: message; ...` of a ValidationError, never the refused values (they could hold a key)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False)[:limit]:
        where = ".".join(_loc_part(p) for p in error.get("loc", ())) or "record"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


_PLAIN_LOC = re.compile(r"[A-Za-z0-9_\[\]-]{1,40}")


def _loc_part(part: object) -> str:
    # A dict key in the location is input too (sealed_keys' keys, extra fields): named only when plain.
    text = str(part)
    return text if _PLAIN_LOC.fullmatch(text) else "<key>"
