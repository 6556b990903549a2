"""The one at-least-once consumer runner, on aiokafka, in two modes.

In-flight mode (`handle=`): up to `max_in_flight` records are processed at once, a task each; when full,
fetching waits. Per partition the committed offset only moves past a record once it and every earlier record
of the partition are finished (offsets.py), so a kill -9 re-delivers exactly the unfinished ones.

Batch mode (`batches=`): each fetch is one batch: prepared (CPU, while the previous batch is still being
written), then finished (written), strictly in order, then committed. A batch that fails is split in two
and each half retried, down to the single record, so every good record is written and only the bad one is
dead-lettered. A failure the handler calls transient (its database is down) retries the batch as it is.

Both modes: whatever a record holds, it ends as the handler's outcome or as a dead letter; an exception from
the handler (OverflowError, RecursionError, an SDK's ValueError, ...) dead-letters the record with a reason
and the consumer goes on. The one fatal error is PublishFailed (the broker does not take our writes, the
dead letter included): moving on cannot fix it, so the runner stops without committing that record and
run() raises; the restarted process resumes from it. Revoked partitions are drained (bounded) and
committed before they move; stop() drains everything in flight, commits, and leaves the group.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from ..observability import IN_FLIGHT, MESSAGES, record_consumer_lag
from .dead_letters import DeadLetters, record_key
from .errors import PublishFailed, RecordRejected
from .offsets import PartitionOffsets

log = logging.getLogger("byok.kafka.runner")

RecordHandler = Callable[[Any], Awaitable[None]]


class BatchHandler(Protocol):
    def prepare(self, records: list[Any]) -> Any:
        """CPU only (decode, validate, price): runs while the previous batch is being finished."""
        ...

    async def finish(self, prepared: Any) -> None:
        """Write the prepared batch; returns once it is durable (the offsets are committed after it)."""
        ...

    def transient(self, exc: BaseException) -> bool:
        """True when retrying the same batch later can succeed (a database that is down)."""
        ...


class DeadLetterSink(Protocol):
    async def dead_letter(self, letter: Any, key: bytes | None) -> None: ...


def failure_reason(exc: BaseException) -> str:
    """A dead letter's reason for a record the handler could not take (the factory redacts and cuts it)."""
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"unprocessable: {type(exc).__name__}" + (f": {text}" if text else "")


class _Listener(ConsumerRebalanceListener):
    def __init__(self, runner: ConsumerRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._runner._on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self._runner._on_assigned(set(assigned))


_UNPREPARED = object()


class ConsumerRunner:
    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        topics: Sequence[str],
        *,
        dead_letters: DeadLetters,
        sink: DeadLetterSink,
        handle: RecordHandler | None = None,
        batches: BatchHandler | None = None,
        service: str,
        max_in_flight: int = 512,
        max_batch: int | None = None,
        commit_interval: float = 0.2,
        poll_ms: int = 100,
        drain_timeout: float = 30.0,
        retry_delay: tuple[float, float] = (0.5, 30.0),
        on_assigned: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        if (handle is None) == (batches is None):
            raise ValueError("give either handle= (in-flight mode) or batches= (batch mode)")
        self._consumer = consumer
        self._topics = list(topics)
        self._dead_letters = dead_letters
        self._sink = sink
        self._handle = handle
        self._batches = batches
        self._service = service
        self._max_in_flight = max_in_flight
        self._max_batch = max_batch or max_in_flight
        self._commit_interval = commit_interval
        self._poll_ms = poll_ms
        self._drain_timeout = drain_timeout
        self._retry_delay = retry_delay
        self._on_assigned_hook = on_assigned
        self._offsets: dict[TopicPartition, PartitionOffsets] = {}
        self._tasks: dict[TopicPartition, set[asyncio.Task[None]]] = {}
        self._previous_batch: asyncio.Task[None] | None = None
        # Batch mode holds at most this many unfinished batches (2: one written while the next is prepared).
        # Fetching a new batch for every poll instead queued hundreds of small batches behind one another at a
        # moderate steady rate (each finishing in its own transaction, strictly in order), so the consumer fell
        # behind with most of its records fetched but unfinished; waiting lets the next batch take everything
        # that arrived meanwhile (soak: lag of 10,000 records in 30 s cycles at 690 usage events/s, now flat).
        self._pending_batches: collections.deque[asyncio.Task[None]] = collections.deque()
        self._max_pending_batches = max(1, max_in_flight // self._max_batch)
        self._in_flight = 0
        self.peak_in_flight = 0
        self._slot_freed = asyncio.Event()
        self._refill_at = max(1, max_in_flight // 16) if batches is None else min(self._max_batch, max_in_flight)
        self._stopping = asyncio.Event()
        self._fatal: BaseException | None = None
        self._commit_lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None
        self._last_commit = 0.0
        self._last_lag = 0.0
        self.heartbeat = time.monotonic()
        self.processed = 0
        self.dead_lettered = 0
        self.running = False
        self.assigned = asyncio.Event()
        self._in_flight_gauge = IN_FLIGHT.labels(service)  # labelled once, not per message
        self._dlq_counter = {t: MESSAGES.labels(service, t, "dead_letter") for t in self._topics}

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def consumer(self) -> AIOKafkaConsumer:
        return self._consumer

    def alive(self, within: float = 60.0) -> bool:
        return time.monotonic() - self.heartbeat < within

    async def start(self) -> None:
        await self._consumer.start()

    async def run(self) -> None:
        self._consumer.subscribe(self._topics, listener=_Listener(self))
        self.running = True
        try:
            while not self._stopping.is_set() and self._fatal is None:
                self.heartbeat = time.monotonic()
                free = self._max_in_flight - self._in_flight
                if free < self._refill_at:
                    # Nearly full: wait for a batch of free slots rather than fetching one record at a time.
                    self._slot_freed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._slot_freed.wait(), timeout=self._poll_ms / 1000)
                    await self._commit_due()
                    free = self._max_in_flight - self._in_flight
                    if free <= 0 or (self._batches is not None and free < self._refill_at):
                        continue
                if self._batches is None:
                    fetched = await self._fetch_fairly(min(free, self._max_batch))
                elif not await self._batch_slot():
                    await self._commit_due()
                    continue
                else:
                    fetched = await self._consumer.getmany(
                        timeout_ms=self._poll_ms, max_records=min(free, self._max_batch)
                    )
                if self._batches is None:
                    for tp, records in fetched.items():
                        offsets = self._offsets.setdefault(tp, PartitionOffsets())
                        for record in records:
                            self._start_record(tp, offsets, record)
                elif fetched:
                    self._start_batch(fetched)
                await self._commit_due()
        finally:
            self.running = False
        if self._fatal is not None:
            if not isinstance(self._fatal, Exception):
                raise self._fatal
            raise RuntimeError("the broker did not take a write; stopping without committing") from self._fatal

    def stop(self) -> None:
        self._stopping.set()

    async def drain_and_close(self) -> None:
        """Wait (bounded) for everything in flight, commit what is finished, and leave the group."""
        pending = {t for tasks in self._tasks.values() for t in tasks}
        if pending:
            log.info("draining in-flight messages", extra={"in_flight": len(pending)})
            _, late = await asyncio.wait(pending, timeout=self._drain_timeout)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=5)
        if self._background is not None:
            await asyncio.gather(self._background, return_exceptions=True)
        with contextlib.suppress(KafkaError):
            await self._commit(force=True)
        await self._consumer.stop()

    # in-flight mode --------------------------------------------------------------------------------

    async def _fetch_fairly(self, room: int) -> dict[TopicPartition, list[Any]]:
        """Up to `room` records, at most an equal share from each partition. aiokafka hands out buffered
        records partition by partition, so one partition's backlog (a flood of garbage) would otherwise
        fill every free slot while the records of the other partitions wait behind it."""
        assignment = self._consumer.assignment()
        share = max(1, room // max(1, len(assignment)))
        fetched = await self._consumer.getmany(timeout_ms=self._poll_ms, max_records=share)
        if len(assignment) > 1 and sum(len(r) for r in fetched.values()) >= share:
            for tp in assignment:  # the first call hit its share: there may be more elsewhere
                if tp not in fetched:
                    more = await self._consumer.getmany(tp, timeout_ms=0, max_records=share)
                    if more.get(tp):
                        fetched[tp] = more[tp]
        return fetched

    def _start_record(self, tp: TopicPartition, offsets: PartitionOffsets, record: Any) -> None:
        if not offsets.started(record.offset):
            return
        self._took(1)
        self._track(asyncio.create_task(self._process(offsets, record)), (tp,))

    async def _process(self, offsets: PartitionOffsets, record: Any) -> None:
        try:
            assert self._handle is not None
            try:
                await self._handle(record)
            except PublishFailed:
                raise
            except Exception as exc:
                await self._dead_letter(record, exc)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._fail(exc, record)
        else:
            offsets.finished(record.offset)
            self.processed += 1
        finally:
            self._released(1)

    # batch mode ------------------------------------------------------------------------------------

    def _start_batch(self, fetched: dict[TopicPartition, list[Any]]) -> None:
        assert self._batches is not None
        records: list[Any] = []
        for tp in list(fetched):
            offsets = self._offsets.setdefault(tp, PartitionOffsets())
            fetched[tp] = [record for record in fetched[tp] if offsets.started(record.offset)]
            records.extend(fetched[tp])
        fetched = {tp: items for tp, items in fetched.items() if items}
        if not records:
            return
        try:
            prepared = self._batches.prepare(records)
        except Exception:
            prepared = _UNPREPARED
        self._took(len(records))
        task = asyncio.create_task(self._process_batch(fetched, records, prepared, self._previous_batch))
        self._previous_batch = task
        self._pending_batches.append(task)
        self._track(task, tuple(fetched))

    async def _batch_slot(self) -> bool:
        """True when another batch may start now; else waits (bounded by a poll) for the oldest to finish."""
        while self._pending_batches and self._pending_batches[0].done():
            self._pending_batches.popleft()
        if len(self._pending_batches) < self._max_pending_batches:
            return True
        await asyncio.wait([self._pending_batches[0]], timeout=self._poll_ms / 1000)
        return False

    async def _process_batch(
        self,
        fetched: dict[TopicPartition, list[Any]],
        records: list[Any],
        prepared: Any,
        previous: asyncio.Task[None] | None,
    ) -> None:
        try:
            if previous is not None:  # batches finish strictly in order
                await asyncio.wait([previous])
            if self._fatal is not None:
                return
            await self._settle(records, prepared)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._fail(exc, records[0])
        else:
            for tp, items in fetched.items():
                offsets = self._offsets.get(tp)
                if offsets is not None:
                    for record in items:
                        offsets.finished(record.offset)
            self.processed += len(records)
            with contextlib.suppress(KafkaError):
                await self._commit(set(fetched))  # a batch is handled, then committed
        finally:
            self._released(len(records))

    async def _settle(self, records: list[Any], prepared: Any) -> None:
        """Finish the batch; on failure split it in two, down to the one record to dead-letter."""
        assert self._batches is not None
        delay, max_delay = self._retry_delay
        while True:
            try:
                if prepared is _UNPREPARED:
                    prepared = self._batches.prepare(records)
                await self._batches.finish(prepared)
                return
            except PublishFailed:
                raise
            except Exception as exc:
                if self._batches.transient(exc):  # until it can be written, or drain_and_close cancels it
                    log.warning(
                        "batch failed; retrying it", extra={"records": len(records), "error": type(exc).__name__}
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, max_delay)
                    prepared = _UNPREPARED
                    continue
                failure = exc
                break
        if len(records) == 1:
            await self._dead_letter(records[0], failure)
            return
        log.warning("batch failed; splitting it", extra={"records": len(records), "error": type(failure).__name__})
        middle = len(records) // 2
        await self._settle(records[:middle], _UNPREPARED)
        await self._settle(records[middle:], _UNPREPARED)

    # shared ----------------------------------------------------------------------------------------

    async def _dead_letter(self, record: Any, exc: BaseException) -> None:
        log.warning(
            "record sent to the dead letters",
            extra={
                "topic": getattr(record, "topic", ""),
                "partition": getattr(record, "partition", -1),
                "offset": getattr(record, "offset", -1),
                "error": type(exc).__name__,
            },
        )
        letter = self._dead_letters.build(record, failure_reason(exc))
        try:
            try:
                await self._sink.dead_letter(letter, record_key(record))
            except RecordRejected:  # too large even truncated (4-byte characters): keep a short excerpt
                short = DeadLetters(max_payload_chars=4096).build(record, failure_reason(exc))
                await self._sink.dead_letter(short, record_key(record))
        except PublishFailed:
            raise
        except Exception as failure:  # a dead letter that cannot be written is the broker's refusal
            raise PublishFailed(f"dead letter not written: {type(failure).__name__}") from failure
        self.dead_lettered += 1
        counter = self._dlq_counter.get(getattr(record, "topic", ""))
        if counter is not None:
            counter.inc()

    def _fail(self, exc: BaseException, record: Any) -> None:
        log.error(
            "the broker did not take a write; stopping without committing",
            extra={"offset": getattr(record, "offset", -1), "error": type(exc).__name__},
        )
        self._fatal = self._fatal or exc
        self._stopping.set()

    def _took(self, count: int) -> None:
        self._in_flight += count
        self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        self._in_flight_gauge.set(self._in_flight)

    def _released(self, count: int) -> None:
        self._in_flight -= count
        self._in_flight_gauge.set(self._in_flight)
        if self._max_in_flight - self._in_flight >= self._refill_at:
            self._slot_freed.set()

    def _track(self, task: asyncio.Task[None], partitions: tuple[TopicPartition, ...]) -> None:
        for tp in partitions:
            tasks = self._tasks.setdefault(tp, set())
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def _commit_due(self) -> None:
        """Commits and lag metrics run beside the loop: fetching never waits for their round trips."""
        now = time.monotonic()
        if self._background is not None and not self._background.done():
            return
        if now - self._last_commit >= self._commit_interval:
            self._last_commit = now
            self._background = asyncio.create_task(self._commit_quietly())
        elif now - self._last_lag >= 5.0:
            self._last_lag = now
            self._background = asyncio.create_task(record_consumer_lag(self._service, self._consumer))

    async def _commit_quietly(self) -> None:
        try:
            await self._commit()
        except KafkaError as exc:
            log.warning("commit failed (%s); will retry", type(exc).__name__)

    async def _commit(self, partitions: set[TopicPartition] | None = None, force: bool = False) -> None:
        async with self._commit_lock:
            due = {
                tp: o
                for tp, o in self._offsets.items()
                if (partitions is None or tp in partitions)
                and o.committable is not None
                and (force or o.needs_commit())
            }
            if not due:
                return
            commit = {tp: o.committable for tp, o in due.items()}
            await self._consumer.commit({tp: OffsetAndMetadata(off, "") for tp, off in commit.items()})  # type: ignore[arg-type]
            for tp, off in commit.items():
                due[tp].committed = off

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        pending = {t for tp in revoked for t in self._tasks.get(tp, ())}
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
