"""What every provider translation shares: the unsupported-feature error, data URLs, tool-call assembly."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from ..calls import Completion, TokenUsage


class Unsupported(Exception):
    """The chosen provider or model cannot do a feature of the request (answered as invalid_request)."""

    def __init__(self, provider: str, feature: str) -> None:
        super().__init__(f"{provider} cannot do this: {feature}")
        self.feature = feature


def is_text_only(message: dict[str, Any]) -> bool:
    return isinstance(message.get("content"), str) and len(message) == 2


def parse_data_url(url: str, provider: str) -> tuple[str, str]:
    """(media type, base64 data) of a data:image/...;base64, URL; Unsupported when it is malformed."""
    head, sep, data = url.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        raise Unsupported(provider, "image_url: only data:image/...;base64 URLs or https URLs")
    return head[5:-7], data


def decode_base64(data: str, provider: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise Unsupported(provider, "image_url: the data URL is not valid base64") from None


def parse_arguments(arguments: str, provider: str) -> dict[str, Any]:
    """A tool call's JSON-text arguments as the object some providers want."""
    try:
        value = json.loads(arguments) if arguments else {}
    except ValueError:
        raise Unsupported(provider, "tool_calls: arguments must be JSON text") from None
    if not isinstance(value, dict):
        raise Unsupported(provider, "tool_calls: arguments must be a JSON object")
    return value


def tool_names_by_id(messages: list[dict[str, Any]]) -> dict[str, str]:
    return {c["id"]: c["function"]["name"] for m in messages for c in m.get("tool_calls") or ()}


def stop_list(stop: list[str] | None) -> list[str] | None:
    return list(stop) if stop else None


@dataclass
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class StreamState:
    """What a stream has said so far: text, tool calls by index, finish reason, usage."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, _PendingCall] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: TokenUsage | None = None
    dropped: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # provider-specific bookkeeping

    def add_call_piece(self, index: int, id: str | None, name: str | None, arguments: str | None) -> dict[str, Any]:
        call = self.calls.setdefault(index, _PendingCall())
        if id:
            call.id = id
        if name:
            call.name = name
        if arguments:
            call.arguments.append(arguments)
        piece: dict[str, Any] = {"index": index}
        if id:
            piece["id"] = id
        if name:
            piece["name"] = name
        if arguments:
            piece["arguments"] = arguments
        return piece

    def tool_calls(self) -> list[dict[str, Any]] | None:
        if not self.calls:
            return None
        return [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": "".join(c.arguments) or "{}"}}
            for _, c in sorted(self.calls.items())
        ]

    def completion(self) -> Completion:
        return Completion(
            "".join(self.text),
            self.finish_reason,
            self.usage or TokenUsage(0, 0),
            tool_calls=self.tool_calls(),
            dropped_params=self.dropped,
        )


@dataclass(frozen=True)
class Delta:
    """One piece of a stream for the producer: text and/or tool-call pieces."""

    text: str = ""
    tool_calls: list[dict[str, Any]] | None = None
