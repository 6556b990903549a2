"""ByokClientSync: the same client for scripts without asyncio.

    with ByokClientSync(kafka="127.0.0.1:9092", tenant_id="acme") as client:
        print(client.complete("gpt-4.1", "Say hello").output_text)
        for delta in client.stream("gpt-4.1", "Tell a story"):
            print(delta.output_text, end="")

It runs a private event loop in the calling thread; replies that arrive between calls wait in Kafka.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from byok_events import PromptResponse

from .client import ByokClient, Messages, ResponseStream


class ByokClientSync:
    def __init__(self, **options: Any) -> None:
        self._options = options
        self._runner: asyncio.Runner | None = None
        self._client: ByokClient | None = None

    def __enter__(self) -> ByokClientSync:
        self._runner = asyncio.Runner()
        try:
            self._client = self._runner.run(self._start())
        except BaseException:
            self._runner.close()
            raise
        return self

    async def _start(self) -> ByokClient:
        return await ByokClient(**self._options).start()  # aiokafka clients are built inside the loop

    def __exit__(self, *_: object) -> None:
        assert self._runner is not None and self._client is not None
        try:
            self._runner.run(self._client.close())
        finally:
            self._runner.close()

    @property
    def client(self) -> ByokClient:
        if self._client is None:
            raise RuntimeError("use `with ByokClientSync(...) as client:` first")
        return self._client

    def complete(self, model: str, messages: Messages, **options: Any) -> PromptResponse:
        assert self._runner is not None
        return self._runner.run(self.client.complete(model, messages, **options))

    def stream(self, model: str, messages: Messages, **options: Any) -> SyncResponseStream:
        assert self._runner is not None
        return SyncResponseStream(self._runner, self.client.stream(model, messages, **options))


class SyncResponseStream:
    def __init__(self, runner: asyncio.Runner, stream: ResponseStream) -> None:
        self._runner, self._stream = runner, stream

    @property
    def response(self) -> PromptResponse | None:
        return self._stream.response

    def __iter__(self) -> Iterator[PromptResponse]:
        while True:
            try:
                yield self._runner.run(self._stream.__anext__())
            except StopAsyncIteration:
                return
