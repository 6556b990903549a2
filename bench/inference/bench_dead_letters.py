"""Dead letters per second under a garbage flood, and the good traffic beside it (issue 9).

Starts the fake provider and one inference worker (as bench_inference.py does), then at the same time:
  * floods half of byok.prompt.requests' partitions with --bad records that are not JSON (each one must
    become a byok.dlq entry), as fast as the producer can;
  * sends --good valid prompts at --rate per second to the other half of the partitions.
Prints:
  dead_letters_per_s        --bad / (last dead letter seen - first garbage published)
  worker_cpu_ms_per_letter  the worker's CPU over the flood / --bad (good prompts included, they are few)
  good_latency_ms_p50/p99   publish -> final response of the good prompts sent during the flood
  good_answered             all of them must be answered: a flood must not starve other partitions

  uv run python bench/inference/bench_dead_letters.py --bad 20000 --good 500 --rate 50
Needs the local stack (.run/stack.env).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from typing import Any

import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from bench_inference import cpu_seconds, run
from byok_core.kafka import topic_partitions

GARBAGE = b"\xff\xfe this is not JSON {{{ " + b"x" * 200


async def tail(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=50
    )
    await consumer.start()
    parts = await topic_partitions({"bootstrap_servers": bootstrap}, [topic])
    consumer.assign(parts)
    await consumer.seek_to_end(*parts)
    for tp in parts:
        await consumer.position(tp)
    return consumer


async def flood(
    args: argparse.Namespace, bootstrap: str, tag: str, worker: subprocess.Popen[bytes], _metrics: int, _fake: int
) -> dict[str, Any]:
    dlq = await tail(bootstrap, "byok.dlq")
    responses = await tail(bootstrap, "byok.prompt.responses")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all", max_batch_size=256 * 1024)
    await producer.start()
    partitions = sorted(await producer.partitions_for("byok.prompt.requests"))
    bad_parts, good_parts = partitions[: len(partitions) // 2], partitions[len(partitions) // 2 :]
    letters: list[float] = []
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}
    prefix = f"bad-{tag}-".encode()

    async def read_letters() -> None:
        while len(letters) < args.bad:
            for records in (await dlq.getmany(timeout_ms=200, max_records=10000)).values():
                now = time.perf_counter()
                letters.extend(now for r in records if r.key and r.key.startswith(prefix))

    async def read_answers() -> None:
        while len(answered) < args.good:
            for records in (await responses.getmany(timeout_ms=200, max_records=10000)).values():
                now = time.perf_counter()
                for r in records:
                    if (
                        r.key
                        and r.key.decode() in sent
                        and dict(r.headers).get("byok-status") in (b"completed", b"failed")
                    ):
                        answered.setdefault(r.key.decode(), now)

    async def send_garbage() -> None:
        for i in range(args.bad):
            await producer.send(
                "byok.prompt.requests", GARBAGE, key=prefix + str(i).encode(), partition=bad_parts[i % len(bad_parts)]
            )
        await producer.flush()

    async def send_good() -> None:
        started = time.perf_counter()
        for i in range(args.good):
            rid = f"good-{tag}-{i}"
            body = {
                "schema": "byok.prompt.request/v1",
                "request_id": rid,
                "tenant_id": f"bench{tag}",
                "model": "gpt-4.1",
                "byok_mode": "disabled",
                "max_tokens": 16,
                "messages": [{"role": "user", "content": "hello"}],
            }
            await producer.send(
                "byok.prompt.requests",
                json.dumps(body).encode(),
                key=rid.encode(),
                partition=good_parts[i % len(good_parts)],
            )
            sent[rid] = time.perf_counter()
            ahead = (i + 1) / args.rate - (time.perf_counter() - started)
            if ahead > 0.0005:
                await asyncio.sleep(ahead)

    print("worker up; flooding", file=sys.stderr)
    readers = [asyncio.create_task(read_letters()), asyncio.create_task(read_answers())]
    cpu_start, started = cpu_seconds(worker.pid), time.perf_counter()
    await asyncio.gather(send_garbage(), send_good())
    try:
        await asyncio.wait_for(asyncio.gather(*readers), timeout=args.timeout)
    except TimeoutError:
        print(
            f"timed out: {len(letters)}/{args.bad} dead letters, {len(answered)}/{args.good} answers", file=sys.stderr
        )
        raise
    cpu = cpu_seconds(worker.pid) - cpu_start
    await producer.stop()
    await dlq.stop()
    await responses.stop()
    latencies = sorted((answered[r] - sent[r]) * 1000 for r in answered)
    flood_seconds = max(letters) - started
    return {
        "bad_records": args.bad,
        "dead_letters_seen": len(letters),
        "dead_letters_per_s": round(args.bad / flood_seconds, 1),
        "worker_cpu_ms_per_letter": round(cpu * 1000 / args.bad, 3),
        "good_sent": args.good,
        "good_answered": len(answered),
        "good_answered_during_flood": sum(1 for t in answered.values() if t <= max(letters)),
        "good_latency_ms_p50": round(statistics.median(latencies), 1),
        "good_latency_ms_p99": round(latencies[int(len(latencies) * 0.99) - 1], 1),
        "flood_seconds": round(flood_seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bad", type=int, default=20000)
    parser.add_argument("--good", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50, help="good prompts per second during the flood")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--fake-port", type=int, default=18932)
    parser.add_argument("--metrics-port", type=int, default=19132)
    args = parser.parse_args()
    # what bench_inference.run expects of its arguments
    args.latency_ms, args.provider, args.max_in_flight, args.key_store, args.profile = 0, "openai", 512, "", ""
    print(json.dumps(uvloop.run(run(args, measure_with=flood)), indent=2))


if __name__ == "__main__":
    main()
