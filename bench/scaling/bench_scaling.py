"""Scale-out: prompts/s through the whole pipeline with 1, 2 and 3 inference worker processes in one group.

  .venv/bin/python bench/scaling/bench_scaling.py [--n 10000] [--latency-ms 0] [--workers 3]

The three services run under infra/local/services.sh (a run folder of their own); more workers join the
supervised one's consumer group with its environment. For each worker count: N prompts published flat out,
prompts/s = N / (last final answer - first publish), and the workers' CPU per prompt. On a 2-core machine
that also runs Kafka, the fake provider, billing and this load generator, the cores cap the figures:
they show that the group shares the work, not what more machines would give (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tests.faults.harness import Pipeline, free_port, http_ok, partitions_of, read_env, wait_for  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def burst(pipeline: Pipeline, n: int, worker_pids: list[int]) -> dict[str, float]:
    bootstrap = pipeline.bootstrap
    tag = uuid.uuid4().hex[:8]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await consumer.start()
    await producer.start()
    partitions = await partitions_of(bootstrap, ("byok.prompt.responses",))
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    for tp in partitions:
        await consumer.position(tp)
    answered: set[bytes] = set()
    last = 0.0

    async def read() -> None:
        nonlocal last
        while len(answered) < n:
            for records in (await consumer.getmany(timeout_ms=200, max_records=10000)).values():
                for r in records:
                    if (
                        r.key
                        and r.key.startswith(tag.encode())
                        and dict(r.headers or ()).get("byok-status")
                        in (
                            b"completed",
                            b"failed",
                        )
                    ):
                        answered.add(r.key)
                        last = time.monotonic()

    reader = asyncio.create_task(read())
    cpu_before = sum(cpu_seconds(pid) for pid in worker_pids)
    started = time.monotonic()
    for i in range(n):
        request_id = f"{tag}-{i}"
        body = {
            "schema": "byok.prompt.request/v1",
            "request_id": request_id,
            "tenant_id": f"scale-{tag}",
            "user_id": "u_scale",
            "model": "gpt-4.1-mini",
            "byok_mode": "disabled",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "scale"}],
        }
        await producer.send("byok.prompt.requests", json.dumps(body).encode(), key=request_id.encode())
    await producer.flush()
    await asyncio.wait_for(reader, 600)
    cpu = sum(cpu_seconds(pid) for pid in worker_pids) - cpu_before
    await producer.stop()
    await consumer.stop()
    return {"prompts_per_s": round(n / (last - started), 1), "worker_cpu_ms_per_prompt": round(cpu * 1000 / n, 3)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    run_dir = Path(os.environ.get("BYOK_RUN_DIR", REPO / ".run"))
    own = run_dir / f"scaling-services-{uuid.uuid4().hex[:6]}"
    own.mkdir(parents=True)
    shutil.copy(run_dir / "stack.env", own / "stack.env")
    pipeline = Pipeline(read_env(run_dir / "stack.env"), own, {"BYOK_LOG_LEVEL": "WARNING"})
    await asyncio.to_thread(pipeline.up)
    results = []
    try:
        await pipeline.fake().set_latency(args.latency_ms)
        supervised = pipeline.pid("inference")
        assert supervised is not None
        pids = [supervised]
        await burst(pipeline, min(args.n, 2000), pids)  # warm-up: connections, caches, JIT-free but cold paths
        for count in range(1, args.workers + 1):
            if count > 1:
                port = free_port()
                worker = pipeline.spawn_worker(port)

                async def ready(port: int = port) -> bool:
                    return await http_ok(f"http://127.0.0.1:{port}/healthz")

                await wait_for(ready, 90, f"worker {count}")
                pids.append(worker.pid)
            figures = await burst(pipeline, args.n, pids)
            results.append({"workers": count, **figures})
            print(json.dumps(results[-1]), flush=True)
    finally:
        await asyncio.to_thread(pipeline.down)
    print(f"\n| workers | prompts/s | worker CPU ms/prompt |  (n={args.n}, provider {args.latency_ms:.0f} ms)")
    print("|---|---|---|")
    for row in results:
        print(f"| {row['workers']} | {row['prompts_per_s']} | {row['worker_cpu_ms_per_prompt']} |")


if __name__ == "__main__":
    asyncio.run(main())
