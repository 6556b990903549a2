"""The reply path: one partition of byok.prompt.responses, read without a consumer group.

Each client instance picks one partition (its *reply partition*) and names it in every request it
sends (`reply_partition`); the worker writes every response event of that request (deltas and the
final answer) to that partition. So a client reads only its own partition, not every tenant's
responses, and needs no consumer group (no group ACL, no rebalances).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, TopicPartition
from byok_events import PromptResponse, topics
from pydantic import ValidationError

from .config import KafkaConfig

log = logging.getLogger("byok.client")

Item: TypeAlias = PromptResponse | BaseException


class ReplyReader:
    def __init__(self, kafka: KafkaConfig, partition: int | None = None) -> None:
        self._consumer = AIOKafkaConsumer(
            **kafka.aiokafka_options(), group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100
        )
        self._wanted = partition
        self.partition = -1
        self._watching: dict[str, tuple[str, asyncio.Queue[Item]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    async def start(self, partitions: set[int]) -> int:
        """partitions: those of byok.prompt.responses (the producer's metadata knows them)."""
        await self._consumer.start()
        if not partitions:
            raise RuntimeError(f"topic {topics.PROMPT_RESPONSES} does not exist or may not be read")
        if self._wanted is not None and self._wanted not in partitions:
            raise ValueError(f"reply_partition {self._wanted} is not a partition of {topics.PROMPT_RESPONSES}")
        self.partition = self._wanted if self._wanted is not None else random.choice(sorted(partitions))
        tp = TopicPartition(topics.PROMPT_RESPONSES, self.partition)
        self._consumer.assign([tp])
        await self._consumer.seek_to_end(tp)
        await self._consumer.position(tp)  # resolved now: nothing published after start() is missed
        self._task = asyncio.create_task(self._run(), name="byok-client-replies")
        return self.partition

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    def watch(self, tenant_id: str, request_id: str) -> asyncio.Queue[Item]:
        if self._failure is not None:
            raise self._failure
        queue: asyncio.Queue[Item] = asyncio.Queue()
        self._watching[request_id] = (tenant_id, queue)
        return queue

    def forget(self, request_id: str) -> None:
        self._watching.pop(request_id, None)

    async def _run(self) -> None:
        try:
            while True:
                for records in (await self._consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        self._route(record)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("reading responses failed: %s", type(exc).__name__)
            self._failure = exc
            for _, queue in self._watching.values():
                queue.put_nowait(exc)

    def _route(self, record: Any) -> None:
        try:
            request_id = (record.key or b"").decode()
        except UnicodeDecodeError:
            return
        watched = self._watching.get(request_id)
        if watched is None:
            return
        tenant_id, queue = watched
        try:
            response = PromptResponse.model_validate_json(record.value or b"")
        except ValidationError:
            return
        if response.tenant_id != tenant_id or response.request_id != request_id:
            return  # another tenant's request with the same id
        queue.put_nowait(response)
