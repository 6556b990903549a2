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
