"""The prompt handler against hand-written fakes: key rules, retries, streaming, idempotency."""

from __future__ import annotations

import itertools

import pytest
from byok_events import ByokMode, ErrorCode, KeySource, PromptRequest, Provider, Route
from byok_inference.domain.calls import FailureKind
from byok_inference.handlers import handle_prompt, usage_event_id
from fakes.inference import CREATED_AT, Harness, make_harness

MODELS = {
    Provider.ANTHROPIC: ("claude-sonnet-4-5", "anthropic/claude-sonnet-4.5"),
    Provider.OPENAI: ("gpt-4.1", "openai/gpt-4.1"),
    Provider.GEMINI: ("gemini-2.5-flash", "google/gemini-2.5-flash"),
    Provider.OPENROUTER: ("openrouter/meta-llama/llama-3-70b-instruct", "meta-llama/llama-3-70b-instruct"),
}
SOURCES = ["request", "user", "org", "system", "none"]


def request(h: Harness, model: str, mode: ByokMode = ByokMode.PREFER, rid: str = "r1", **kw: object) -> PromptRequest:
    return PromptRequest(
        request_id=rid,
        tenant_id="t1",
        user_id="u1",
        model=model,
        byok_mode=mode,
        messages=[{"role": "user", "content": "hi"}],
        **{"created_at": CREATED_AT, **kw},
    )


def give_key(h: Harness, source: str, provider: Provider, rid: str = "r1") -> dict[str, str]:
    key = f"{source}-{provider.value}-key"
    if source == "request":
        return {provider.value: h.sealed.seal(key, "t1", rid, provider.value)}
    if source in ("user", "org"):
        h.keys.put(source, "t1", "u1", provider.value, key)  # type: ignore[arg-type]
    elif source == "system":
        h.keys.put("system", "*", None, provider.value, key)
    return {}


@pytest.mark.parametrize(
    ("mode", "source", "provider", "via_openrouter"),
    [
        (m, s, p, o)
        for m, s, p, o in itertools.product(ByokMode, SOURCES, Provider, [False, True])
        if not (o and p is Provider.OPENROUTER)
    ],
)
async def test_matrix(mode: ByokMode, source: str, provider: Provider, via_openrouter: bool) -> None:
    """One key at one source, for the model's provider itself or (via_openrouter) for OpenRouter."""
    h = make_harness()
    key_provider = Provider.OPENROUTER if via_openrouter else provider
    sealed = give_key(h, source, key_provider)
    model, or_id = MODELS[provider]
    await handle_prompt(request(h, model, mode, sealed_keys=sealed or None), h.deps)

    allowed = source != "none" and (
        (mode is ByokMode.DISABLED and source == "system")
        or mode is ByokMode.PREFER
        or (mode is ByokMode.REQUIRE and source in ("request", "user", "org"))
    )
    [final] = h.publisher.finals()
    if not allowed:
        assert final.status == "failed"
        assert final.error is not None
        assert final.error.code == (
            ErrorCode.BYOK_KEY_REQUIRED if mode is ByokMode.REQUIRE else ErrorCode.NO_KEY_AVAILABLE
        )
        assert h.providers.calls == [] and h.publisher.usages == []
        return
    [call] = h.providers.calls
    assert call.api_key == f"{source}-{key_provider.value}-key"
    assert call.provider is key_provider
    routed = key_provider is Provider.OPENROUTER
    assert call.model == (or_id if routed else model.removeprefix("openrouter/"))
    assert final.status == "completed"
    assert final.key_source == KeySource(source)
    assert final.route == (Route.OPENROUTER if routed else Route.DIRECT)
    assert final.provider is key_provider and final.model == call.model
    [usage] = h.publisher.usages
    assert usage.event_id == usage_event_id("t1", "r1")
    assert usage.byok == (source != "system") and usage.key_source == KeySource(source)
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (
        100,
        20,
        40,
        10,
    )


async def test_precedence_request_over_user_over_org_over_system() -> None:
    h = make_harness()
    sealed = give_key(h, "request", Provider.OPENAI)
    for source in ("user", "org", "system"):
        give_key(h, source, Provider.OPENAI)
    await handle_prompt(request(h, "gpt-4.1", sealed_keys=sealed), h.deps)
    assert h.providers.calls[0].api_key == "request-openai-key"
    h2 = make_harness()
    for source in ("org", "system", "user"):
        give_key(h2, source, Provider.OPENAI)
    give_key(h2, "user", Provider.OPENROUTER)
    await handle_prompt(request(h2, "gpt-4.1"), h2.deps)
    assert h2.providers.calls[0].api_key == "user-openai-key"


async def test_user_openrouter_key_beats_system_direct_key() -> None:
    h = make_harness()
    give_key(h, "system", Provider.ANTHROPIC)
    give_key(h, "org", Provider.OPENROUTER)
    await handle_prompt(request(h, "claude-sonnet-4-5"), h.deps)
    [final] = h.publisher.finals()
    assert (final.key_source, final.route, final.model) == (
        KeySource.ORG,
        Route.OPENROUTER,
        "anthropic/claude-sonnet-4.5",
    )


@pytest.mark.parametrize("source", ["user", "org", "request"])
async def test_rejected_user_key_never_falls_back(source: str) -> None:
    h = make_harness()
    sealed = give_key(h, source, Provider.ANTHROPIC)
    give_key(h, "system", Provider.ANTHROPIC)
    h.providers.fail(f"{source}-anthropic-key", FailureKind.AUTH)
    await handle_prompt(request(h, "claude-sonnet-4-5", sealed_keys=sealed or None), h.deps)
    [final] = h.publisher.finals()
    assert final.error is not None and final.error.code is ErrorCode.INVALID_USER_KEY
    assert [c.api_key for c in h.providers.calls] == [f"{source}-anthropic-key"]
    assert h.publisher.usages == []
    assert "anthropic-key" not in final.error.message
    if source == "request":
        assert h.publisher.key_events == []
    else:
        [event] = h.publisher.key_events
        assert (event.type, event.scope, event.provider) == ("key.invalid", source, Provider.ANTHROPIC)
        assert event.version == 7, "the key-vault service marks exactly the rejected version"
        assert event.user_id == ("u1" if source == "user" else None)
        assert "anthropic-key" not in event.model_dump_json()


async def test_rate_limited_user_key_retries_then_fails_without_fallback() -> None:
    h = make_harness()
    give_key(h, "user", Provider.OPENAI)
    give_key(h, "system", Provider.OPENAI)
    h.providers.fail("user-openai-key", FailureKind.RATE_LIMITED, times=5, retry_after=2.0)
    await handle_prompt(request(h, "gpt-4.1"), h.deps)
    [final] = h.publisher.finals()
    assert final.error is not None
    assert (final.error.code, final.error.retriable) == (ErrorCode.PROVIDER_RATE_LIMITED, True)
    assert len(h.providers.calls) == 3 and {c.api_key for c in h.providers.calls} == {"user-openai-key"}
    assert h.sleeps == [2.0, 2.0]


@pytest.mark.parametrize(
    ("kind", "code"),
    [(FailureKind.SERVER, ErrorCode.PROVIDER_ERROR), (FailureKind.TIMEOUT, ErrorCode.PROVIDER_TIMEOUT)],
)
async def test_transient_failures_recover_within_the_retries(kind: FailureKind, code: ErrorCode) -> None:
    h = make_harness()
    give_key(h, "system", Provider.GEMINI)
    h.providers.fail("system-gemini-key", kind, times=2)
    await handle_prompt(request(h, "gemini-2.5-flash"), h.deps)
    assert h.publisher.finals()[0].status == "completed"
    assert len(h.sleeps) == 2 and h.sleeps[0] <= 0.1 and h.sleeps[1] <= 0.2
    h2 = make_harness()
    give_key(h2, "system", Provider.GEMINI)
    h2.providers.fail("system-gemini-key", kind, times=3)
    await handle_prompt(request(h2, "gemini-2.5-flash"), h2.deps)
    [final] = h2.publisher.finals()
    assert final.error is not None and (final.error.code, final.error.retriable) == (code, True)
    assert h2.publisher.usages == []


async def test_key_store_down_fails_without_fallback_to_env_or_system() -> None:
    h = make_harness()
    give_key(h, "system", Provider.OPENAI)
    h.keys.down = True
    await handle_prompt(request(h, "gpt-4.1"), h.deps)
    [final] = h.publisher.finals()
    assert final.error is not None and final.error.code is ErrorCode.KEY_STORE_UNAVAILABLE
    assert final.error.retriable and h.providers.calls == [] and len(h.sleeps) == 2


async def test_require_mode_with_only_system_key_makes_no_call() -> None:
    h = make_harness()
    give_key(h, "system", Provider.OPENAI)
    give_key(h, "system", Provider.OPENROUTER)
    await handle_prompt(request(h, "gpt-4.1", ByokMode.REQUIRE), h.deps)
    assert h.publisher.finals()[0].error.code is ErrorCode.BYOK_KEY_REQUIRED  # type: ignore[union-attr]
    assert h.providers.calls == [] and h.publisher.usages == []


@pytest.mark.parametrize("replay", ["other-tenant", "other-request"])
async def test_sealed_key_replay_does_not_open(replay: str) -> None:
    h = make_harness()
    give_key(h, "system", Provider.ANTHROPIC)
    sealed = h.sealed.seal("sk-ant-victim", "t1", "r1", "anthropic")
    tenant, rid = ("t2", "r1") if replay == "other-tenant" else ("t1", "r2")
    req = PromptRequest(
        request_id=rid,
        tenant_id=tenant,
        model="claude-sonnet-4-5",
        sealed_keys={"anthropic": sealed},
        messages=[{"role": "user", "content": "x"}],
        created_at=CREATED_AT,
    )
    await handle_prompt(req, h.deps)
    [final] = h.publisher.finals()
    assert final.error is not None and final.error.code is ErrorCode.SEALED_KEY_INVALID
    assert h.providers.calls == []


async def test_unknown_model_and_budget() -> None:
    h = make_harness()
    give_key(h, "system", Provider.OPENAI)
    await handle_prompt(request(h, "llama-3", rid="a"), h.deps)
    h.budgets.tenants.add("t1")
    await handle_prompt(request(h, "gpt-4.1", rid="b"), h.deps)
    codes = [r.error.code for r in h.publisher.finals()]  # type: ignore[union-attr]
    assert codes == [ErrorCode.UNKNOWN_MODEL, ErrorCode.BUDGET_EXCEEDED]
    assert h.providers.calls == [] and h.publisher.usages == []


async def test_streaming_emits_deltas_then_completed() -> None:
    h = make_harness()
    give_key(h, "user", Provider.ANTHROPIC)
    await handle_prompt(request(h, "claude-sonnet-4-5", stream=True), h.deps)
    statuses = [r.status for r in h.publisher.responses]
    assert statuses == ["delta", "delta", "delta", "completed"]
    assert "".join(r.output_text or "" for r in h.publisher.responses[:-1]) == "replyfromanthropic"
    assert len(h.publisher.usages) == 1


async def test_answered_request_is_not_run_again() -> None:
    h = make_harness()
    give_key(h, "system", Provider.OPENAI)
    assert await handle_prompt(request(h, "gpt-4.1"), h.deps)
    assert not await handle_prompt(request(h, "gpt-4.1"), h.deps)
    assert len(h.providers.calls) == 1 and len(h.publisher.finals()) == 1 and len(h.publisher.usages) == 1


async def test_the_usage_event_is_acknowledged_before_the_answer_is_sent() -> None:
    """A worker killed between the two acks must not leave an answered, never-billed request (the fault suite's
    kill -9 found 1 of 1,200 and a rebalance 17 of 1,500 when the answer went first)."""
    import asyncio

    h = make_harness()
    give_key(h, "system", Provider.OPENAI)
    order: list[str] = []
    acked = asyncio.Event()
    publish_usage, publish_response = h.publisher.usage, h.publisher.response

    async def slow_usage(event):  # type: ignore[no-untyped-def]
        order.append("usage sent")
        await asyncio.sleep(0.05)  # the broker's ack takes a while
        await publish_usage(event)
        order.append("usage acked")
        acked.set()

    async def response(event, *, partition=None):  # type: ignore[no-untyped-def]
        if event.status != "delta":
            order.append("answer sent")
        await publish_response(event, partition=partition)

    h.publisher.usage, h.publisher.response = slow_usage, response  # type: ignore[method-assign]
    await handle_prompt(request(h, "gpt-4.1", ByokMode.DISABLED), h.deps)
    assert order == ["usage sent", "usage acked", "answer sent"]
    assert [f.status for f in h.publisher.finals()] == ["completed"] and len(h.publisher.usages) == 1
