"""What the client raises. Messages never hold key material or tokens."""

from __future__ import annotations

from byok_events import PromptResponse


class ByokError(Exception):
    """Base of everything the client raises on purpose."""


class RequestFailed(ByokError):
    """The gateway answered `failed`; `code` is the contract's error code."""

    def __init__(self, response: PromptResponse) -> None:
        error = response.error
        self.response = response
        self.code = str(error.code) if error else "unknown"
        self.retriable = bool(error and error.retriable)
        super().__init__(f"{self.code}: {error.message if error else 'no error detail'}")


class ResponseTimeout(ByokError, TimeoutError):
    """No final answer within the timeout (the request may still run: its request_id is kept)."""

    def __init__(self, request_id: str, seconds: float) -> None:
        self.request_id = request_id
        super().__init__(f"no answer to request {request_id} within {seconds:g} s")


class SealingKeyUnavailable(ByokError):
    """Request keys were given but the public sealing key could not be fetched."""
