"""The shared consumer runner: every record ends handled or dead-lettered; only a refused write is fatal.

Regression tests for the consumer classes of issue 9: an exception of any kind from a handler (OverflowError
from a timestamp, RecursionError from deep nesting, an SDK's ValueError) used to stop the consumer for good.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiokafka import TopicPartition
from byok_core.kafka import ConsumerRunner, DeadLetters, PublishFailed
from byok_testing.waiting import wait_until
from fakes.kafka import FakeConsumer, FakeDeadLetterSink, Rec, records

TOPIC = "byok.test.in"
TP = TopicPartition(TOPIC, 0)


async def until(condition: Any, timeout: float = 5.0) -> None:
    await wait_until(condition, timeout, interval=0.005)


def in_flight_runner(consumer: FakeConsumer, sink: FakeDeadLetterSink, handle: Any, **kw: Any) -> ConsumerRunner:
    return ConsumerRunner(
        consumer,
        [TOPIC],
        handle=handle,
        dead_letters=DeadLetters(),
        sink=sink,
        service="test",
        commit_interval=0.01,
        poll_ms=10,
        **kw,
    )


async def run_until(runner: ConsumerRunner, condition: Any) -> None:
    task = asyncio.create_task(runner.run())
    try:
        await until(lambda: condition() or task.done())
    finally:
        runner.stop()
        await asyncio.gather(task, return_exceptions=True)
        await runner.drain_and_close()


@pytest.mark.parametrize(
    "error",
    [
        OverflowError("date value out of range"),  # a timestamp whose conversion to UTC overflows
        RecursionError("maximum recursion depth exceeded"),  # deeply nested JSON
        ValueError("invalid model name ?&.."),  # google-genai refusing a model name before any call
        KeyError("x"),
    ],
    ids=["overflow", "recursion", "sdk-value-error", "key-error"],
)
async def test_any_handler_exception_dead_letters_the_record_and_the_consumer_goes_on(error: Exception) -> None:
    consumer, sink = FakeConsumer(), FakeDeadLetterSink()
    consumer.add(records(TOPIC, [b"ok-0", b"poison", b"ok-2", b"ok-3"]))
    handled: list[bytes] = []

    async def handle(record: Rec) -> None:
        if record.value == b"poison":
            raise error
        handled.append(record.value)

    runner = in_flight_runner(consumer, sink, handle)
    await run_until(runner, lambda: consumer.committed.get(TP) == 4)
    assert handled == [b"ok-0", b"ok-2", b"ok-3"]
    [(letter, key)] = sink.letters
    assert (letter.source_topic, letter.partition, letter.offset, key) == (TOPIC, 0, 1, b"k")
    assert letter.reason.startswith(f"unprocessable: {type(error).__name__}") and letter.payload == "poison"
    assert consumer.committed[TP] == 4 and runner.dead_lettered == 1


async def test_a_refused_write_is_fatal_and_the_record_stays_uncommitted() -> None:
    consumer, sink = FakeConsumer(), FakeDeadLetterSink()
    consumer.add(records(TOPIC, [b"ok-0", b"ok-1", b"refused", b"ok-3"]))

    async def handle(record: Rec) -> None:
        if record.value == b"refused":
            raise PublishFailed("byok.prompt.responses: TopicAuthorizationFailedError")

    runner = in_flight_runner(consumer, sink, handle)
    with pytest.raises(RuntimeError) as raised:
        await runner.run()
    assert isinstance(raised.value.__cause__, PublishFailed)
    await runner.drain_and_close()
    assert consumer.committed.get(TP, 0) <= 2, "a restart must read the refused record again"
    assert sink.letters == []


async def test_a_dead_letter_the_broker_refuses_is_fatal() -> None:
    consumer, sink = FakeConsumer(), FakeDeadLetterSink(fail=True)
    consumer.add(records(TOPIC, [b"ok-0", b"poison"]))

    async def handle(record: Rec) -> None:
        if record.value == b"poison":
            raise ValueError("bad")

    runner = in_flight_runner(consumer, sink, handle)
    with pytest.raises(RuntimeError):
        await runner.run()
    await runner.drain_and_close()
    assert consumer.committed.get(TP, 0) <= 1


async def test_many_records_are_in_flight_at_once_and_offsets_commit_past_finished_work_only() -> None:
    consumer, sink = FakeConsumer(), FakeDeadLetterSink()
    consumer.add(records(TOPIC, [str(i).encode() for i in range(50)]))
    release = asyncio.Event()
    started: list[int] = []

    async def handle(record: Rec) -> None:
        started.append(record.offset)
        if record.offset == 10:
            await release.wait()  # the slow one holds the partition's committed offset at 10

    runner = in_flight_runner(consumer, sink, handle, max_in_flight=64)
    task = asyncio.create_task(runner.run())
    await until(lambda: len(started) == 50 and consumer.committed.get(TP) == 10)
    assert runner.peak_in_flight >= 40
    release.set()
    await until(lambda: consumer.committed.get(TP) == 50)
    runner.stop()
    await task
    await runner.drain_and_close()


class Batches:
    """A batch handler whose 'ledger' refuses any batch holding an unwritable record."""

    def __init__(self, transient_failures: int = 0) -> None:
        self.written: list[bytes] = []
        self.attempts = 0
        self.transient_failures = transient_failures

    def prepare(self, recs: list[Rec]) -> list[Rec]:
        for r in recs:
            if r.value == b"unpreparable":
                raise OverflowError("date value out of range")
        return recs

    async def finish(self, prepared: list[Rec]) -> None:
        self.attempts += 1
        if self.transient_failures:
            self.transient_failures -= 1
            raise ConnectionError("database down")
        if any(r.value == b"has\x00nul" for r in prepared):
            raise ValueError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
        self.written.extend(r.value for r in prepared)

    def transient(self, exc: BaseException) -> bool:
        return isinstance(exc, ConnectionError)


def batch_runner(consumer: FakeConsumer, sink: FakeDeadLetterSink, handler: Batches) -> ConsumerRunner:
    return ConsumerRunner(
        consumer,
        [TOPIC],
        batches=handler,
        dead_letters=DeadLetters(),
        sink=sink,
        service="test",
        max_batch=100,
        max_in_flight=200,
        poll_ms=10,
        retry_delay=(0.01, 0.02),
    )


async def test_a_batch_with_an_unwritable_record_is_bisected_down_to_that_record() -> None:
    consumer, sink, handler = FakeConsumer(), FakeDeadLetterSink(), Batches()
    values = [json.dumps({"n": i}).encode() for i in range(40)]
    values[23] = b"has\x00nul"
    values[31] = b"unpreparable"
    consumer.add(records(TOPIC, values))
    runner = batch_runner(consumer, sink, handler)
    await run_until(runner, lambda: consumer.committed.get(TP) == 40)
    assert sorted(handler.written) == sorted(v for i, v in enumerate(values) if i not in (23, 31))
    assert sorted(letter.offset for letter, _ in sink.letters) == [23, 31]
    reasons = {letter.offset: letter.reason for letter, _ in sink.letters}
    assert reasons[23].startswith("unprocessable: ValueError") and reasons[31].startswith(
        "unprocessable: OverflowError"
    )
    assert consumer.committed[TP] == 40


async def test_a_transient_batch_failure_is_retried_not_dead_lettered() -> None:
    consumer, sink, handler = FakeConsumer(), FakeDeadLetterSink(), Batches(transient_failures=3)
    consumer.add(records(TOPIC, [b"a", b"b", b"c"]))
    runner = batch_runner(consumer, sink, handler)
    await run_until(runner, lambda: consumer.committed.get(TP) == 3)
    assert handler.written == [b"a", b"b", b"c"] and handler.attempts == 4 and sink.letters == []


async def test_batches_are_finished_in_order_and_committed_after_each() -> None:
    consumer, sink, handler = FakeConsumer(), FakeDeadLetterSink(), Batches()
    consumer.add(records(TOPIC, [str(i).encode() for i in range(350)]))
    runner = batch_runner(consumer, sink, handler)
    await run_until(runner, lambda: consumer.committed.get(TP) == 350)
    assert handler.written == [str(i).encode() for i in range(350)]


async def test_at_a_steady_rate_batches_grow_instead_of_queueing_behind_each_other() -> None:
    """Records arrive one every 2 ms; writing a batch takes 30 ms. The runner holds at most two unfinished
    batches (one written, the next prepared) and the next fetch takes everything that arrived meanwhile.
    (Before: a new batch per 10 ms poll, each waiting for the one before it, so the consumer kept ~3 records
    per 30 ms, fell behind, and had almost everything fetched but unfinished.)"""
    consumer, sink = FakeConsumer(), FakeDeadLetterSink()
    sizes: list[int] = []
    unfinished = 0
    most_unfinished = 0

    class SlowWrites(Batches):
        def prepare(self, recs: list[Rec]) -> list[Rec]:
            nonlocal unfinished, most_unfinished
            unfinished += 1
            most_unfinished = max(most_unfinished, unfinished)
            return recs

        async def finish(self, prepared: list[Rec]) -> None:
            nonlocal unfinished
            await asyncio.sleep(0.03)
            sizes.append(len(prepared))
            self.written.extend(r.value for r in prepared)
            unfinished -= 1

    n = 300

    async def feed() -> None:
        for i in range(n):
            consumer.add(records(TOPIC, [str(i).encode()], start=i))
            await asyncio.sleep(0.002)

    feeder = asyncio.create_task(feed())
    handler = SlowWrites()
    runner = batch_runner(consumer, sink, handler)
    await run_until(runner, lambda: consumer.committed.get(TP) == n)
    await feeder
    assert handler.written == [str(i).encode() for i in range(n)]
    assert most_unfinished <= 2, f"{most_unfinished} batches were unfinished at once"
    assert len(sizes) < n / 5 and max(sizes) > 10, sizes


async def test_a_refused_write_in_batch_mode_is_fatal_and_uncommitted() -> None:
    consumer, sink = FakeConsumer(), FakeDeadLetterSink()

    class Refusing(Batches):
        async def finish(self, prepared: list[Rec]) -> None:
            raise PublishFailed("byok.billing.charges: KafkaTimeoutError")

    consumer.add(records(TOPIC, [b"a", b"b"]))
    runner = batch_runner(consumer, sink, Refusing())
    with pytest.raises(RuntimeError):
        await runner.run()
    await runner.drain_and_close()
    assert TP not in consumer.committed and sink.letters == []


async def test_a_backlog_on_one_partition_does_not_hold_back_the_others() -> None:
    """Issue 9: a flood of garbage on some partitions must not starve the good records of the others."""
    consumer, sink = FakeConsumer(), FakeDeadLetterSink()
    consumer.add(records(TOPIC, [b"garbage"] * 2000, partition=0))
    consumer.add(records(TOPIC, [b"good"], partition=1))
    order: list[bytes] = []

    async def handle(record: Rec) -> None:
        order.append(record.value)

    consumer.assigned = {TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)}  # as after a rebalance
    runner = in_flight_runner(consumer, sink, handle, max_in_flight=64)
    await run_until(runner, lambda: consumer.committed.get(TopicPartition(TOPIC, 1)) == 1)
    assert order.index(b"good") <= 32, "the good record came with the first fetch, not after the backlog"
