"""Key precedence and BYOK modes: the ordered places to look for a key, and the choice among them.

For a model of provider P (contract, "Key precedence and BYOK modes"):
  1. a user-side key for P (request > user > org): called directly;
  2. a user-side OpenRouter key (request > user > org): P's model through OpenRouter;
  3. the system key for P: called directly;
  4. the system OpenRouter key: P's model through OpenRouter.
disabled: steps 3-4; prefer: 1-4; require: 1-2. A model already addressed to OpenRouter has one
provider, so steps 1/2 and 3/4 coincide.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cache

from byok_events import ByokMode, ErrorCode, KeySource, Provider, Route

USER_SIDE = (KeySource.REQUEST, KeySource.USER, KeySource.ORG)


@dataclass(frozen=True)
class KeySlot:
    """One place a key may be: its source, the provider the key is for, and the route it implies."""

    source: KeySource
    key_provider: Provider

    @property
    def route(self) -> Route:
        return Route.OPENROUTER if self.key_provider is Provider.OPENROUTER else Route.DIRECT


@cache  # a handful of (mode, provider) pairs; asked once per request
def key_slots(mode: ByokMode, provider: Provider) -> tuple[KeySlot, ...]:
    """The slots to try, highest precedence first."""
    providers: list[Provider] = [provider] if provider is Provider.OPENROUTER else [provider, Provider.OPENROUTER]
    user_side = [KeySlot(s, p) for p in providers for s in USER_SIDE]
    system = [KeySlot(KeySource.SYSTEM, p) for p in providers]
    if mode is ByokMode.DISABLED:
        return tuple(system)
    if mode is ByokMode.REQUIRE:
        return tuple(user_side)
    return tuple(user_side + system)


def choose(mode: ByokMode, provider: Provider, available: Collection[KeySlot]) -> KeySlot | ErrorCode:
    """The slot to use given the slots holding a key, or the error code when none applies."""
    for slot in key_slots(mode, provider):
        if slot in available:
            return slot
    return missing_key_error(mode)


def missing_key_error(mode: ByokMode) -> ErrorCode:
    return ErrorCode.BYOK_KEY_REQUIRED if mode is ByokMode.REQUIRE else ErrorCode.NO_KEY_AVAILABLE
