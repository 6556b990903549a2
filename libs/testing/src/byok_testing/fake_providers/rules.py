"""Fault and latency rules of the fake provider server, and the record of the calls it received."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Action = Literal["ok", "401", "403", "429", "500", "timeout", "invalid_key", "no_endpoint"]
ACTIONS: tuple[str, ...] = ("ok", "401", "403", "429", "500", "timeout", "invalid_key", "no_endpoint")


@dataclass
class Rule:
    """Matches calls by api_key, model and/or provider (None matches anything).

    action: ok | 401 | 403 | 429 | 500 | timeout | invalid_key (the provider's own answer to a bad key:
    Gemini 400 API_KEY_INVALID, others 401) | no_endpoint (OpenRouter only: no upstream endpoint of the
    model supports a feature of the request, HTTP 404). latency_ms is added before answering.
    times: how many matching calls the rule applies to (None: forever).
    """

    action: str = "ok"
    api_key: str | None = None
    model: str | None = None
    provider: str | None = None
    latency_ms: float = 0.0
    retry_after: float | None = None
    times: int | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")

    def matches(self, provider: str, model: str, api_key: str | None) -> bool:
        return (
            (self.provider is None or self.provider == provider)
            and (self.model is None or self.model == model)
            and (self.api_key is None or self.api_key == api_key)
            and (self.times is None or self.times > 0)
        )


@dataclass
class Call:
    provider: str
    path: str
    model: str
    api_key: str | None
    key_header: str | None
    stream: bool
    prompt: str
    status: int = 200
    features: dict[str, Any] = field(default_factory=dict)  # images, tools, tool_results, reasoning, ...
    at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RuleBook:
    """Rules in insertion order (the first match wins), a default latency, and the calls received."""

    def __init__(self, max_calls: int = 200_000) -> None:
        self.rules: list[Rule] = []
        self.default_latency_ms = 0.0
        self.calls: list[Call] = []
        self.max_calls = max_calls

    def decide(self, provider: str, model: str, api_key: str | None) -> tuple[str, float, float | None]:
        """(action, latency_ms, retry_after) for one call; counts down a matching rule's `times`."""
        for rule in self.rules:
            if rule.matches(provider, model, api_key):
                if rule.times is not None:
                    rule.times -= 1
                return rule.action, rule.latency_ms or self.default_latency_ms, rule.retry_after
        return "ok", self.default_latency_ms, None

    def record(self, call: Call) -> None:
        self.calls.append(call)
        if len(self.calls) > self.max_calls:
            del self.calls[: len(self.calls) - self.max_calls]

    def find(self, contains: str | None = None, api_key: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if (contains is None or contains in c.prompt) and (api_key is None or c.api_key == api_key)
        ]
