"""The one private SDK path (sdk_post): it must build exactly what the SDKs' public `post()` builds.

sdk_post reuses a per-path FinalRequestOptions template (from the SDKs' private `_models`) because
public `client.post(..., cast_to=bytes)` constructs one per call: ~80 us more CPU per call on this machine
(measured with both against the fake provider; see docs/additions.md). These tests fail when an SDK
upgrade changes what `post()` builds, or moves or changes the private class, so the shortcut cannot drift.
"""

from __future__ import annotations

from typing import Any

import anthropic
import openai
from byok_inference.adapters.providers import sdk_post
from byok_testing.fake_providers import RunningFakeProviders

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


def clients(fake: RunningFakeProviders) -> list[tuple[Any, type[Any], str]]:
    return [
        (
            openai.AsyncOpenAI(api_key="sk-x", base_url=fake.url + "/v1", max_retries=0),
            sdk_post.OpenAIOptions,
            "/chat/completions",
        ),
        (
            anthropic.AsyncAnthropic(api_key="sk-ant-x", base_url=fake.url, max_retries=0),
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
    return {
        k: ("<not given>" if type(v).__name__ in ("NotGiven", "Omit") else v) for k, v in options.model_dump().items()
    }


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
        assert template.model_dump() == before and template.json_data is None
        await client.close()


def test_the_private_classes_are_the_ones_the_sdks_use() -> None:
    assert sdk_post.OpenAIOptions.__name__ == sdk_post.AnthropicOptions.__name__ == "FinalRequestOptions"
    for cls in (sdk_post.OpenAIOptions, sdk_post.AnthropicOptions):
        assert {"method", "url", "json_data", "headers", "max_retries", "timeout"} <= set(cls.model_fields)
