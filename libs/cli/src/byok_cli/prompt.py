"""`byok prompt "..." --model M`: one prompt through Kafka with the producer client, answer on stdout."""

from __future__ import annotations

import os
import sys
from typing import Any

from byok_client import ByokClient, KafkaConfig, RequestFailed, ResponseTimeout
from byok_events import PromptResponse

from .errors import FAILED, TIMEOUT, USAGE, CliError, kafka_failure
from .spinner import spinner

_ENV_PROVIDERS = {
    "ANTHROPIC": "anthropic",
    "OPENAI": "openai",
    "GEMINI": "gemini",
    "GOOGLE": "gemini",
    "OPENROUTER": "openrouter",
}


def provider_of_model(model: str) -> str | None:
    """The contract's routing rule, for choosing which provider a --key-env key is for."""
    prefix, _, rest = model.partition("/")
    if rest and prefix in ("anthropic", "openai", "gemini", "openrouter"):
        return prefix
    if model.startswith("claude-"):
        return "anthropic"
    if model.startswith(("gpt-", "o1", "o3", "o4", "chatgpt-")):
        return "openai"
    if model.startswith("gemini-"):
        return "gemini"
    return None


def key_from_env(name: str, model: str) -> dict[str, str]:
    key = os.environ.get(name, "").strip()
    if not key:
        raise CliError(f"--key-env {name}: the variable is not set or empty", USAGE)
    named = next((p for word, p in _ENV_PROVIDERS.items() if name.upper().startswith(word)), None)
    provider = named or provider_of_model(model)
    if provider is None:
        raise CliError(f"--key-env {name}: cannot tell which provider the key is for", USAGE)
    return {provider: key}


async def run(args: Any, *, tenant_id: str, user_id: str | None, token: str | None) -> int:
    keys = key_from_env(args.key_env, args.model) if args.key_env else None
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    text = args.text if args.text != "-" else sys.stdin.read()
    messages.append({"role": "user", "content": text})
    options: dict[str, Any] = {"timeout": args.timeout, "max_tokens": args.max_tokens}
    if keys:
        options["user_api_keys"] = keys
    if args.byok_mode:
        options["byok_mode"] = args.byok_mode
    client = ByokClient(
        kafka=KafkaConfig.from_env(),
        keyvault_url=args.keyvault_url,
        tenant_id=tenant_id,
        user_id=user_id,
        user_token=token,
    )
    try:
        async with spinner("connecting to Kafka"):
            await client.start()
    except Exception as exc:  # aiokafka raises many kinds: refused or unreachable
        raise kafka_failure(exc, client.kafka.bootstrap, client.kafka.sasl_username) from None
    try:
        response = await (
            _stream(client, args, messages, options) if args.stream else _complete(client, args, messages, options)
        )
    except RequestFailed as failed:
        if args.json:
            print(failed.response.model_dump_json(by_alias=True))
        raise CliError(f"failed: {failed}", FAILED) from None
    except ResponseTimeout as late:
        raise CliError(str(late), TIMEOUT) from None
    finally:
        await client.close()
    if args.json:
        print(response.model_dump_json(by_alias=True))
    elif not args.quiet:
        usage = response.usage
        tokens = f" tokens in/out {usage.input_tokens}/{usage.output_tokens}" if usage else ""
        print(
            f"[{response.provider} {response.model} route={response.route} key={response.key_source}{tokens}]",
            file=sys.stderr,
        )
    return 0


async def _complete(
    client: ByokClient, args: Any, messages: list[dict[str, Any]], options: dict[str, Any]
) -> PromptResponse:
    async with spinner(f"waiting for {args.model}"):
        response = await client.complete(args.model, messages, **options)
    if not args.json:
        print(response.output_text or "")
    return response


async def _stream(
    client: ByokClient, args: Any, messages: list[dict[str, Any]], options: dict[str, Any]
) -> PromptResponse:
    stream = client.stream(args.model, messages, **options)
    deltas = aiter(stream)
    async with spinner(f"waiting for {args.model}"):
        first = await anext(deltas, None)
    if first is not None and not args.json:
        sys.stdout.write(first.output_text or "")
        sys.stdout.flush()
        async for delta in deltas:
            sys.stdout.write(delta.output_text or "")
            sys.stdout.flush()
        print()
    elif first is not None:  # --json: one JSON line per delta, then the final answer's
        print(first.model_dump_json(by_alias=True))
        async for delta in deltas:
            print(delta.model_dump_json(by_alias=True))
    assert stream.response is not None
    return stream.response
