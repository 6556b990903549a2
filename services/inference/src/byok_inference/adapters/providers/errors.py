"""Shared translation of HTTP failures into domain ProviderFailure (messages never carry keys)."""

from __future__ import annotations

from collections.abc import Mapping

from ...domain.calls import FailureKind, ProviderFailure


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue  # an HTTP date: let backoff decide
        return seconds / 1000 if name == "retry-after-ms" else seconds
    return None


def from_status(
    provider: str, status: int, headers: Mapping[str, str] | None = None, auth_rejected: bool = False
) -> ProviderFailure:
    if status == 401 or auth_rejected:
        kind = FailureKind.AUTH
    elif status == 403:
        kind = FailureKind.FORBIDDEN  # a valid key that may not do this: not a rejected key
    elif status == 429:
        kind = FailureKind.RATE_LIMITED
    elif status in (408, 504):
        kind = FailureKind.TIMEOUT
    elif status >= 500:
        kind = FailureKind.SERVER
    else:
        kind = FailureKind.BAD_REQUEST
    return ProviderFailure(
        kind, f"{provider} answered HTTP {status}", status=status, retry_after=retry_after_seconds(headers)
    )


def timeout(provider: str) -> ProviderFailure:
    return ProviderFailure(FailureKind.TIMEOUT, f"{provider} did not answer in time")


def unreachable(provider: str, what: str) -> ProviderFailure:
    return ProviderFailure(FailureKind.SERVER, f"{provider} unreachable: {what}")


def unsupported(exc: Exception) -> ProviderFailure:
    """A request the provider cannot do, found while translating it (no call was made)."""
    return ProviderFailure(FailureKind.UNSUPPORTED, str(exc))


# OpenRouter's answer when no upstream endpoint of the model can do a feature of the request (HTTP 404,
# "No endpoints found that support tool use", "... image input", "... the provided 'tool_choice' value").
_NO_ENDPOINT = "no endpoints found that support"
_FEATURES = (
    ("tool_choice", "tool_choice"),
    ("tool use", "tools"),
    ("image", "image input"),
    ("reasoning", "reasoning_effort"),
)


def openrouter_unsupported(status: int, message: str | None) -> ProviderFailure | None:
    """The route cannot do a feature (no tokens used): unsupported, naming the feature from a fixed list
    (OpenRouter's own text is not copied)."""
    text = (message or "").lower()
    if status != 404 or _NO_ENDPOINT not in text:
        return None
    feature = next((name for phrase, name in _FEATURES if phrase in text), "a feature of this request")
    return ProviderFailure(
        FailureKind.UNSUPPORTED, f"openrouter cannot do this: {feature} with this model (no endpoint supports it)"
    )
