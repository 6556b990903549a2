"""The user's authority (byok-user-token) over stored user and org keys, with the real verifier."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

import jwt
import pytest
from byok_core.auth import TokenVerifier
from byok_events import ByokMode, ErrorCode, KeySource, PromptRequest
from byok_inference.adapters.user_tokens import USER_TOKEN_HEADER, TokenAuthority, token_of
from byok_inference.entrypoints.prompts import PromptRecordHandler
from byok_inference.handlers import handle_prompt
from fakes.inference import Harness, make_harness

SECRET = "worker-unit-secret-0123456789abcdef0123456789"


def token(sub: str = "u1", tenant: str = "t1", ttl: int = 300, secret: str = SECRET) -> str:
    now = int(time.time())
    return jwt.encode(
        {"sub": sub, "tenant": tenant, "role": "member", "iat": now, "exp": now + ttl}, secret, algorithm="HS256"
    )


def harness() -> Harness:
    h = make_harness()
    h.deps.authority = TokenAuthority(TokenVerifier(secret=SECRET, leeway_seconds=0))
    h.keys.put("system", "*", None, "openai", "system-openai-key")
    return h


def prompt(mode: ByokMode = ByokMode.PREFER, rid: str = "r1", user: str | None = "u1", **kw: object) -> PromptRequest:
    return PromptRequest(
        request_id=rid,
        tenant_id="t1",
        user_id=user,
        model="gpt-4.1",
        byok_mode=mode,
        messages=[{"role": "user", "content": "hi"}],
        **kw,
    )


def final(h: Harness):
    [answer] = h.publisher.finals()
    return answer


@pytest.mark.parametrize("scope", ["user", "org"])
@pytest.mark.parametrize(
    "bearer",
    [
        None,
        "",
        "garbage",
        token(sub="u2"),
        token(tenant="t2"),
        token(ttl=-30),
        token(secret="another-secret-0123456789abcdef0123456789"),
        "Bearer " + token(),
    ],
)
async def test_a_stored_key_without_the_users_valid_token_is_unauthorized(scope, bearer) -> None:
    h = harness()
    h.keys.put(scope, "t1", "u1", "openai", f"{scope}-openai-key")
    assert await handle_prompt(prompt(), h.deps, bearer)
    answer = final(h)
    assert answer.status == "failed" and answer.error.code is ErrorCode.UNAUTHORIZED
    assert h.providers.calls == [], "no provider call, and no silent move to the system key"
    assert h.keys.reads == 0, "the stored key was never read"
    assert h.publisher.usages == []
    if bearer:
        assert bearer not in answer.model_dump_json()


@pytest.mark.parametrize("scope", ["user", "org"])
async def test_with_the_users_token_the_stored_key_is_used(scope) -> None:
    h = harness()
    h.keys.put(scope, "t1", "u1", "openai", f"{scope}-openai-key")
    assert await handle_prompt(prompt(), h.deps, token())
    answer = final(h)
    assert answer.status == "completed" and answer.key_source is KeySource(scope)
    assert [c.api_key for c in h.providers.calls] == [f"{scope}-openai-key"]
    assert h.keys.metadata_reads == 0, "a valid token reads the key directly"


async def test_an_org_key_needs_a_user_in_the_event() -> None:
    h = harness()
    h.keys.put("org", "t1", None, "openai", "org-openai-key")
    await handle_prompt(prompt(user=None), h.deps, token())
    assert final(h).error.code is ErrorCode.UNAUTHORIZED and h.providers.calls == []


async def test_system_and_request_keys_need_no_token() -> None:
    h = harness()
    await handle_prompt(prompt(rid="sys"), h.deps, None)
    sealed = {"openai": h.sealed.seal("request-openai-key", "t1", "req")}
    await handle_prompt(prompt(rid="req", sealed_keys=sealed), h.deps, None)
    answers = {a.request_id: a for a in h.publisher.finals()}
    assert answers["sys"].status == "completed" and answers["sys"].key_source is KeySource.SYSTEM
    assert answers["req"].status == "completed" and answers["req"].key_source is KeySource.REQUEST
    assert [c.api_key for c in h.providers.calls] == ["system-openai-key", "request-openai-key"]
    assert h.keys.reads == 1, "only the system key was read, never a user or org key"


async def test_disabled_mode_never_asks_about_stored_keys() -> None:
    h = harness()
    h.keys.put("user", "t1", "u1", "openai", "user-openai-key")
    await handle_prompt(prompt(ByokMode.DISABLED), h.deps, None)
    assert final(h).key_source is KeySource.SYSTEM and h.keys.metadata_reads == 0


async def test_require_mode_without_any_key_is_still_byok_key_required() -> None:
    h = harness()
    await handle_prompt(prompt(ByokMode.REQUIRE), h.deps, None)
    assert final(h).error.code is ErrorCode.BYOK_KEY_REQUIRED and h.providers.calls == []


async def test_an_openrouter_user_key_counts_too() -> None:
    h = harness()
    h.keys.put("user", "t1", "u1", "openrouter", "user-openrouter-key")
    await handle_prompt(prompt(), h.deps, None)
    assert final(h).error.code is ErrorCode.UNAUTHORIZED and h.providers.calls == []


async def test_without_authority_configured_the_event_ids_are_trusted() -> None:
    h = make_harness()  # BYOK_INFERENCE_USER_AUTH=off
    h.keys.put("user", "t1", "u1", "openai", "user-openai-key")
    await handle_prompt(prompt(), h.deps, None)
    assert final(h).key_source is KeySource.USER


@dataclass
class Record:
    value: bytes
    headers: list[tuple[str, bytes]]
    key: bytes = b"r1"
    topic: str = "byok.prompt.requests"
    partition: int = 0
    offset: int = 7


async def test_the_record_header_carries_the_token_and_it_is_never_logged(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    h = harness()
    h.keys.put("user", "t1", "u1", "openai", "user-openai-key")
    body = json.dumps(prompt().model_dump(mode="json")).encode()
    good, bad = token(), token(sub="u9")
    await PromptRecordHandler(h.deps)(Record(body, [("other", b"x"), (USER_TOKEN_HEADER, good.encode())]))
    await PromptRecordHandler(h.deps)(
        Record(body.replace(b'"r1"', b'"r2"'), [(USER_TOKEN_HEADER, bad.encode())], key=b"r2")
    )
    answers = {a.request_id: a for a in h.publisher.finals()}
    assert answers["r1"].status == "completed" and answers["r2"].error.code is ErrorCode.UNAUTHORIZED
    everything = caplog.text + "".join(a.model_dump_json() for a in h.publisher.responses)
    assert good not in everything and bad not in everything
    assert good.split(".")[2] not in everything and bad.split(".")[2] not in everything


def test_token_of_headers() -> None:
    assert token_of(None) is None and token_of([]) is None
    assert token_of([(USER_TOKEN_HEADER, b"  abc.def.ghi ")]) == "abc.def.ghi"
    assert token_of([(USER_TOKEN_HEADER, b"\xff\xfe")]) is None
    assert token_of([(USER_TOKEN_HEADER, b"")]) is None
