"""Per-provider key format checks: prefix, length, characters, trimming; messages never hold the key."""

from __future__ import annotations

import pytest
from byok_events import Provider
from byok_keyvault.domain.formats import KeyFormatError, normalize_key
from fakes.keyvault import ANTHROPIC_KEY, GEMINI_KEY, OPENAI_KEY, OPENROUTER_KEY

VALID = {
    Provider.ANTHROPIC: ANTHROPIC_KEY,
    Provider.OPENAI: OPENAI_KEY,
    Provider.GEMINI: GEMINI_KEY,
    Provider.OPENROUTER: OPENROUTER_KEY,
}


@pytest.mark.parametrize("provider", list(Provider))
def test_valid_keys_pass_and_are_trimmed(provider):
    key = VALID[provider]
    assert normalize_key(provider, key) == key
    assert normalize_key(provider, f"  \t{key}\n ") == key


def test_legacy_openai_key_shape():
    assert normalize_key(Provider.OPENAI, "sk-" + "a1B2c3D4e5" * 5)


@pytest.mark.parametrize(
    ("provider", "key", "reason"),
    [
        (Provider.ANTHROPIC, "", "empty"),
        (Provider.ANTHROPIC, "   \n", "empty"),
        (Provider.ANTHROPIC, OPENAI_KEY, "wrong_prefix"),
        (Provider.ANTHROPIC, "sk-ant-short", "too_short"),
        (Provider.ANTHROPIC, "sk-ant-" + "a" * 300, "too_long"),
        (Provider.ANTHROPIC, ANTHROPIC_KEY[:20] + " " + ANTHROPIC_KEY[20:], "invalid_characters"),
        (Provider.ANTHROPIC, ANTHROPIC_KEY[:-1] + "é", "invalid_characters"),
        (Provider.ANTHROPIC, ANTHROPIC_KEY[:-1] + "\u200b", "invalid_characters"),
        (Provider.OPENAI, ANTHROPIC_KEY, "wrong_prefix"),
        (Provider.OPENAI, OPENROUTER_KEY, "wrong_prefix"),
        (Provider.OPENAI, "pk-" + "a" * 50, "wrong_prefix"),
        (Provider.OPENAI, "sk-abc", "too_short"),
        (Provider.GEMINI, GEMINI_KEY[:-1], "too_short"),
        (Provider.GEMINI, GEMINI_KEY + "x", "too_long"),
        (Provider.GEMINI, "BIza" + GEMINI_KEY[4:], "wrong_prefix"),
        (Provider.GEMINI, GEMINI_KEY[:-1] + "!", "invalid_characters"),
        (Provider.OPENROUTER, "sk-or-v2-" + "a" * 64, "wrong_prefix"),
        (Provider.OPENROUTER, "sk-or-v1-abc", "too_short"),
    ],
)
def test_invalid_keys_are_refused_with_a_reason(provider, key, reason):
    with pytest.raises(KeyFormatError) as caught:
        normalize_key(provider, key)
    assert caught.value.reason == reason
    if key.strip():
        assert key.strip() not in str(caught.value)
