"""A captured sealed key re-sent with a new prompt is not run (byok-seal-v2: provider slot and created_at
are bound, and created_at has a maximum age), through the real handler with the fakes behind it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from byok_events import ErrorCode, PromptRequest
from byok_inference.handlers import handle_prompt
from fakes.inference import make_harness


def _request(rid: str, sealed_keys: dict[str, str], created_at: datetime | None, model: str = "gpt-4.1"):
    return PromptRequest(
        request_id=rid,
        tenant_id="t1",
        model=model,
        sealed_keys=sealed_keys,
        messages=[{"role": "user", "content": "a new prompt"}],
        created_at=created_at,
    )


async def _final_code(h, request: PromptRequest) -> ErrorCode | None:
    await handle_prompt(request, h.deps)
    [final] = h.publisher.finals()
    return final.error.code if final.error else None


async def test_the_sealed_key_opens_for_its_own_request() -> None:
    h = make_harness()
    at = datetime.now(UTC)
    sealed = h.sealed.seal("sk-proj-victim", "t1", "r1", "openai", at)
    assert await _final_code(h, _request("r1", {"openai": sealed}, at)) is None
    assert [c.api_key for c in h.providers.calls] == ["sk-proj-victim"]


@pytest.mark.parametrize(
    "replay",
    ["other-created-at", "no-created-at", "other-slot", "too-old", "from-the-future"],
)
async def test_a_replayed_sealed_key_does_not_open(replay: str) -> None:
    h = make_harness()
    now = datetime.now(UTC)
    at = {"too-old": now - timedelta(seconds=901), "from-the-future": now + timedelta(hours=1)}.get(replay, now)
    provider = "openrouter" if replay == "other-slot" else "openai"
    sealed = h.sealed.seal("sk-proj-victim", "t1", "r1", provider, at)
    created_at = {"other-created-at": at + timedelta(seconds=1), "no-created-at": None}.get(replay, at)
    # the captured key is moved into the slot of the model's own provider (openai) in every case
    request = _request("r1", {"openai": sealed}, created_at)
    assert await _final_code(h, request) is ErrorCode.SEALED_KEY_INVALID
    assert h.providers.calls == [] and h.publisher.usages == []
