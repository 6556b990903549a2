"""The one private SDK path (sdk_post): it must build exactly what the SDKs' public `post()` builds.

sdk_post reuses a per-path FinalRequestOptions template (from the SDKs' private `_models`) because
public `client.post(..., cast_to=bytes)` constructs one per call: ~80 us more CPU per call on this machine
(measured with both against the fake provider; see docs/additions.md). Its client classes reuse a request
built once by the SDK's own `_build_request` per path and retry count, with each new body: ~0.2 ms less
worker CPU per prompt (bench/inference). These tests fail when an SDK upgrade changes what `post()` or
`_build_request` builds, or moves or changes the private parts, so the shortcuts cannot drift.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from byok_inference.adapters.providers import anthropic_provider, openai_provider, sdk_post
from byok_testing.fake_providers import RunningFakeProviders

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


def clients(fake: RunningFakeProviders) -> list[tuple[Any, type[Any], str]]:
    return [
        (
            sdk_post.AsyncOpenAI(api_key="sk-x", base_url=fake.url + "/v1", max_retries=0),
            sdk_post.OpenAIOptions,
            "/chat/completions",
        ),
        (
            sdk_post.AsyncAnthropic(api_key="sk-ant-x", base_url=fake.url, max_retries=0),
            sdk_post.AnthropicOptions,
            "/v1/messages",
        ),
    ]


async def _captured_options(client: Any, call: Any) -> Any:
    seen: list[Any] = []
    original = client.request

    async def capture(cast_to: Any, options: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(options)  # the SDK copies it before changing anything
        return await original(cast_to, options, *args, **kwargs)

    client.request = capture
    try:
        await call()
    finally:
        client.request = original
    [options] = seen
    return options


def _plain(options: Any) -> dict[str, Any]:
    """The options' fields; the SDKs' "not given" sentinels (compared by type in the SDKs) as a marker."""
    fields = {
        k: ("<not given>" if type(v).__name__ in ("NotGiven", "Omit") else v) for k, v in options.model_dump().items()
    }
    if isinstance(fields["content"], bytes):  # post_json encodes the body itself: compare what it says
        fields["json_data"], fields["content"] = json.loads(fields["content"]), None
    return fields


async def test_the_template_path_builds_what_public_post_builds(fake: RunningFakeProviders) -> None:
    for client, options_cls, path in clients(fake):
        public = await _captured_options(client, lambda c=client, p=path: c.post(p, cast_to=bytes, body=BODY))
        ours = await _captured_options(
            client, lambda c=client, o=options_cls, p=path: sdk_post.post_json(c, o, p, BODY)
        )
        assert type(ours) is type(public) is options_cls
        assert _plain(ours) == _plain(public), f"{options_cls.__module__}: post() builds something else now"
        await client.close()


async def test_the_shared_template_is_never_mutated(fake: RunningFakeProviders) -> None:
    for client, options_cls, path in clients(fake):
        template = sdk_post._template(options_cls, path)
        before = template.model_dump()
        raw = await sdk_post.post_json(client, options_cls, path, BODY)
        assert raw.startswith(b"{")
        assert template.model_dump() == before and template.json_data is None and template.content is None
        await client.close()


def test_the_private_classes_are_the_ones_the_sdks_use() -> None:
    assert sdk_post.OpenAIOptions.__name__ == sdk_post.AnthropicOptions.__name__ == "FinalRequestOptions"
    for cls in (sdk_post.OpenAIOptions, sdk_post.AnthropicOptions):
        assert {"method", "url", "json_data", "headers", "max_retries", "timeout"} <= set(cls.model_fields)


def _request_parts(request: httpx2.Request) -> dict[str, Any]:
    return {
        "method": request.method,
        "url": str(request.url),
        "headers": request.headers.raw,
        "content": request.content,
        "extensions": request.extensions,
    }


UNUSUAL_TEXT = 'h\u00e9llo \u2603 "q" \\ \U0001f600'
CONTROL_TEXT = "".join(chr(c) for c in range(32)) + "\u2028\u2029\x7f"


def _nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


# What hostile prompts can put in a body once validated: unusual and control characters, a large text, a deeply
# nested tool schema. The prepared path must encode them exactly as the SDK does.
BODIES = [
    BODY,
    {"model": "m", "messages": [{"role": "user", "content": UNUSUAL_TEXT}], "n": 2},
    {"model": "m", "messages": [{"role": "user", "content": CONTROL_TEXT * 3}]},
    {"model": "m", "messages": [{"role": "user", "content": "x" * 1_000_000}]},
    {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": [{"parameters": _nested(200)}]},
]


async def test_a_prepared_request_is_the_request_the_sdk_builds(fake: RunningFakeProviders) -> None:
    for client, options_cls, path in clients(fake):
        base = type(client).__mro__[2]  # the SDK's own class, under the mixin
        assert base in (openai.AsyncOpenAI, anthropic.AsyncAnthropic)
        template = sdk_post._template(options_cls, path)
        # A provider may set cookies; httpx2 sends the jar's cookies of the moment with each request. The
        # first requests (the ones the prepared ones are made from) go out with a cookie that then changes.
        for cookie in ("first", "changed", None):
            if cookie:
                client._client.cookies.set("__cf_bm", cookie)
            else:
                client._client.cookies.clear()
            for retries_taken in (0, 1, 2, 0):
                for body in BODIES:
                    ours = client._build_request(
                        template.model_copy(update={"content": sdk_post.JsonBody(sdk_post._encode(body).encode())}),
                        retries_taken=retries_taken,
                    )
                    sdks = base._build_request(
                        client, template.model_copy(update={"json_data": body}), retries_taken=retries_taken
                    )
                    assert (sdks.headers.get("cookie") is None) == (cookie is None)
                    assert _request_parts(ours) == _request_parts(sdks), f"{base.__name__} builds requests differently"
        assert len(client._byok_prepared) == 3  # one per retry count: the rest was reused
        await client.close()


async def test_calls_that_are_not_post_json_take_the_sdks_own_path(fake: RunningFakeProviders) -> None:
    for client, _, path in clients(fake):
        raw = await client.post(path, cast_to=bytes, body=BODY)
        assert raw.startswith(b"{")
        assert not client.__dict__.get("_byok_prepared"), "a public post() must not use the prepared requests"
        await client.close()


async def test_per_call_key_copies_keep_the_prepared_path_and_their_own_key(fake: RunningFakeProviders) -> None:
    for client, options_cls, path in clients(fake):
        copy = client.with_options(api_key="sk-ant-other" if "anthropic" in options_cls.__module__ else "sk-other")
        assert type(copy) is type(client)
        await sdk_post.post_json(client, options_cls, path, BODY)
        await sdk_post.post_json(copy, options_cls, path, BODY)
        [(_, client_headers, _)] = client._byok_prepared.values()
        [(_, copy_headers, _)] = copy._byok_prepared.values()
        assert client_headers != copy_headers, "a copy with another key must not reuse the first client's headers"
        await client.close()


def test_the_workers_clients_are_the_prepared_ones() -> None:
    assert type(openai_provider.make_client("sk-x", "http://127.0.0.1:9/v1", 5)) is sdk_post.AsyncOpenAI
    assert type(anthropic_provider.make_client("sk-ant-x", "http://127.0.0.1:9", 5)) is sdk_post.AsyncAnthropic


async def test_a_body_json_cannot_carry_fails_as_in_the_sdk(fake: RunningFakeProviders) -> None:
    """NaN never gets this far (event validation refuses it), but if it did, both paths refuse it the same way,
    before any request is sent."""
    for client, options_cls, path in clients(fake):
        with pytest.raises(ValueError):
            await sdk_post.post_json(client, options_cls, path, {"model": "m", "temperature": float("nan")})
        with pytest.raises(ValueError):
            await client.post(path, cast_to=bytes, body={"model": "m", "temperature": float("nan")})
        await client.close()
