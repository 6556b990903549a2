"""SASL mode (`kafka.sh start --sasl`): SCRAM-SHA-512, the StandardAuthorizer and the contract's ACL table.

Every principal of .run/clients/*.env tries to write and to read every topic; the broker allows exactly what the
table in the contract ("Who may spend a key") says and refuses the rest with its own authorization errors.
"""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from byok_events import topics

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
KAFKA_SH = REPO / "infra/kafka/kafka.sh"
REQUESTS, RESPONSES, USAGE = topics.PROMPT_REQUESTS, topics.PROMPT_RESPONSES, topics.USAGE_EVENTS
CHARGES, ALERTS, KEYS, DLQ = topics.BILLING_CHARGES, topics.BILLING_ALERTS, topics.KEY_EVENTS, topics.DLQ
ALL = (REQUESTS, RESPONSES, USAGE, CHARGES, ALERTS, KEYS, DLQ)
# The contract's table: client file -> (topics it may write, topics it may read).
TABLE = {
    "producer": ({REQUESTS}, {RESPONSES}),
    "inference": ({RESPONSES, USAGE, KEYS, DLQ}, {REQUESTS, KEYS, ALERTS}),
    "billing": ({CHARGES, ALERTS, DLQ}, {USAGE}),
    "keyvault": ({KEYS, DLQ}, {KEYS}),
    "analyst": (set(), {CHARGES, ALERTS}),
}


def _kafka(run_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOK_")} | {"BYOK_RUN_DIR": str(run_dir)}
    return subprocess.run([KAFKA_SH, *args], env=env, capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    run_dir = tmp_path_factory.mktemp("sasl-run")
    try:
        started = _kafka(run_dir, "start", "--sasl")
        assert started.returncode == 0, started.stderr[-3000:]
        created = _kafka(run_dir, "create-topics")
        assert created.returncode == 0, created.stderr[-3000:]
        yield run_dir / "clients"
    finally:
        assert _kafka(run_dir, "stop").returncode == 0


def _options(clients: Path, name: str, **overrides: str) -> dict[str, Any]:
    env = dict(line.split("=", 1) for line in (clients / f"{name}.env").read_text().splitlines()) | overrides
    return {
        "bootstrap_servers": env["BYOK_KAFKA_BOOTSTRAP"],
        "security_protocol": env["BYOK_KAFKA_SECURITY_PROTOCOL"],
        "sasl_mechanism": env["BYOK_KAFKA_SASL_MECHANISM"],
        "sasl_plain_username": env["BYOK_KAFKA_SASL_USERNAME"],
        "sasl_plain_password": env["BYOK_KAFKA_SASL_PASSWORD"],
    }


async def _may_write(options: dict[str, Any], topic: str) -> bool:
    producer = AIOKafkaProducer(**options, acks="all", enable_idempotence=True)
    try:
        await producer.start()
        await asyncio.wait_for(producer.send_and_wait(topic, b"{}", key=b"acl-test"), 20)
        return True
    except (TopicAuthorizationFailedError, ClusterAuthorizationFailedError):  # the latter: may write no topic
        return False
    finally:
        await producer.stop()


async def _may_read(options: dict[str, Any], principal: str, topic: str) -> bool:
    group = f"{principal}-acl-{uuid.uuid4().hex[:8]}"  # a group of its own: the test is about the topic
    consumer = AIOKafkaConsumer(topic, **options, group_id=group, enable_auto_commit=False)
    try:
        await consumer.start()
        for _ in range(100):  # metadata (DESCRIBE, which WRITE grants too) is enough to be assigned ...
            await consumer.getmany(timeout_ms=100)
            if consumer.assignment():
                break
        else:
            raise AssertionError(f"{principal} neither assigned {topic} nor refused it")
        await consumer.seek_to_beginning()
        for _ in range(10):  # ... but only READ lets the fetches through
            await consumer.getmany(timeout_ms=100)
        return True
    except TopicAuthorizationFailedError:
        return False
    finally:
        await consumer.stop()


def test_the_client_files_are_0600_and_name_their_principal(clients: Path) -> None:
    for name in ("producer", "analyst", "admin", "keyvault", "inference", "billing"):
        path = clients / f"{name}.env"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        username = _options(clients, name)["sasl_plain_username"]
        assert username == (name if name in ("producer", "analyst", "admin") else f"byok-{name}")


@pytest.mark.parametrize("name", sorted(TABLE))
async def test_each_principal_may_do_exactly_what_the_table_says(clients: Path, name: str) -> None:
    options = _options(clients, name)
    principal = options["sasl_plain_username"]
    writes = {
        topic
        for topic, yes in zip(ALL, await asyncio.gather(*(_may_write(options, t) for t in ALL)), strict=True)
        if yes
    }
    read = await asyncio.gather(*(_may_read(options, principal, topic) for topic in ALL))
    reads = {topic for topic, yes in zip(ALL, read, strict=True) if yes}
    assert (writes, reads) == TABLE[name]


async def test_consumer_groups_must_start_with_the_principal_name(clients: Path) -> None:
    options = _options(clients, "analyst")
    for group, allowed in ((f"analyst-{uuid.uuid4().hex[:6]}", True), (f"billing-{uuid.uuid4().hex[:6]}", False)):
        consumer = AIOKafkaConsumer(CHARGES, **options, group_id=group, auto_offset_reset="earliest")
        try:
            if allowed:
                await consumer.start()
                await consumer.getmany(timeout_ms=500)
            else:
                with pytest.raises(GroupAuthorizationFailedError):
                    await consumer.start()
                    await consumer.getmany(timeout_ms=5000)
        finally:
            await consumer.stop()


async def test_a_wrong_password_is_refused(clients: Path) -> None:
    options = _options(clients, "producer", BYOK_KAFKA_SASL_PASSWORD="not-the-password")
    producer = AIOKafkaProducer(**options)
    with pytest.raises(KafkaError):
        await producer.start()
    await producer.stop()
