"""ByokClient: publish prompts to byok.prompt.requests and get their answers back, typed.

async with ByokClient(kafka="127.0.0.1:9092", tenant_id="acme", user_id="u_42") as client:
    response = await client.complete("claude-sonnet-4-5", "Say hello")
    async for delta in client.stream("gpt-4.1", "Tell a story"):
        print(delta.output_text, end="")
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from byok_events import ByokMode, PromptRequest, PromptResponse, topics, utc_now

from .config import KafkaConfig
from .errors import RequestFailed, ResponseTimeout
from .replies import Item, ReplyReader
from .sealing import PublicSealingKey, SealingKeyCache

USER_TOKEN_HEADER = "byok-user-token"
Messages = str | Sequence[Mapping[str, Any]]


def _messages(messages: Messages) -> list[Any]:
    """A string is one user message; anything else is the contract's message dicts, passed through."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return [dict(m) if isinstance(m, Mapping) else m for m in messages]


class ByokClient:
    """A producer of prompts with its own reply partition. Use it as `async with`; share one per process.

    Kafka comes from `kafka` (an address or a KafkaConfig) or the BYOK_KAFKA_* variables; the key-vault
    service (for the sealing key) from `keyvault_url` or BYOK_KEYVAULT_URL. Client-wide defaults
    (tenant_id, user_id, user_token, byok_mode, timeout, metadata) can be overridden per call.
    `user_api_keys` ({"anthropic": "sk-ant-..."}) are sealed to the inference worker before they leave
    the process, with the public sealing key of the key-vault service (cached `sealing_key_ttl` seconds).
    """

    def __init__(
        self,
        *,
        kafka: KafkaConfig | str | None = None,
        keyvault_url: str | None = None,
        tenant_id: str | None = None,
        user_id: str | None = None,
        user_token: str | None = None,
        byok_mode: ByokMode | str = ByokMode.PREFER,
        timeout: float = 120.0,
        metadata: Mapping[str, str] | None = None,
        sealing_key: PublicSealingKey | None = None,
        sealing_key_ttl: float = 600.0,
        reply_partition: int | None = None,
    ) -> None:
        if isinstance(kafka, str):
            kafka = KafkaConfig(bootstrap=kafka)
        self.kafka = kafka or KafkaConfig.from_env()
        self.tenant_id, self.user_id = tenant_id, user_id
        self._user_token = user_token
        self.byok_mode = ByokMode(byok_mode)
        self.timeout = timeout
        self.metadata = dict(metadata or {})
        keyvault_url = keyvault_url or os.environ.get("BYOK_KEYVAULT_URL") or None
        self._sealing = SealingKeyCache(keyvault_url, ttl=sealing_key_ttl, key=sealing_key)
        self._producer = AIOKafkaProducer(**self.kafka.aiokafka_options(), acks="all", enable_idempotence=True)
        self._replies = ReplyReader(self.kafka, reply_partition)
        self._started = False

    def __repr__(self) -> str:  # no token, no keys
        return f"ByokClient(bootstrap={self.kafka.bootstrap!r}, tenant_id={self.tenant_id!r})"

    @property
    def reply_partition(self) -> int:
        return self._replies.partition

    async def start(self) -> ByokClient:
        try:
            await self._producer.start()
            await self._replies.start(await self._producer.partitions_for(topics.PROMPT_RESPONSES))
        except BaseException:
            await self._replies.stop()
            await self._producer.stop()
            raise
        self._started = True
        return self

    async def close(self) -> None:
        if self._started:
            self._started = False
            await self._replies.stop()
            await self._producer.stop()

    async def __aenter__(self) -> ByokClient:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def complete(self, model: str, messages: Messages, **options: Any) -> PromptResponse:
        """Run a prompt and return its `completed` response; raises RequestFailed or ResponseTimeout.

        Options: tenant_id, user_id, user_api_keys, byok_mode, user_token, timeout, metadata, request_id,
        and any request field of the contract (max_tokens, temperature, top_p, stop, tools, tool_choice,
        reasoning_effort, ...)."""
        timeout = options.pop("timeout", None) or self.timeout
        request_id, queue = await self._send(model, messages, stream=False, **options)
        deadline = time.monotonic() + timeout
        try:
            while True:
                item = await _next(queue, request_id, deadline, timeout)
                if item.status != "delta":
                    return _final(item)
        finally:
            self._replies.forget(request_id)

    def stream(self, model: str, messages: Messages, **options: Any) -> ResponseStream:
        """Run a prompt with `stream: true`: iterate the deltas; `.response` is the final answer after."""
        return ResponseStream(self, model, messages, options)

    async def submit(
        self,
        request: Mapping[str, Any],
        *,
        user_api_keys: Mapping[str, str] | None = None,
        user_token: str | None = None,
    ) -> asyncio.Future[PromptResponse]:
        """Lower level: publish a whole request body; the future holds its final response, `failed` too."""
        body = dict(request)
        model, messages = body.pop("model"), body.pop("messages")
        request_id, queue = await self._send(
            model,
            messages,
            stream=bool(body.pop("stream", False)),
            user_api_keys=user_api_keys,
            user_token=user_token,
            **body,
        )

        async def final() -> PromptResponse:
            try:
                while True:
                    item = await queue.get()
                    if isinstance(item, BaseException):
                        raise item
                    if item.status != "delta":
                        return item
            finally:
                self._replies.forget(request_id)

        return asyncio.ensure_future(final())

    async def _send(
        self,
        model: str,
        messages: Messages,
        *,
        stream: bool,
        user_api_keys: Mapping[str, str] | None = None,
        user_token: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **fields: Any,
    ) -> tuple[str, asyncio.Queue[Item]]:
        if not self._started:
            raise RuntimeError("use `async with ByokClient(...)` (or await client.start()) first")
        body: dict[str, Any] = {
            "schema": "byok.prompt.request/v1",
            "request_id": fields.pop("request_id", None) or str(uuid.uuid4()),
            "tenant_id": fields.pop("tenant_id", None) or self.tenant_id,
            "user_id": fields.pop("user_id", None) or self.user_id,
            "model": model,
            "messages": _messages(messages),
            "byok_mode": ByokMode(fields.pop("byok_mode", None) or self.byok_mode).value,
            "stream": stream,
            "reply_partition": self._replies.partition,
            "created_at": fields.pop("created_at", None) or utc_now(),
            **{k: v for k, v in fields.items() if v is not None},
        }
        if not body["tenant_id"]:
            raise ValueError("tenant_id is required (client-wide or per call)")
        merged_metadata = {**self.metadata, **(metadata or {})}
        if merged_metadata:
            body["metadata"] = merged_metadata
        if user_api_keys:
            body["sealed_keys"] = await self._sealing.seal_all(
                user_api_keys, tenant_id=body["tenant_id"], request_id=body["request_id"], created_at=body["created_at"]
            )
        prompt = PromptRequest.model_validate(body)  # refuse here what the worker would refuse
        token = user_token or self._user_token
        headers = [(USER_TOKEN_HEADER, token.encode())] if token else None
        queue = self._replies.watch(prompt.tenant_id, prompt.request_id)
        try:
            await self._producer.send_and_wait(
                topics.PROMPT_REQUESTS, key=prompt.request_id.encode(), value=prompt.to_bytes(), headers=headers
            )
        except BaseException:
            self._replies.forget(prompt.request_id)
            raise
        return prompt.request_id, queue


class ResponseStream:
    """`async for delta in client.stream(...)`: each delta (a `delta` PromptResponse) is handed over and
    not kept; after the loop, `.response` is the `completed` answer (a `failed` one raises RequestFailed)."""

    def __init__(self, client: ByokClient, model: str, messages: Messages, options: dict[str, Any]) -> None:
        self._client, self._model, self._messages, self._options = client, model, messages, options
        self._timeout: float = options.pop("timeout", None) or client.timeout
        self._queue: asyncio.Queue[Item] | None = None
        self._deadline = 0.0
        self.request_id: str | None = None
        self.response: PromptResponse | None = None
        self._done = False

    def __aiter__(self) -> AsyncIterator[PromptResponse]:
        return self

    async def __anext__(self) -> PromptResponse:
        if self._done:
            raise StopAsyncIteration
        if self._queue is None:
            self._deadline = time.monotonic() + self._timeout
            self.request_id, self._queue = await self._client._send(
                self._model, self._messages, stream=True, **self._options
            )
        assert self.request_id is not None
        try:
            item = await _next(self._queue, self.request_id, self._deadline, self._timeout)
            if item.status == "delta":
                return item
            self.response = _final(item)
        except BaseException:
            self._finish()
            raise
        self._finish()
        raise StopAsyncIteration

    def _finish(self) -> None:
        self._done = True
        if self.request_id is not None:
            self._client._replies.forget(self.request_id)

    async def text(self) -> str:
        """Consume the stream and return the whole text (the final answer's output_text)."""
        async for _ in self:
            pass
        assert self.response is not None
        return self.response.output_text or ""


async def _next(queue: asyncio.Queue[Item], request_id: str, deadline: float, seconds: float) -> PromptResponse:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ResponseTimeout(request_id, seconds)
    try:
        item = await asyncio.wait_for(queue.get(), remaining)
    except TimeoutError:
        raise ResponseTimeout(request_id, seconds) from None
    if isinstance(item, BaseException):
        raise item
    return item


def _final(response: PromptResponse) -> PromptResponse:
    if response.status == "failed":
        raise RequestFailed(response)
    return response
