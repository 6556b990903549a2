"""What the fake providers share: token counting, the reply they make, SSE, the prompt-cache memory."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Turn:
    """What a request asks, read from a provider's own request shape."""

    prompt: str = ""  # the text the reply echoes: the last user text, or the last tool result
    chars: int = 0  # all input text, for the token count
    images: int = 0
    after_tool_result: bool = False
    tools: list[dict[str, Any]] = field(default_factory=list)  # [{"name", "parameters"}]
    forced_tool: str | None = None  # tool_choice naming a function (or "required": the first tool)
    tools_off: bool = False  # tool_choice none
    reasoning: str | None = None  # low | medium | high, or a budget as text
    cached_prefix: str | None = None  # text up to the last explicit cache breakpoint
    tool_results: int = 0
    signatures_returned: int = 0  # Gemini: thought signatures sent back with earlier function calls

    def features(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "tools": [t["name"] for t in self.tools],
            "tool_results": self.tool_results,
            "reasoning": self.reasoning,
            "cache_breakpoint": self.cached_prefix is not None,
            "signatures_returned": self.signatures_returned,
        }


class BadRequest(Exception):
    """The real API would refuse this request with HTTP 400."""


def reply_text(provider: str, turn: Turn) -> str:
    text = f"fake {provider} reply to: {turn.prompt[:120]}"
    if turn.images:
        text += f" [saw {turn.images} image{'s' if turn.images > 1 else ''}]"
    return text


def wanted_tool_call(turn: Turn) -> tuple[str, dict[str, Any]] | None:
    """(name, arguments) when the fake model asks for a tool: tools offered, not off, no result yet."""
    if not turn.tools or turn.tools_off or turn.after_tool_result:
        return None
    name = turn.forced_tool or turn.tools[0]["name"]
    tool = next((t for t in turn.tools if t["name"] == name), turn.tools[0])
    properties = list(((tool.get("parameters") or {}).get("properties") or {}).keys())
    words = [w.strip("?!.,;:'\"") for w in turn.prompt.split()]
    value = words[-1] if words and words[-1] else turn.prompt[:60]  # "Weather in Lisbon?" -> "Lisbon"
    return tool["name"], ({properties[0]: value} if properties else {})


def usage_numbers(turn: Turn, output_text: str, cache: PromptCache, provider: str) -> dict[str, int]:
    """Deterministic token counts. With an explicit cache breakpoint, the cached prefix is a write the
    first time and a read afterwards; without one, a quarter of a long prompt is a read, an eighth a write."""
    total_input = max(1, turn.chars // 4) + 85 * turn.images
    if turn.cached_prefix is not None:
        cached = min(total_input, max(1, len(turn.cached_prefix) // 4))
        first = cache.remember(provider, turn.cached_prefix)
        cache_read, cache_write = (0, cached) if first else (cached, 0)
    else:
        cache_read = total_input // 4 if total_input >= 8 else 0
        cache_write = total_input // 8 if total_input >= 8 else 0
    return {
        "total_input": total_input,
        "cache_read": cache_read,
        "cache_write": cache_write,
        "output": max(1, len(output_text.split())),
    }


REASONING_TOKENS = {"low": 8, "medium": 16, "high": 32}


def reasoning_tokens(effort: str | None) -> int:
    if effort is None:
        return 0
    if effort in REASONING_TOKENS:
        return REASONING_TOKENS[effort]
    return 8 + int(effort) // 1024  # a budget


class PromptCache:
    """Cached prefixes seen, per provider (bounded)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._seen: dict[str, None] = {}
        self._limit = limit

    def remember(self, provider: str, prefix: str) -> bool:
        """True the first time this prefix is seen."""
        digest = hashlib.sha256(f"{provider}\0{prefix}".encode()).hexdigest()
        if digest in self._seen:
            return False
        self._seen[digest] = None
        if len(self._seen) > self._limit:
            self._seen.pop(next(iter(self._seen)))
        return True


def chunks(text: str, size: int = 3) -> list[str]:
    words = text.split(" ")
    return [" ".join(words[i : i + size]) + (" " if i + size < len(words) else "") for i in range(0, len(words), size)]


def split_json(value: dict[str, Any], pieces: int = 3) -> list[str]:
    text = json.dumps(value)
    step = max(1, len(text) // pieces)
    return [text[i : i + step] for i in range(0, len(text), step)]


async def sse(request: web.Request, lines: list[str]) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    for line in lines:
        await response.write(line.encode())
    await response.write_eof()
    return response
