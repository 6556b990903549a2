"""model_not_priced: a system-key call for a model without a price is refused before any provider call."""

from __future__ import annotations

from decimal import Decimal

from byok_events import ByokMode, ErrorCode, KeySource, PromptRequest
from byok_inference.handlers import handle_prompt
from byok_pricing import OverrideBook, PriceOverride, Pricer
from fakes.inference import make_harness

UNPRICED = "gpt-unpriced-9000"


def prompt(model: str, rid: str = "r1", mode: ByokMode = ByokMode.PREFER) -> PromptRequest:
    return PromptRequest(
        request_id=rid, tenant_id="t1", user_id="u1", model=model, byok_mode=mode,
        messages=[{"role": "user", "content": "hi"}],
    )  # fmt: skip


async def test_an_unpriced_model_on_the_system_key_fails_before_any_call() -> None:
    h = make_harness()
    h.keys.put("system", "*", None, "openai", "system-openai-key")
    await handle_prompt(prompt(UNPRICED), h.deps)
    [answer] = h.publisher.finals()
    assert answer.status == "failed" and answer.error.code is ErrorCode.MODEL_NOT_PRICED
    assert answer.key_source is KeySource.SYSTEM
    assert h.providers.calls == [] and h.publisher.usages == []


async def test_the_system_openrouter_route_is_checked_under_openrouters_id() -> None:
    h = make_harness()
    h.keys.put("system", "*", None, "openrouter", "system-openrouter-key")
    await handle_prompt(prompt("claude-sonnet-4-5", "priced"), h.deps)
    await handle_prompt(prompt("openrouter/vendor/not-a-priced-model", "unpriced"), h.deps)
    answers = {a.request_id: a for a in h.publisher.finals()}
    assert answers["priced"].status == "completed" and answers["priced"].model == "anthropic/claude-sonnet-4.5"
    assert answers["unpriced"].error.code is ErrorCode.MODEL_NOT_PRICED
    assert [c.model for c in h.providers.calls] == ["anthropic/claude-sonnet-4.5"]


async def test_a_user_side_key_may_use_an_unpriced_model() -> None:
    """The user pays the provider; the platform's fee on it is priced when known (billing keeps it for review)."""
    h = make_harness()
    h.keys.put("user", "t1", "u1", "openai", "user-openai-key")
    await handle_prompt(prompt(UNPRICED), h.deps)
    [answer] = h.publisher.finals()
    assert answer.status == "completed" and answer.key_source is KeySource.USER


async def test_an_override_prices_the_model() -> None:
    h = make_harness()
    h.deps.prices = Pricer(OverrideBook([PriceOverride("openai", UNPRICED, None, Decimal("1"), Decimal("2"))]))
    h.keys.put("system", "*", None, "openai", "system-openai-key")
    await handle_prompt(prompt(UNPRICED), h.deps)
    [answer] = h.publisher.finals()
    assert answer.status == "completed" and len(h.providers.calls) == 1
