"""Which provider serves a model, and the model's id on OpenRouter."""

from __future__ import annotations

import re
from functools import lru_cache

from byok_events import Provider


class UnknownModel(Exception):
    """The model names no provider we know."""


_PREFIXES = {p.value + "/": p for p in Provider}
_OPENAI_PREFIXES = ("gpt-", "o1", "o3", "o4", "chatgpt-")
_OPENROUTER_VENDOR = {Provider.ANTHROPIC: "anthropic", Provider.OPENAI: "openai", Provider.GEMINI: "google"}

# Models whose OpenRouter id is not given by the rules below (vendor/ + dotted version digits).
OPENROUTER_IDS: dict[str, str] = {
    "claude-3-5-sonnet-latest": "anthropic/claude-3.5-sonnet",
    "claude-3-5-haiku-latest": "anthropic/claude-3.5-haiku",
    "claude-3-7-sonnet-latest": "anthropic/claude-3.7-sonnet",
    "claude-sonnet-4-0": "anthropic/claude-sonnet-4",
    "claude-opus-4-0": "anthropic/claude-opus-4",
}
_DATE_SUFFIX = re.compile(r"-(\d{8}|latest)\Z")
_VERSION_DIGITS = re.compile(r"(?<=\d)-(?=\d(?:\Z|-))")


@lru_cache(maxsize=4096)  # asked on every prompt, for a few models; an unknown model raises (not cached)
def route_model(model: str) -> tuple[Provider, str]:
    """(provider, model id to send it) for a request's model. An explicit `provider/` prefix wins."""
    for prefix, provider in _PREFIXES.items():
        if model.startswith(prefix):
            rest = model[len(prefix) :]
            if not rest:
                raise UnknownModel(model)
            return provider, rest
    if model.startswith("claude-"):
        return Provider.ANTHROPIC, model
    if model.startswith(_OPENAI_PREFIXES):
        return Provider.OPENAI, model
    if model.startswith("gemini-"):
        return Provider.GEMINI, model
    raise UnknownModel(model)


def openrouter_model_id(provider: Provider, model: str) -> str:
    """OpenRouter's id for a direct provider's model, e.g. claude-sonnet-4-5 -> anthropic/claude-sonnet-4.5.

    Anthropic ids write version digits with dashes and may end in a date; OpenRouter joins the digits
    with dots and drops the date. OpenAI and Gemini ids are kept under their vendor prefix.
    """
    if provider is Provider.OPENROUTER:
        return model
    if model in OPENROUTER_IDS:
        return OPENROUTER_IDS[model]
    vendor = _OPENROUTER_VENDOR[provider]
    if provider is Provider.ANTHROPIC:
        base = _DATE_SUFFIX.sub("", model)
        if base in OPENROUTER_IDS:
            return OPENROUTER_IDS[base]
        model = _VERSION_DIGITS.sub(".", base)
    return f"{vendor}/{model}"
