"""Billing consumer throughput: usage events/s from byok.usage.events to committed ledger rows, and RSS.

Produces N usage events (several tenants, the four providers, user and system keys), points a fresh
consumer group at exactly those offsets, runs the real consumer (`python -m byok_billing`) as a
subprocess, and samples the ledger's charge count and the process's RSS until all N are charged.

    uv run python bench/billing/bench_billing.py --events 200000 --db postgres  # stack.env's DB
    uv run python bench/billing/bench_billing.py --events 100000 --db sqlite

Prints one JSON line of figures. Rows written by the run are deleted afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import create_engine, text

LEDGER_TABLES = "charges, usage_events, spend, publish_batches, alerts"
REPO = Path(__file__).resolve().parents[2]
TOPIC = "byok.usage.events"
MODELS = [
    ("anthropic", "claude-sonnet-4-5", "direct"),
    ("openai", "gpt-4.1", "direct"),
    ("gemini", "gemini-2.5-flash", "direct"),
    ("openrouter", "anthropic/claude-sonnet-4.5", "openrouter"),
]


def stack_env() -> dict[str, str]:
    path = Path(os.environ.get("BYOK_RUN_DIR", REPO / ".run")) / "stack.env"
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.removeprefix("export ").partition("=")
            values[key.strip()] = value.strip().strip("'\"")
    return values


def make_events(run: str, count: int, tenants: int) -> list[tuple[bytes, bytes]]:
    rng = random.Random(7)
    out = []
    for i in range(count):
        provider, model, route = MODELS[i % len(MODELS)]
        key_source = rng.choice(("user", "org", "system", "request"))
        total = rng.randint(10, 20_000)
        cache_read = rng.randint(0, total // 2)
        tenant = f"bench-{run}-{i % tenants}"
        event = {
            "schema": "byok.usage/v1",
            "event_id": f"{run}-{i}",
            "request_id": f"r-{run}-{i}",
            "tenant_id": tenant,
            "user_id": "u_1",
            "provider": provider,
            "model": model,
            "route": route,
            "key_source": key_source,
            "byok": key_source != "system",
            "input_tokens": total,
            "output_tokens": rng.randint(1, 4000),
            "cache_read_tokens": cache_read,
            "cache_write_tokens": 0,
            "occurred_at": "2026-11-27T15:00:01Z",
        }
        out.append((tenant.encode(), json.dumps(event, separators=(",", ":")).encode()))
    return out


async def produce(bootstrap: str, events: list[tuple[bytes, bytes]]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=10, max_batch_size=512 * 1024)
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for key, value in events:
            pending.append(await producer.send(TOPIC, value, key=key))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return len(events) / (time.perf_counter() - started)


async def end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        for _ in range(100):
            if consumer.partitions_for_topic(TOPIC):
                break
            await consumer._client.force_metadata_update()
        tps = [TopicPartition(TOPIC, p) for p in consumer.partitions_for_topic(TOPIC) or ()]
        return await consumer.end_offsets(tps)
    finally:
        await consumer.stop()


async def commit_start(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


def rss_kb(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def with_schema(url: str, schema: str) -> str:
    """The ledger URL with its own schema first on the search_path (created when missing)."""
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def consumer_command(args: argparse.Namespace, index: int) -> list[str]:
    command = [sys.executable, "-m", "byok_billing"]
    if index != 0 or args.profile == "none":
        return command
    if args.profile == "pyinstrument":
        return [sys.executable, "-m", "pyinstrument", "-r", "text", "-o", args.profile_out + ".txt", *command[1:]]
    spy = shutil.which("py-spy") or "py-spy"
    return [spy, "record", "--threads", "-r", "200", "-f", "raw", "-o", args.profile_out + ".txt", "--", *command]


def consumer_pid(proc: subprocess.Popen[bytes]) -> int:
    """The python process itself (under py-spy, its child)."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    if children.exists():
        kids = children.read_text().split()
        if kids and "py-spy" in Path(f"/proc/{proc.pid}/cmdline").read_text(errors="replace"):
            return int(kids[0])
    return proc.pid


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--max-records", type=int, default=5000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--schema",
        default="billing_bench",
        help="PostgreSQL schema of the bench ledger (own tables: other billing consumers on the shared "
        "stack read the same topic and charge into the public schema, which would falsify the count)",
    )
    parser.add_argument(
        "--consumer-src", default=None, help="PYTHONPATH to run another byok_billing (e.g. a baseline copy)"
    )
    parser.add_argument("--consumers", type=int, default=1, help="consumer processes in the group")
    parser.add_argument(
        "--profile",
        choices=("none", "pyinstrument", "py-spy"),
        default="none",
        help="profile the (first) consumer; run the bench with `uv run --with pyinstrument` / `--with py-spy`",
    )
    parser.add_argument("--profile-out", default="billing-profile", help="profile output path (no extension)")
    args = parser.parse_args()

    env_file = stack_env()
    bootstrap = env_file["BYOK_KAFKA_BOOTSTRAP"]
    if args.db == "postgres":
        db_url = with_schema(env_file["BYOK_DATABASE_URL"], args.schema)
    else:
        db_url = f"sqlite:///{tempfile.mkdtemp(prefix='byok-bench-')}/ledger.sqlite3"
    run = uuid.uuid4().hex[:10]
    group = f"byok-billing-bench-{run}"

    events = make_events(run, args.events, args.tenants)
    start_offsets = asyncio.run(end_offsets(bootstrap))
    produce_rate = asyncio.run(produce(bootstrap, events))
    asyncio.run(commit_start(bootstrap, group, start_offsets))

    env = dict(os.environ)
    if args.consumer_src:
        env["PYTHONPATH"] = args.consumer_src
    env.update(
        {
            "BYOK_KAFKA_BOOTSTRAP": bootstrap,
            "BYOK_DATABASE_URL": db_url,
            "BYOK_BILLING_GROUP_ID": group,
            "BYOK_BILLING_METRICS_PORT": "0",
            "BYOK_BILLING_MAX_RECORDS": str(args.max_records),
            "BYOK_LOG_LEVEL": "WARNING",
        }
    )
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    count_sql = text("SELECT count(*) FROM charges WHERE event_id LIKE :p")
    procs = [subprocess.Popen(consumer_command(args, i), env=env, cwd=REPO) for i in range(args.consumers)]
    proc = procs[0]
    samples: list[tuple[float, int]] = []
    peak_rss = 0
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            time.sleep(0.5)
            assert all(p.poll() is None for p in procs), "consumer exited"
            try:
                with engine.connect() as conn:
                    done = conn.execute(count_sql, {"p": f"{run}-%"}).scalar_one()
            except Exception:
                done = 0
            samples.append((time.monotonic(), done))
            peak_rss = max(peak_rss, max(rss_kb(consumer_pid(p))[1] for p in procs))
            if done >= args.events:
                break
    finally:
        for p in procs:
            if args.profile == "py-spy" and p is proc:
                os.kill(consumer_pid(p), signal.SIGTERM)  # py-spy writes its file when its child exits
            else:
                p.terminate()
        for p in procs:
            p.wait(60)
    first = next((s for s in samples if s[1] > 0), None)
    last = samples[-1]
    lo = next(s for s in samples if s[1] >= args.events * 0.1)
    hi = next((s for s in samples if s[1] >= args.events * 0.9), last)
    figures = {
        "db": args.db,
        "events": args.events,
        "charged": last[1],
        "max_records": args.max_records,
        "produce_events_per_s": round(produce_rate),
        "events_per_s_first_to_last": round((last[1] - first[1]) / (last[0] - first[0]))
        if first and last[0] > first[0]
        else None,
        "events_per_s_10_to_90pct": round((hi[1] - lo[1]) / (hi[0] - lo[0])) if hi[0] > lo[0] else None,
        "peak_rss_mb": round(peak_rss / 1024, 1),
        "consumers": args.consumers,
        "consumer_exit_codes": [p.returncode for p in procs],
    }
    print(json.dumps(figures))
    if not args.keep and args.db == "postgres" and args.schema != "public":
        with engine.begin() as conn:  # the bench's own schema: empty it (row-wise DELETE is O(n^2) there
            # while autovacuum has not analysed the fresh tables: FK checks by sequential scan)
            conn.execute(text(f"TRUNCATE {LEDGER_TABLES}"))
    elif not args.keep and args.db == "postgres":
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM charges WHERE event_id LIKE :p"), {"p": f"{run}-%"})
            conn.execute(text("DELETE FROM usage_events WHERE event_id LIKE :p"), {"p": f"{run}-%"})
            conn.execute(text("DELETE FROM spend WHERE tenant_id LIKE :p"), {"p": f"bench-{run}-%"})
    engine.dispose()


if __name__ == "__main__":
    main()
