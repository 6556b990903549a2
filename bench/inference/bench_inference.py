"""Inference worker throughput and added latency, end to end over the real Kafka broker.

Starts the fake provider (its own process, fixed latency) and one worker process, publishes N prompts with
aiokafka as fast as it can, reads the responses, and prints:
  prompts/s           N / (last final response - first publish)
  added latency       publish-to-response minus the provider's configured latency, p50/p99
  peak in-flight      sampled from the worker's /metrics (byok_in_flight)
  peak RSS            of the worker process (/proc/<pid>/status VmRSS)
  CPU ms per prompt   of the worker and of the fake provider (/proc/<pid>/stat utime+stime), from the first
                      publish to the last response: less noisy than prompts/s on a shared machine

  uv run python bench/inference/bench_inference.py --latency-ms 0 --n 20000
  uv run python bench/inference/bench_inference.py --latency-ms 500 --n 10000
Needs the local stack (.run/stack.env: Kafka, Vault with the inference token).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata
from byok_core.kafka import topic_partitions

REPO = Path(__file__).resolve().parents[2]
MODELS = {
    "openai": "gpt-4.1",
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-2.5-flash",
    "openrouter": "openrouter/openai/gpt-4.1",
}


def stack_env() -> dict[str, str]:
    """The stack's coordinates; with only kafka.env (no Vault yet), the worker runs with key store "env"."""
    run_dir = Path(os.environ.get("BYOK_RUN_DIR", REPO / ".run"))
    path = run_dir / "stack.env"
    if not path.exists():
        path = run_dir / "kafka.env"
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, _, v = line.removeprefix("export ").partition("=")
            values[k.strip()] = v.strip().strip("'\"")
    return values


def cpu_split(pid: int) -> tuple[float, float]:
    """utime and stime of a process, seconds (the worker's CPU is less noisy than prompts/s on a shared machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    return sum(cpu_split(pid))


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def park_group_at_end(bootstrap: str, group: str) -> None:
    parts = await topic_partitions({"bootstrap_servers": bootstrap}, ["byok.prompt.requests"])
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    consumer.assign(parts)
    ends = await consumer.end_offsets(parts)
    await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in ends.items()})
    await consumer.stop()


async def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(url)


async def run(args: argparse.Namespace, measure_with: Any = None) -> dict[str, object]:
    """Start the fake provider and one worker, run `measure_with` (default: measure) against them."""
    env = stack_env()
    bootstrap = env["BYOK_KAFKA_BOOTSTRAP"]
    tag = uuid.uuid4().hex[:8]
    group = f"bench-{tag}"
    fake_port, metrics_port = args.fake_port, args.metrics_port
    await park_group_at_end(bootstrap, group)
    fake = subprocess.Popen(  # noqa: ASYNC220
        [
            sys.executable,
            "-m",
            "byok_testing.fake_providers",
            "--port",
            str(fake_port),
            "--latency-ms",
            str(args.latency_ms),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = f"http://127.0.0.1:{fake_port}"
    worker_env = {
        **os.environ,
        "BYOK_KAFKA_BOOTSTRAP": bootstrap,
        "BYOK_VAULT_ADDR": env.get("BYOK_VAULT_ADDR", ""),
        "BYOK_VAULT_TOKEN": env.get("BYOK_VAULT_TOKEN_INFERENCE", ""),
        "BYOK_INFERENCE_KEY_STORE": args.key_store or ("vault" if "BYOK_VAULT_ADDR" in env else "env"),
        "BYOK_ANTHROPIC_BASE_URL": root,
        "BYOK_OPENAI_BASE_URL": f"{root}/v1",
        "BYOK_GEMINI_BASE_URL": root,
        "BYOK_OPENROUTER_BASE_URL": f"{root}/api/v1",
        f"BYOK_SYSTEM_{args.provider.upper()}_API_KEY": "bench-key",
        "BYOK_INFERENCE_GROUP_ID": group,
        "BYOK_INFERENCE_METRICS_PORT": str(metrics_port),
        "BYOK_INFERENCE_MAX_IN_FLIGHT": str(args.max_in_flight),
        "BYOK_LOG_LEVEL": "WARNING",
        "BYOK_INFERENCE_DEDUPE_WINDOW_SECONDS": str(args.dedupe_window),
    }
    if os.environ.get("BYOK_BENCH_WORKER_PYTHONPATH"):  # A/B: run another checkout's worker under this bench
        worker_env["PYTHONPATH"] = os.environ["BYOK_BENCH_WORKER_PYTHONPATH"]
    args.key_store = worker_env["BYOK_INFERENCE_KEY_STORE"]
    worker = subprocess.Popen(  # noqa: ASYNC220
        [
            # The worker as the image installs it (no dev dependencies): a venv made with
            # `UV_PROJECT_ENVIRONMENT=/tmp/prodvenv uv sync --frozen --no-dev --no-editable` (re-sync after edits).
            os.environ.get("BYOK_BENCH_WORKER_PYTHON") or sys.executable,
            *(["-m", "cProfile", "-o", args.profile] if args.profile else []),
            "-m",
            "byok_inference",
        ],
        env=worker_env,
    )
    try:
        await wait_http(f"{root}/_health")
        await wait_http(f"http://127.0.0.1:{metrics_port}/healthz")
        return await (measure_with or measure)(args, bootstrap, tag, worker, metrics_port, fake.pid)
    finally:
        worker.send_signal(signal.SIGTERM)
        fake.send_signal(signal.SIGTERM)
        worker.wait(60)
        fake.wait(10)


async def measure(
    args: argparse.Namespace,
    bootstrap: str,
    tag: str,
    worker: subprocess.Popen[bytes],
    metrics_port: int,
    fake_pid: int,
) -> dict[str, object]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=50
    )
    await consumer.start()
    parts = await topic_partitions({"bootstrap_servers": bootstrap}, ["byok.prompt.responses"])
    consumer.assign(parts)
    await consumer.seek_to_end(*parts)
    for tp in parts:
        await consumer.position(tp)
    # As the project's producer client sends (byok_client: acks=all, no linger): the producer's own
    # batching delay is not the worker's latency.
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=0 if args.rate else 5, acks="all", max_batch_size=256 * 1024
    )
    await producer.start()
    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    answered_at_ms: dict[str, int] = {}  # the response record's CreateTime: when the worker sent it
    sent_at_ms: dict[str, int] = {}
    statuses: dict[str, int] = {}
    peaks = {"in_flight": 0.0, "rss_kb": 0}
    tag_bytes = tag.encode()

    async def sample() -> None:
        pattern = re.compile(r'^byok_in_flight\{service="inference"\} (\S+)$', re.M)
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{metrics_port}/metrics") as r:
                        m = pattern.search(await r.text())
                        if m:
                            peaks["in_flight"] = max(peaks["in_flight"], float(m.group(1)))
                    peaks["rss_kb"] = max(peaks["rss_kb"], rss_kb(worker.pid))
                except (aiohttp.ClientError, OSError):
                    pass
                await asyncio.sleep(args.sample_every)

    async def consume() -> None:
        while len(received) < args.n:
            for records in (await consumer.getmany(timeout_ms=200, max_records=10000)).values():
                now = time.perf_counter()
                for r in records:
                    if r.key and tag_bytes in r.key and dict(r.headers).get("byok-status") in (b"completed", b"failed"):
                        rid = r.key.decode()
                        if rid not in received:
                            received[rid] = now
                            answered_at_ms[rid] = r.timestamp
                            status = json.loads(r.value)["status"]
                            statuses[status] = statuses.get(status, 0) + 1

    sampler = asyncio.create_task(sample())
    reader = asyncio.create_task(consume())
    model = MODELS[args.provider]
    content = "Summarise the benefits of event-driven architectures for LLM gateways in three bullet points."
    cpu_start = cpu_seconds(worker.pid), cpu_seconds(fake_pid)
    split_start = cpu_split(worker.pid)
    started = time.perf_counter()
    for i in range(args.n):
        rid = f"bench-{tag}-{i}"
        body = json.dumps(
            {
                "schema": "byok.prompt.request/v1",
                "request_id": rid,
                "tenant_id": f"bench{tag}",
                "user_id": "u1",
                "model": model,
                "byok_mode": "disabled",
                "max_tokens": 64,
                "messages": [{"role": "user", "content": content}],
            }
        ).encode()
        await producer.send("byok.prompt.requests", body, key=rid.encode())
        sent[rid] = time.perf_counter()
        sent_at_ms[rid] = int(time.time() * 1000)
        if args.rate:  # open-loop pacing, one prompt every 1/rate s (not bursts: a burst is queued work)
            ahead = (i + 1) / args.rate - (time.perf_counter() - started)
            if ahead > 0.0005:
                await asyncio.sleep(ahead)
    await producer.flush()
    await asyncio.wait_for(reader, timeout=args.timeout)
    cpu_end = cpu_seconds(worker.pid), cpu_seconds(fake_pid)
    split_end = cpu_split(worker.pid)
    finished = max(received.values())
    sampler.cancel()
    await producer.stop()
    await consumer.stop()
    provider_s = args.latency_ms / 1000
    added = sorted((received[r] - sent[r] - provider_s) * 1000 for r in received)
    # Where the added latency is spent (wall clocks of one host, ms resolution): publish -> the worker's
    # response send, and the response's send -> this reader.
    in_worker = sorted(answered_at_ms[r] - sent_at_ms[r] - provider_s * 1000 for r in received)
    to_reader = sorted((received[r] - sent[r]) * 1000 - (answered_at_ms[r] - sent_at_ms[r]) for r in received)
    if args.dump:  # one row per prompt, in publish order: where the slow ones cluster in time
        rows = ["sent_s,publish_to_answer_ms,answer_to_reader_ms"]
        for r in sorted(received, key=sent.__getitem__):
            to_answer = answered_at_ms[r] - sent_at_ms[r] - provider_s * 1000
            to_read = (received[r] - sent[r]) * 1000 - (answered_at_ms[r] - sent_at_ms[r])
            rows.append(f"{sent[r] - started:.4f},{to_answer:.0f},{to_read:.1f}")
        Path(args.dump).write_text("\n".join(rows) + "\n")
    return {
        "n": args.n,
        "provider": args.provider,
        "provider_latency_ms": args.latency_ms,
        "max_in_flight": args.max_in_flight,
        "statuses": statuses,
        "prompts_per_s": round(args.n / (finished - started), 1),
        "added_latency_ms_p50": round(statistics.median(added), 1),
        "added_latency_ms_p99": round(added[int(len(added) * 0.99) - 1], 1),
        "publish_to_worker_answer_ms_p50_p99": [
            statistics.median(in_worker),
            in_worker[int(len(in_worker) * 0.99) - 1],
        ],
        "worker_answer_to_reader_ms_p50_p99": [
            round(statistics.median(to_reader), 1),
            round(to_reader[int(len(to_reader) * 0.99) - 1], 1),
        ],
        "worker_cpu_ms_per_prompt": round((cpu_end[0] - cpu_start[0]) * 1000 / args.n, 3),
        "worker_cpu_user_system_ms_per_prompt": [
            round((split_end[0] - split_start[0]) * 1000 / args.n, 3),
            round((split_end[1] - split_start[1]) * 1000 / args.n, 3),
        ],
        "worker_cpu_share": round((cpu_end[0] - cpu_start[0]) / (finished - started), 2),
        "fake_provider_cpu_ms_per_prompt": round((cpu_end[1] - cpu_start[1]) * 1000 / args.n, 3),
        "key_store": args.key_store,
        "peak_in_flight": int(peaks["in_flight"]),
        "worker_peak_rss_mb": round(peaks["rss_kb"] / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--provider", choices=sorted(MODELS), default="openai")
    parser.add_argument("--max-in-flight", type=int, default=512)
    parser.add_argument("--rate", type=float, default=0, help="publish at most this many prompts/s (0: flat out)")
    parser.add_argument(
        "--key-store", choices=["vault", "env"], default="", help="default: vault when the stack has it"
    )
    parser.add_argument(
        "--sample-every",
        type=float,
        default=0.1,
        help="seconds between samples of the worker's /metrics and RSS (each scrape costs the worker CPU)",
    )
    parser.add_argument("--profile", default="", help="write a cProfile of the worker to this file")
    parser.add_argument("--dump", default="", help="write each prompt's latencies to this CSV file")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--fake-port", type=int, default=18931)
    parser.add_argument("--metrics-port", type=int, default=19131)
    parser.add_argument(
        "--dedupe-window",
        type=float,
        default=60,
        help="seconds of byok.prompt.responses read at start (86400: a worker restarted on a day of history)",
    )
    args = parser.parse_args()
    import uvloop

    result = uvloop.run(run(args))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
