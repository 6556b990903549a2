"""The producer client's round trip through the running services (`make up` first; fake providers at 0 ms).

  .venv/bin/python bench/client/client_round_trip.py --n 2000 --concurrency 64

Prints prompts/s, the publish-to-answer latency p50/p99 as the client sees it, the client's CPU ms per
prompt and its peak RSS, and how many response records its reply partition carried versus the topic.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
import uuid

from aiokafka import AIOKafkaConsumer
from byok_client import ByokClient, KafkaConfig
from byok_events import topics


async def _ends(kafka: KafkaConfig) -> dict[int, int]:
    consumer = AIOKafkaConsumer(topics.PROMPT_RESPONSES, **kafka.aiokafka_options(), group_id=None)
    await consumer.start()
    try:
        return {tp.partition: o for tp, o in (await consumer.end_offsets(list(consumer.assignment()))).items()}
    finally:
        await consumer.stop()


async def run(n: int, concurrency: int, model: str) -> None:
    kafka = KafkaConfig.from_env()
    before = await _ends(kafka)
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    async with ByokClient(kafka=kafka, tenant_id=f"bench-{uuid.uuid4().hex[:6]}", timeout=120) as client:
        await client.complete(model, "warm up")

        async def one(i: int) -> None:
            async with gate:
                started = time.perf_counter()
                await client.complete(model, f"prompt {i}", max_tokens=20)
                latencies.append(time.perf_counter() - started)

        cpu0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        partition = client.reply_partition
    after = await _ends(kafka)
    mine = after[partition] - before[partition]
    total = sum(after.values()) - sum(before.values())
    latencies.sort()
    print(f"prompts            {n} ({concurrency} in flight, model {model})")
    print(f"prompts/s          {n / wall:,.0f}")
    p50, p99 = statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]
    print(f"latency p50 / p99  {p50 * 1000:.1f} ms / {p99 * 1000:.1f} ms")
    print(f"client CPU/prompt  {cpu / n * 1000:.2f} ms")
    print(f"client peak RSS    {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"records read       {mine} on reply partition {partition} of {total} on the topic in the same time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--model", default="gpt-4.1")
    args = parser.parse_args()
    asyncio.run(run(args.n, args.concurrency, args.model))


if __name__ == "__main__":
    main()
