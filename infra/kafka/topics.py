"""Kafka readiness and topics for the byok stack, on aiokafka's admin client.

    python infra/kafka/topics.py wait [--brokers N] [--timeout S] [--pid PID ...]
    python infra/kafka/topics.py create [--file topics.txt] [--replication-factor R]
    python infra/kafka/topics.py list

The cluster is BYOK_KAFKA_BOOTSTRAP with the BYOK_KAFKA_* security settings the services read. Topics get
replication factor min(3, brokers) unless told, and min.insync.replicas 2 when replicated three times or more.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from byok_core.kafka import aiokafka_options
from byok_core.settings import KafkaSettings

TOPICS_FILE = Path(__file__).resolve().parent / "topics.txt"
EXISTS, TOPIC_DENIED, CLUSTER_DENIED = 36, 29, 31


def say(message: str) -> None:
    print(f"[kafka] {message}", file=sys.stderr)


def admin() -> AIOKafkaAdminClient:
    options = aiokafka_options(KafkaSettings(client_id="byok-infra"))
    return AIOKafkaAdminClient(**options, request_timeout_ms=10_000)


async def brokers_up(client: AIOKafkaAdminClient) -> int:
    await client.start()
    return len((await client.describe_cluster())["brokers"])


async def wait(brokers: int, seconds: float, pids: list[int]) -> None:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # refused connections are what we wait out
    deadline, seen = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        for pid in pids:
            if not Path(f"/proc/{pid}").exists():
                sys.exit(f"broker process {pid} exited")
        client = admin()
        try:
            seen = await asyncio.wait_for(brokers_up(client), 5)
            if seen >= brokers:
                return
        except Exception:  # noqa: S110 - not answering yet is what we wait out
            pass
        finally:
            await client.close()
        await asyncio.sleep(0.2)
    sys.exit(f"{os.environ.get('BYOK_KAFKA_BOOTSTRAP')}: {seen} of {brokers} brokers after {seconds:.0f}s")


def read_topics(path: Path, replication: int) -> list[NewTopic]:
    topics = []
    for line in path.read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        name, partitions, retention, cleanup, *more = fields
        configs = {"retention.ms": retention, "cleanup.policy": cleanup}
        configs["min.insync.replicas"] = "2" if replication >= 3 else "1"
        configs |= dict(kv.split("=", 1) for kv in more)
        topics.append(NewTopic(name, int(partitions), replication, topic_configs=configs))
    return topics


async def create(path: Path, replication: int | None) -> None:
    client = admin()
    try:
        replication = replication or min(3, await brokers_up(client))
        wanted = read_topics(path, replication)
        answer: Any = await client.create_topics(wanted, timeout_ms=30_000)
        errors = {entry[0]: (entry[1], entry[2] if len(entry) > 2 else "") for entry in answer.topic_errors}
        denied = [name for name, (code, _) in errors.items() if code in (TOPIC_DENIED, CLUSTER_DENIED)]
        failed = {name: f"error {code} {text}" for name, (code, text) in errors.items() if code not in (0, EXISTS)}
        if denied:
            say(f"not allowed to create topics here; checking that they exist ({', '.join(denied)} denied)")
        existing = {t["topic"]: len(t["partitions"]) for t in await client.describe_topics([t.name for t in wanted])}
        for topic in wanted:
            if topic.name in denied and topic.name in existing:
                failed.pop(topic.name, None)
            if errors.get(topic.name, (0,))[0] == EXISTS and existing[topic.name] != topic.num_partitions:
                say(f"{topic.name} has {existing[topic.name]} partitions, topics.txt says {topic.num_partitions}")
        if failed:
            sys.exit("topics not created: " + "; ".join(f"{name}: {why}" for name, why in failed.items()))
        created = sum(code == 0 for code, _ in errors.values())
        say(f"{len(wanted)} topics present ({created} created, replication factor {replication})")
    finally:
        await client.close()


async def list_topics() -> None:
    client = admin()
    try:
        await client.start()
        for topic in sorted(await client.describe_topics(), key=lambda t: t["topic"]):
            replicas = {len(p["replicas"]) for p in topic["partitions"]}
            print(f"{topic['topic']}\tpartitions={len(topic['partitions'])}\treplicas={','.join(map(str, replicas))}")
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    waiting = commands.add_parser("wait")
    waiting.add_argument("--brokers", type=int, default=1)
    waiting.add_argument("--timeout", type=float, default=120)
    waiting.add_argument("--pid", type=int, action="append", default=[])
    creating = commands.add_parser("create")
    creating.add_argument("--file", type=Path, default=TOPICS_FILE)
    creating.add_argument("--replication-factor", type=int)
    commands.add_parser("list")
    args = parser.parse_args()
    if args.command == "wait":
        asyncio.run(wait(args.brokers, args.timeout, args.pid))
    elif args.command == "create":
        asyncio.run(create(args.file, args.replication_factor))
    else:
        asyncio.run(list_topics())


if __name__ == "__main__":
    main()
