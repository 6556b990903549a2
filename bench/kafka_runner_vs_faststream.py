"""Why the inference worker consumes through the shared runner rather than a FastStream subscriber.

Publishes --n records to a fresh topic-group pair on byok.prompt.requests, then consumes them with a handler
that waits --latency-ms (a provider call) in three ways, each at-least-once or not as noted, and prints
records/s and the peak number of records in flight:
  faststream_ack        FastStream subscriber, AckPolicy.ACK (commit after the handler), max_workers=W:
                        FastStream runs W consumers in the group, one record at a time each, so in flight is
                        capped by the partition count (12)
  faststream_ack_first  the same with ACK_FIRST: concurrent, but the offset is committed before handling
                        (at-most-once: a crash loses what was in flight)
  runner                byok_core.kafka.ConsumerRunner, max_in_flight=512, offsets committed past finished work

  uv run python bench/kafka_runner_vs_faststream.py --n 3000 --latency-ms 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata
from byok_core.kafka import ConsumerRunner, DeadLetters, make_broker, topic_partitions
from byok_core.settings import KafkaSettings
from faststream import AckPolicy

TOPIC = "byok.prompt.requests"
REPO = Path(__file__).resolve().parents[1]


def bootstrap() -> str:
    env = Path(os.environ.get("BYOK_RUN_DIR", REPO / ".run")) / "stack.env"
    return next(
        line.split("=", 1)[1] for line in env.read_text().splitlines() if line.startswith("BYOK_KAFKA_BOOTSTRAP=")
    )


async def park(servers: str, group: str) -> None:
    parts = await topic_partitions({"bootstrap_servers": servers}, [TOPIC])
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=group, enable_auto_commit=False)
    await consumer.start()
    consumer.assign(parts)
    ends = await consumer.end_offsets(parts)
    await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in ends.items()})
    await consumer.stop()


async def publish(servers: str, n: int, tag: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=servers, linger_ms=5)
    await producer.start()
    for i in range(n):
        await producer.send(TOPIC, b"{}", key=f"{tag}-{i}".encode())
    await producer.flush()
    await producer.stop()


class Probe:
    def __init__(self, n: int, latency: float) -> None:
        self.n, self.latency, self.done, self.in_flight, self.peak = n, latency, 0, 0, 0
        self.finished = asyncio.Event()

    async def handle(self, *_: object) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(self.latency)
        self.in_flight -= 1
        self.done += 1
        if self.done >= self.n:
            self.finished.set()


async def with_faststream(servers: str, args: argparse.Namespace, policy: AckPolicy) -> dict[str, object]:
    group, tag = f"bench-fs-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:8]
    await park(servers, group)
    probe = Probe(args.n, args.latency_ms / 1000)
    broker = make_broker(KafkaSettings(bootstrap=servers))
    broker.subscriber(TOPIC, group_id=group, ack_policy=policy, max_workers=args.workers)(probe.handle)
    await broker.start()
    await publish(servers, args.n, tag)
    started = time.perf_counter()
    await asyncio.wait_for(probe.finished.wait(), args.timeout)
    elapsed = time.perf_counter() - started
    await broker.stop()
    return {"records_per_s": round(args.n / elapsed, 1), "peak_in_flight": probe.peak}


async def with_runner(servers: str, args: argparse.Namespace) -> dict[str, object]:
    group, tag = f"bench-rn-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:8]
    await park(servers, group)
    probe = Probe(args.n, args.latency_ms / 1000)
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=group, enable_auto_commit=False)

    class NoSink:
        async def dead_letter(self, *_: object) -> None:
            raise AssertionError("no dead letters expected")

    runner = ConsumerRunner(
        consumer,
        [TOPIC],
        handle=probe.handle,
        dead_letters=DeadLetters(),
        sink=NoSink(),
        service="bench",
        max_in_flight=512,
    )
    await runner.start()
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(runner.assigned.wait(), 60)
    await publish(servers, args.n, tag)
    started = time.perf_counter()
    await asyncio.wait_for(probe.finished.wait(), args.timeout)
    elapsed = time.perf_counter() - started
    runner.stop()
    await task
    await runner.drain_and_close()
    return {"records_per_s": round(args.n / elapsed, 1), "peak_in_flight": probe.peak}


async def main(args: argparse.Namespace) -> None:
    servers = bootstrap()
    result = {
        "latency_ms": args.latency_ms,
        "n": args.n,
        "faststream_ack": await with_faststream(servers, args, AckPolicy.ACK),
        "faststream_ack_first": await with_faststream(servers, args, AckPolicy.ACK_FIRST),
        "runner": await with_runner(servers, args),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=300)
    asyncio.run(main(parser.parse_args()))
