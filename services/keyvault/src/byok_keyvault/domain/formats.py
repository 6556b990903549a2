"""Format checks of provider keys, before anything is stored: prefix, length, character set.

Pure functions; the messages name the rule that failed and never contain the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from byok_events import Provider

_KEY_CHARS = re.compile(r"[A-Za-z0-9_\-]+")


@dataclass(frozen=True)
class KeyFormat:
    prefixes: tuple[str, ...]
    min_length: int
    max_length: int
    forbidden_prefixes: tuple[str, ...] = ()  # another provider's prefix that starts with ours
    description: str = ""


FORMATS: dict[Provider, KeyFormat] = {
    Provider.ANTHROPIC: KeyFormat(("sk-ant-",), 40, 256, description="starts with sk-ant-"),
    Provider.OPENAI: KeyFormat(
        ("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"),
        40,
        256,
        forbidden_prefixes=("sk-ant-", "sk-or-"),
        description="starts with sk- or sk-proj-",
    ),
    Provider.GEMINI: KeyFormat(("AIza",), 39, 39, description="starts with AIza, 39 characters"),
    Provider.OPENROUTER: KeyFormat(("sk-or-v1-",), 41, 256, description="starts with sk-or-v1-"),
}


class KeyFormatError(ValueError):
    """The key does not look like a key of its provider; `reason` is a stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def normalize_key(provider: Provider, raw: str) -> str:
    """The trimmed key when it has its provider's shape; KeyFormatError otherwise."""
    fmt = FORMATS[provider]
    key = raw.strip()
    if not key:
        raise KeyFormatError("empty", "the key is empty")
    if len(key) > fmt.max_length:
        raise KeyFormatError("too_long", f"a {provider.value} key has at most {fmt.max_length} characters")
    if not key.isascii() or not _KEY_CHARS.fullmatch(key):
        raise KeyFormatError(
            "invalid_characters", "a key contains only letters, digits, '-' and '_' (no spaces or unicode)"
        )
    if any(key.startswith(p) for p in fmt.forbidden_prefixes) or not any(key.startswith(p) for p in fmt.prefixes):
        raise KeyFormatError("wrong_prefix", f"a {provider.value} key {fmt.description}")
    if len(key) < fmt.min_length:
        raise KeyFormatError("too_short", f"a {provider.value} key has at least {fmt.min_length} characters")
    return key
