"""CPU per text-only prompt on the worker's own path, without Kafka or network: parse the record, run the
handler (key lookup, routing, the provider gateway, translation to the provider's request, the SDK's
request building, translation of the provider's answer), build and serialise the response and usage events.

Per provider (`--provider openai|anthropic|gemini|openrouter|all`), plain or streamed (`--stream`). The
real SDK clients of the real gateway answer from canned bytes:
- plain openai/anthropic/openrouter: the SDK's `client.request` returns the answer's bytes (what the
  worker's `post_json` asks for); gemini: google-genai's own HTTP layer returns the answer, so the SDK
  still turns the request into its wire dict and the answer into its response model;
- streamed: the SDK's HTTP client has a mock transport answering with server-sent events, so the SDK
  parses the stream as it would a provider's.

Noise-resistant where the end-to-end bench is not (a shared machine): the same work in one process,
CPU time (process_time), best of several rounds. Compare two checkouts with PYTHONPATH (the other
checkout's sources first on the path, this bench file and this .venv's third-party packages):

  .venv/bin/python bench/inference/bench_prompt_path.py --provider all --n 20000 --rounds 5
  PYTHONPATH=<other>/libs/events/src:<other>/libs/core/src:<other>/services/inference/src \\
      .venv/bin/python bench/inference/bench_prompt_path.py --provider all
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

from byok_core.settings import ProviderEndpoints
from byok_events import PromptRequest, Provider
from byok_inference.adapters.answered import AnsweredLru
from byok_inference.adapters.providers.gateway import SdkGateway
from byok_inference.handlers import Deps, handle_prompt
from byok_inference.ports import StoredKey

SYSTEM_KEY = "sk-system-key-for-the-bench-0000000000"
TEXT = "fake reply to: Say hello"

MODELS = {
    "openai": (Provider.OPENAI, "gpt-4.1"),
    "anthropic": (Provider.ANTHROPIC, "claude-sonnet-4-5"),
    "gemini": (Provider.GEMINI, "gemini-2.5-flash"),
    "openrouter": (Provider.OPENROUTER, "openrouter/openai/gpt-4.1"),
}

_CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4.1",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT}, "finish_reason": "stop"}],
    "usage": {
        "prompt_tokens": 12,
        "completion_tokens": 6,
        "total_tokens": 18,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    },
}
_MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": TEXT}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 6, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
}
_GEMINI = {
    "candidates": [{"content": {"role": "model", "parts": [{"text": TEXT}]}, "finishReason": "STOP", "index": 0}],
    "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 6, "totalTokenCount": 18},
    "modelVersion": "gemini-2.5-flash",
}
PLAIN = {"openai": _CHAT, "openrouter": _CHAT, "anthropic": _MESSAGE}
WORDS = TEXT.split(" ")


def _sse(events: list[tuple[str | None, dict[str, Any]]], done: bool = False) -> bytes:
    lines = []
    for name, data in events:
        if name:
            lines.append(f"event: {name}")
        lines.append("data: " + json.dumps(data))
        lines.append("")
    if done:
        lines += ["data: [DONE]", ""]
    return ("\n".join(lines) + "\n").encode()


def _chat_stream() -> bytes:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4.1"}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"content": w + " "}, "finish_reason": None}]} for w in WORDS]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    chunks.append({**base, "choices": [], "usage": _CHAT["usage"]})
    return _sse([(None, c) for c in chunks], done=True)


def _messages_stream() -> bytes:
    start = {**_MESSAGE, "content": [], "stop_reason": None, "usage": {**_MESSAGE["usage"], "output_tokens": 1}}  # type: ignore[dict-item]
    events: list[tuple[str | None, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
    ]
    events += [
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w + " "}},
        )
        for w in WORDS
    ]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 6},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return _sse(events)


def _gemini_chunks() -> list[str]:
    chunks = [{"candidates": [{"content": {"role": "model", "parts": [{"text": w + " "}]}, "index": 0}]} for w in WORDS]
    chunks[-1]["candidates"][0]["finishReason"] = "STOP"
    chunks[-1]["usageMetadata"] = _GEMINI["usageMetadata"]
    return [json.dumps(c) for c in chunks]


def _canned(client: Any, name: str, stream: bool) -> None:
    """Make this real SDK client answer from canned bytes (see the module's docstring)."""
    if name == "gemini":
        from google.genai._api_client import HttpResponse

        body = _gemini_chunks() if stream else [json.dumps(_GEMINI)]

        async def _async_request(http_request: Any, http_options: Any = None, stream: bool = False) -> Any:
            return HttpResponse(headers={"content-type": "application/json"}, response_stream=list(body))

        client._api_client._async_request = _async_request
        return
    if not stream:
        answer = json.dumps(PLAIN[name]).encode()

        async def request(cast_to: Any, options: Any, *args: Any, **kwargs: Any) -> bytes:
            return answer

        client.request = request
        return
    import httpx2

    sse = _chat_stream() if name in ("openai", "openrouter") else _messages_stream()

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=sse)

    client._client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))


class Keys:
    async def get(self, scope: str, tenant_id: str, user_id: str | None, provider: Any) -> StoredKey | None:
        return StoredKey(SYSTEM_KEY, version=1) if scope == "system" else None


class Publisher:
    def __init__(self) -> None:
        self.bytes = 0
        self.completed = 0

    async def response(self, event: Any, partition: int | None = None) -> None:
        self.bytes += len(event.to_bytes())
        self.completed += event.status == "completed"

    async def usage(self, event: Any) -> None:
        self.bytes += len(event.to_bytes())

    async def key_event(self, event: Any) -> None: ...

    async def dead_letter(self, event: Any, key: Any) -> None: ...


class NoBudgets:
    def blocked(self, tenant_id: str) -> bool:
        return False


class NoSealed:
    async def open(self, sealed: str, **kwargs: Any) -> str:
        raise AssertionError


def records(n: int, model: str, stream: bool) -> list[bytes]:
    return [
        json.dumps(
            {
                "schema": "byok.prompt.request/v1",
                "request_id": str(uuid.uuid4()),
                "tenant_id": "bench",
                "user_id": "u1",
                "model": model,
                "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": f"Say hello {i}"}],
                "max_tokens": 64,
                "stream": stream,
                "created_at": "2026-11-30T08:00:00Z",
            }
        ).encode()
        for i in range(n)
    ]


async def one_round(name: str, gateway: SdkGateway, n: int, stream: bool) -> float:
    publisher = Publisher()
    deps = Deps(
        keys=Keys(),
        sealed=NoSealed(),
        providers=gateway,
        publisher=publisher,
        answered=AnsweredLru(),
        budgets=NoBudgets(),
    )  # type: ignore[arg-type]
    batch = records(n, MODELS[name][1], stream)
    started = time.process_time()
    for raw in batch:
        await handle_prompt(PromptRequest.model_validate_json(raw), deps)
    spent = time.process_time() - started
    if publisher.completed != n:
        raise SystemExit(f"{name}: {publisher.completed} of {n} prompts completed")
    return spent / n * 1e6


async def bench(name: str, n: int, rounds: int, stream: bool) -> dict[str, Any]:
    gateway = SdkGateway(ProviderEndpoints())
    _canned(gateway.client(MODELS[name][0], SYSTEM_KEY), name, stream)
    await one_round(name, gateway, 300, stream)  # warm-up
    results = [await one_round(name, gateway, n, stream) for _ in range(rounds)]
    return {
        "provider": name,
        "stream": stream,
        "n": n,
        "us_per_prompt_best": round(min(results), 1),
        "us_per_prompt_rounds": [round(r, 1) for r in results],
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provider", choices=[*MODELS, "all"], default="openai")
    parser.add_argument("--stream", action="store_true", help="streamed prompts (delta events)")
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for name in MODELS if args.provider == "all" else [args.provider]:
        print(json.dumps(await bench(name, args.n, args.rounds, args.stream)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
