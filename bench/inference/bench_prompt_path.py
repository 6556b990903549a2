"""CPU per text-only prompt on the worker's own path, without Kafka or HTTP: parse the record, run the
handler (key lookup, routing, translation to the provider's request, the SDK's options, translation of the
provider's answer), build and serialise the response and usage events.

Noise-resistant where the end-to-end bench is not (a shared machine): the same work in one process,
CPU time (process_time), best of several rounds. Compare two checkouts with PYTHONPATH:

  uv run python bench/inference/bench_prompt_path.py --n 20000 --rounds 5
  PYTHONPATH=<other>/libs/events/src:<other>/services/inference/src uv run python bench/inference/bench_prompt_path.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

from byok_events import PromptRequest
from byok_inference.adapters.answered import AnsweredLru
from byok_inference.adapters.providers import openai_provider
from byok_inference.handlers import Deps, handle_prompt
from byok_inference.ports import StoredKey

ANSWER = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4.1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "fake openai reply to: Say hello"},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 6,
            "total_tokens": 18,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }
).encode()


class StubSdkClient:
    """Stands in for openai.AsyncOpenAI.request: the canned answer's bytes."""

    async def request(self, cast_to: Any, options: Any, *args: Any, **kwargs: Any) -> bytes:
        return ANSWER


class Providers:
    def __init__(self) -> None:
        self.client = StubSdkClient()

    async def complete(self, call: Any, on_delta: Any = None) -> Any:
        return await openai_provider.complete(self.client, call, on_delta)  # type: ignore[arg-type]


class Keys:
    async def get(self, scope: str, tenant_id: str, user_id: str | None, provider: Any) -> StoredKey | None:
        return StoredKey("sk-system-key-for-the-bench-0000000000", version=1) if scope == "system" else None


class Publisher:
    def __init__(self) -> None:
        self.bytes = 0

    async def response(self, event: Any, partition: int | None = None) -> None:
        self.bytes += len(event.to_bytes())

    async def usage(self, event: Any) -> None:
        self.bytes += len(event.to_bytes())

    async def key_event(self, event: Any) -> None: ...

    async def dead_letter(self, event: Any, key: Any) -> None: ...


class NoBudgets:
    def blocked(self, tenant_id: str) -> bool:
        return False


class NoSealed:
    async def open(self, sealed: str, *, tenant_id: str, request_id: str) -> str:
        raise AssertionError


def records(n: int) -> list[bytes]:
    return [
        json.dumps(
            {
                "schema": "byok.prompt.request/v1",
                "request_id": str(uuid.uuid4()),
                "tenant_id": "bench",
                "user_id": "u1",
                "model": "gpt-4.1",
                "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": f"Say hello {i}"}],
                "max_tokens": 64,
                "created_at": "2026-11-30T08:00:00Z",
            }
        ).encode()
        for i in range(n)
    ]


async def one_round(n: int) -> float:
    deps = Deps(
        keys=Keys(),
        sealed=NoSealed(),
        providers=Providers(),
        publisher=Publisher(),
        answered=AnsweredLru(),
        budgets=NoBudgets(),
    )  # type: ignore[arg-type]
    batch = records(n)
    started = time.process_time()
    for raw in batch:
        await handle_prompt(PromptRequest.model_validate_json(raw), deps)
    return (time.process_time() - started) / n * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    await one_round(500)
    rounds = [await one_round(args.n) for _ in range(args.rounds)]
    print(
        json.dumps(
            {
                "n": args.n,
                "us_per_prompt_best": round(min(rounds), 1),
                "us_per_prompt_rounds": [round(r, 1) for r in rounds],
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
