"""Cluster mode: `kafka.sh start --brokers 3` is a three-node KRaft cluster whose topics are replicated three times
with min.insync.replicas 2: an acks=all producer goes on through one lost broker, is refused after two, and
delivers when a stopped node is started again."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from byok_testing.waiting import wait_until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
KAFKA_SH = REPO / "infra/kafka/kafka.sh"
TOPIC = "byok.prompt.requests"


def _kafka(run_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOK_")} | {"BYOK_RUN_DIR": str(run_dir)}
    return subprocess.run([KAFKA_SH, *args], env=env, capture_output=True, text=True, timeout=240)


async def test_three_brokers_replicate_three_times_and_survive_one_loss(tmp_path: Path, caplog) -> None:
    try:
        started = _kafka(tmp_path, "start", "--brokers", "3")
        assert started.returncode == 0, started.stderr[-3000:]
        created = _kafka(tmp_path, "create-topics")
        assert created.returncode == 0 and "replication factor 3" in created.stderr, created.stderr
        bootstrap = (tmp_path / "kafka.env").read_text().split("BYOK_KAFKA_BOOTSTRAP=")[1].split()[0]
        assert len(bootstrap.split(",")) == 3

        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            assert len((await admin.describe_cluster())["brokers"]) == 3

            async def described() -> dict[str, Any]:  # a broker may not have the new topic's metadata yet
                (topic,) = await admin.describe_topics([TOPIC])
                return topic if topic["partitions"] else {}

            topic = await wait_until(described, 30, f"no partitions of {TOPIC} described", interval=0.2)
            assert {len(p["replicas"]) for p in topic["partitions"]} == {3}

            async def configured() -> dict[str, Any]:  # the broker asked may answer UNKNOWN_TOPIC (no entries) at first
                (configs,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC)])
                return {entry[0]: entry[1] for entry in configs.resources[0][4]}

            values = await wait_until(configured, 30, f"no configs of {TOPIC} described", interval=0.2)
            assert values.get("min.insync.replicas") == "2", values
        finally:
            await admin.close()

        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
        await producer.start()
        try:
            await producer.send_and_wait(TOPIC, b"three brokers", partition=0)
            assert _kafka(tmp_path, "stop-node", "3").returncode == 0
            await asyncio.wait_for(producer.send_and_wait(TOPIC, b"two brokers, two in sync", partition=0), 60)
            assert _kafka(tmp_path, "stop-node", "2").returncode == 0
            below = asyncio.ensure_future(producer.send_and_wait(TOPIC, b"one broker: below the minimum", partition=0))
            done, _ = await asyncio.wait([below], timeout=15)
            assert not done, "acknowledged with one in-sync replica of three"
            assert "NotEnoughReplicasError" in caplog.text
            restarted = _kafka(tmp_path, "start", "--brokers", "3")
            assert restarted.returncode == 0, restarted.stderr[-3000:]
            await asyncio.wait_for(below, 90)  # delivered once a second replica is back
        finally:
            await producer.stop()
    finally:
        assert _kafka(tmp_path, "stop").returncode == 0
