"""Key precedence and BYOK modes, exhaustively: every subset of available slots, every mode and provider."""

from itertools import chain, combinations

import pytest
from byok_events import ByokMode, ErrorCode, KeySource, Provider, Route
from byok_inference.domain.keys import KeySlot, choose, key_slots

ORDER = [KeySource.REQUEST, KeySource.USER, KeySource.ORG]


def all_slots(provider: Provider) -> list[KeySlot]:
    providers = {provider, Provider.OPENROUTER}
    return [KeySlot(s, p) for s in KeySource for p in providers]


def expected(mode: ByokMode, provider: Provider, available: set[KeySlot]) -> KeySlot | ErrorCode:
    """The contract's four steps, written out independently of key_slots()."""
    steps: list[list[KeySlot]] = [
        [KeySlot(s, provider) for s in ORDER],
        [KeySlot(s, Provider.OPENROUTER) for s in ORDER],
        [KeySlot(KeySource.SYSTEM, provider)],
        [KeySlot(KeySource.SYSTEM, Provider.OPENROUTER)],
    ]
    allowed = {ByokMode.DISABLED: [2, 3], ByokMode.PREFER: [0, 1, 2, 3], ByokMode.REQUIRE: [0, 1]}[mode]
    for index in allowed:
        for slot in steps[index]:
            if slot in available:
                return slot
    return ErrorCode.BYOK_KEY_REQUIRED if mode is ByokMode.REQUIRE else ErrorCode.NO_KEY_AVAILABLE


@pytest.mark.parametrize("mode", list(ByokMode))
@pytest.mark.parametrize("provider", [Provider.ANTHROPIC, Provider.OPENAI, Provider.GEMINI])
def test_every_subset_of_available_keys(mode: ByokMode, provider: Provider) -> None:
    slots = all_slots(provider)
    subsets = chain.from_iterable(combinations(slots, n) for n in range(len(slots) + 1))
    count = 0
    for subset in subsets:
        available = set(subset)
        assert choose(mode, provider, available) == expected(mode, provider, available), (
            mode,
            provider,
            subset,
        )
        count += 1
    assert count == 2**8


def test_routes_follow_the_key_provider() -> None:
    assert KeySlot(KeySource.USER, Provider.OPENROUTER).route is Route.OPENROUTER
    assert KeySlot(KeySource.SYSTEM, Provider.GEMINI).route is Route.DIRECT


def test_system_keys_never_tried_in_require_mode() -> None:
    for provider in Provider:
        assert all(s.source is not KeySource.SYSTEM for s in key_slots(ByokMode.REQUIRE, provider))


def test_only_system_keys_in_disabled_mode() -> None:
    assert list(key_slots(ByokMode.DISABLED, Provider.ANTHROPIC)) == [
        KeySlot(KeySource.SYSTEM, Provider.ANTHROPIC),
        KeySlot(KeySource.SYSTEM, Provider.OPENROUTER),
    ]


def test_openrouter_model_has_one_provider() -> None:
    assert list(key_slots(ByokMode.PREFER, Provider.OPENROUTER)) == [KeySlot(s, Provider.OPENROUTER) for s in KeySource]
