"""An at-least-once Kafka consumer loop with many messages in flight per process.

FastStream's concurrent subscribers either commit before handling (a crash loses what was in flight)
or cap concurrency at the partition count (measurements.md), so this loop sits on aiokafka directly:
  * up to `max_in_flight` records are processed at once (a task each); when full, fetching waits;
  * per partition, the committed offset only moves past a record once it and all earlier records of the
    partition are finished (entrypoints/offsets.py), so a kill -9 re-delivers exactly the unfinished ones;
  * on rebalance, revoked partitions are drained (bounded) and committed before they move;
  * stop() drains everything in flight, commits, and closes.
The loop knows nothing of prompts: it calls `handle(record)`; an exception from it is fatal (publishing
failed), the record stays uncommitted and run() raises so the process exits and restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import OffsetAndMetadata
from byok_core.observability import IN_FLIGHT, record_consumer_lag

from .offsets import PartitionOffsets

log = logging.getLogger("byok.inference.consumer")

RecordHandler = Callable[[Any], Awaitable[None]]


class _Listener(ConsumerRebalanceListener):
    def __init__(self, loop: ConsumerLoop) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._loop._on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self._loop._on_assigned(set(assigned))


class ConsumerLoop:
    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        topic: str,
        handle: RecordHandler,
        *,
        service: str = "inference",
        max_in_flight: int = 256,
        commit_interval: float = 0.2,
        drain_timeout: float = 30.0,
        on_assigned: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._consumer = consumer
        self._topic = topic
        self._handle = handle
        self._service = service
        self._max_in_flight = max_in_flight
        self._commit_interval = commit_interval
        self._drain_timeout = drain_timeout
        self._on_assigned_hook = on_assigned
        self._offsets: dict[TopicPartition, PartitionOffsets] = {}
        self._tasks: dict[TopicPartition, set[asyncio.Task[None]]] = {}
        self._in_flight = 0
        self.peak_in_flight = 0
        self._slot_freed = asyncio.Event()
        self._refill_at = max(1, max_in_flight // 16)
        self._stopping = asyncio.Event()
        self._fatal: BaseException | None = None
        self._last_commit = 0.0
        self._last_lag = 0.0
        self.processed = 0
        self.running = False
        self.assigned = asyncio.Event()
        self._in_flight_gauge = IN_FLIGHT.labels(service)  # labelled once, not per message

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def start(self) -> None:
        await self._consumer.start()

    async def run(self) -> None:
        self._consumer.subscribe([self._topic], listener=_Listener(self))
        self.running = True
        try:
            while not self._stopping.is_set() and self._fatal is None:
                free = self._max_in_flight - self._in_flight
                if free < self._refill_at:
                    # Nearly full: wait for a batch of free slots rather than fetching one record at a time.
                    self._slot_freed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._slot_freed.wait(), timeout=0.5)
                    await self._commit_due()
                    free = self._max_in_flight - self._in_flight
                    if free <= 0:
                        continue
                batches = await self._consumer.getmany(timeout_ms=100, max_records=free)
                for tp, records in batches.items():
                    offsets = self._offsets.setdefault(tp, PartitionOffsets())
                    for record in records:
                        self._start(tp, offsets, record)
                await self._commit_due()
        finally:
            self.running = False
        if self._fatal is not None:
            raise RuntimeError("a record could not be handled; stopping without committing it") from self._fatal

    def stop(self) -> None:
        self._stopping.set()

    async def drain_and_close(self) -> None:
        """Wait (bounded) for everything in flight, commit what is finished, and leave the group."""
        pending = [t for tasks in self._tasks.values() for t in tasks]
        if pending:
            log.info("draining in-flight messages", extra={"in_flight": len(pending)})
            await asyncio.wait(pending, timeout=self._drain_timeout)
        with contextlib.suppress(KafkaError):
            await self._commit(force=True)
        await self._consumer.stop()

    # processing ------------------------------------------------------------------------------------

    def _start(self, tp: TopicPartition, offsets: PartitionOffsets, record: Any) -> None:
        offsets.started(record.offset)
        self._in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        self._in_flight_gauge.set(self._in_flight)
        task = asyncio.create_task(self._process(offsets, record))
        tasks = self._tasks.setdefault(tp, set())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _process(self, offsets: PartitionOffsets, record: Any) -> None:
        try:
            await self._handle(record)
        except Exception as exc:  # publishing failed: never mark the record done
            log.exception("handling a record failed fatally", extra={"offset": record.offset})
            self._fatal = self._fatal or exc
            self._stopping.set()
            return
        else:
            offsets.finished(record.offset)
            self.processed += 1
        finally:
            self._in_flight -= 1
            self._in_flight_gauge.set(self._in_flight)
            if self._max_in_flight - self._in_flight >= self._refill_at:
                self._slot_freed.set()

    # commits ---------------------------------------------------------------------------------------

    async def _commit_due(self) -> None:
        now = time.monotonic()
        if now - self._last_commit >= self._commit_interval:
            self._last_commit = now
            try:
                await self._commit()
            except CommitFailedError:
                log.warning("commit failed (rebalance in progress); will retry")
        if now - self._last_lag >= 5.0:
            self._last_lag = now
            await record_consumer_lag(self._service, self._consumer)

    async def _commit(self, partitions: set[TopicPartition] | None = None, force: bool = False) -> None:
        due = {
            tp: o
            for tp, o in self._offsets.items()
            if (partitions is None or tp in partitions) and o.committable is not None and (force or o.needs_commit())
        }
        if not due:
            return
        await self._consumer.commit({tp: OffsetAndMetadata(o.committable, "") for tp, o in due.items()})
        for o in due.values():
            o.committed = o.committable

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        pending = [t for tp in revoked for t in self._tasks.get(tp, ())]
        if pending:
            await asyncio.wait(pending, timeout=self._drain_timeout)
        try:
            await self._commit(revoked)
        except KafkaError:
            log.warning("commit of revoked partitions failed; their unfinished records will be redelivered")
        for tp in revoked:
            self._offsets.pop(tp, None)

    async def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        for tp in assigned:
            self._offsets[tp] = PartitionOffsets()
        if self._on_assigned_hook is not None:
            await self._on_assigned_hook()
        self.assigned.set()
