"""SASL mode (`stack.sh up --sasl`): SCRAM-SHA-512, the StandardAuthorizer and the contract's ACL table.

Every principal of .run/clients/*.env tries to write and to read every topic; the broker allows exactly what the
table in the contract ("Who may spend a key") says and refuses the rest with its own authorization errors;
the services, each on its own principal, still answer a prompt and charge for it; a forged `key.invalid` from any
principal but the inference worker's is refused by the broker. It runs in `make test`: the module starts a SASL
stack of its own (every step bounded by a timeout) next to the default one.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from byok_events import topics
from byok_testing.waiting import wait_until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
REQUESTS, RESPONSES, USAGE = topics.PROMPT_REQUESTS, topics.PROMPT_RESPONSES, topics.USAGE_EVENTS
CHARGES, ALERTS, KEYS, DLQ = topics.BILLING_CHARGES, topics.BILLING_ALERTS, topics.KEY_EVENTS, topics.DLQ
ALL = (REQUESTS, RESPONSES, USAGE, CHARGES, ALERTS, KEYS, DLQ)
# The contract's table (and docs/additions.md's): client file -> (topics it may write, topics it may read).
TABLE = {
    "producer": ({REQUESTS}, {RESPONSES}),
    "inference": ({RESPONSES, USAGE, KEYS, DLQ}, {REQUESTS, KEYS, ALERTS, RESPONSES}),  # responses: de-duplication
    "billing": ({CHARGES, ALERTS, DLQ}, {USAGE}),
    "keyvault": ({KEYS, DLQ}, {KEYS}),
    "analyst": (set(), {CHARGES, ALERTS}),
}


def _run(script: str, run_dir: Path, *args: str, **given: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOK_")} | {"BYOK_RUN_DIR": str(run_dir)} | given
    return subprocess.run([REPO / script, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def sasl_stack(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A second stack whose Kafka runs in SASL mode (Vault and PostgreSQL: the first stack's), and its services."""
    run_dir = tmp_path_factory.mktemp("sasl-run")
    given = {k: stack_env[k] for k in ("BYOK_VAULT_ADDR", "BYOK_VAULT_ROOT_TOKEN", "BYOK_DATABASE_URL")}
    try:
        up = _run("infra/local/stack.sh", run_dir, "up", "--sasl", **given)
        assert up.returncode == 0, up.stderr[-3000:]
        assert "ACL bindings in place" in up.stderr
        services = _run("infra/local/services.sh", run_dir, "up")
        assert services.returncode == 0, services.stderr[-3000:]
        yield run_dir
    finally:
        assert _run("infra/local/services.sh", run_dir, "down").returncode == 0
        assert _run("infra/local/stack.sh", run_dir, "down").returncode == 0


@pytest.fixture(scope="module")
def clients(sasl_stack: Path) -> Path:
    return sasl_stack / "clients"


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


def test_no_kafka_password_on_a_command_line_nor_in_a_readable_file(sasl_stack: Path) -> None:
    passwords = [_options(sasl_stack / "clients", name)["sasl_plain_password"] for name in ("admin", "producer")]
    kafka = sasl_stack / "kafka"
    for path in (kafka / "1" / "server.properties", kafka / "credentials", kafka / "admin.properties"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    pids = [int((kafka / "1.pid").read_text())]
    pids += [int((sasl_stack / f"{name}.pid").read_text()) for name in ("keyvault", "inference", "billing")]
    for pid in pids:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
        assert not [p for p in passwords if p in cmdline]
    assert not list(kafka.glob("*/format.args")), "the format argument file (SCRAM passwords) was left behind"


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


async def test_a_prompt_round_trip_with_every_service_on_its_own_principal(sasl_stack: Path) -> None:
    clients, request_id = sasl_stack / "clients", uuid.uuid4().hex
    for service in ("keyvault", "inference", "billing"):
        environ = (sasl_stack / "env" / f"{service}.env").read_text()
        assert f"BYOK_KAFKA_SASL_USERNAME=byok-{service}" in environ
    responses = AIOKafkaConsumer(RESPONSES, **_options(clients, "producer"), group_id=f"producer-{request_id[:8]}")
    charges = AIOKafkaConsumer(CHARGES, **_options(clients, "analyst"), group_id=f"analyst-{request_id[:8]}")
    tenant = f"sasl-{request_id[:8]}"
    found: dict[str, list[dict[str, Any]]] = {"response": [], "charge": []}
    try:
        for consumer in (responses, charges):
            await consumer.start()
            while not consumer.assignment():
                await consumer.getmany(timeout_ms=100)
            for partition in consumer.assignment():
                await consumer.position(partition)
        request = {
            "schema": "byok.prompt.request/v1",
            "request_id": request_id,
            "tenant_id": tenant,
            "user_id": "u_1",
            "model": "gpt-4.1",
            "messages": [{"role": "user", "content": "Say hello"}],
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        producer = AIOKafkaProducer(**_options(clients, "producer"), acks="all", enable_idempotence=True)
        await producer.start()
        try:
            await producer.send_and_wait(REQUESTS, json.dumps(request).encode(), key=request_id.encode())
        finally:
            await producer.stop()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (found["charge"] and found["response"]):
            for name, consumer in (("response", responses), ("charge", charges)):
                for records in (await consumer.getmany(timeout_ms=100)).values():
                    values = (json.loads(record.value) for record in records)
                    found[name] += [v for v in values if v.get("tenant_id") == tenant]
    finally:
        await responses.stop()
        await charges.stop()
    assert [r["status"] for r in found["response"]] == ["completed"]
    assert len(found["charge"]) == 1 and Decimal(found["charge"][0]["charge"]) > 0


async def test_the_producer_client_and_the_charges_tail_work_as_their_principals(sasl_stack: Path) -> None:
    """ByokClient as `producer` (no consumer group: its reply partition is assigned) and `byok charges tail`
    as `analyst` (no group either) need nothing beyond the table's grants."""
    import sys

    from byok_client import ByokClient, KafkaConfig

    def principal(name: str) -> dict[str, str]:
        return dict(line.split("=", 1) for line in (sasl_stack / "clients" / f"{name}.env").read_text().splitlines())

    tenant = f"sasl-client-{uuid.uuid4().hex[:8]}"
    async with ByokClient(kafka=KafkaConfig.from_env(principal("producer")), tenant_id=tenant) as client:
        response = await client.complete("gpt-4.1", "Say hello", timeout=60)
        streamed = [d.output_text async for d in client.stream("claude-sonnet-4-5", "Count", timeout=60)]
    assert response.status == "completed" and response.tenant_id == tenant and streamed

    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOK_")} | principal("analyst")
    argv = [
        str(Path(sys.executable).parent / "byok"),
        "charges",
        "tail",
        "--tenant",
        tenant,
        "--since",
        "10m",
        "--no-follow",
        "--format",
        "jsonl",
    ]

    async def both_charged() -> list[dict[str, Any]]:
        done = await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        charges = [json.loads(line) for line in done.stdout.splitlines()]
        return charges if len(charges) >= 2 else []

    charges = await wait_until(both_charged, 60, "the two charges are not listed", interval=1)
    assert sorted(c["provider"] for c in charges) == ["anthropic", "openai"]
    as_producer = env | principal("producer")
    refused = await asyncio.to_thread(subprocess.run, argv, env=as_producer, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 3 and "refused this as producer" in refused.stderr, refused.stderr


async def _keys_end_offsets(clients: Path) -> dict[TopicPartition, int]:
    from byok_core.kafka import topic_partitions

    options = _options(clients, "admin")
    partitions = await topic_partitions(options, [KEYS])
    consumer = AIOKafkaConsumer(**options, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def test_a_forged_key_invalid_is_refused_by_the_broker_unless_the_inference_principal_writes_it(
    sasl_stack: Path,
) -> None:
    """A key.invalid in the worker's exact form (its producer header, derived event id, fingerprint, version),
    written as producer, billing or analyst: the broker refuses it (TopicAuthorizationFailedError) and the
    topic does not move; the key stays active. The same record written as byok-inference is taken and the
    key-vault service marks the key invalid: the form was right, only the principal was not."""
    import aiohttp
    import jwt
    from byok_events import KeyEvent
    from byok_events.keys import INFERENCE_PRODUCER, PRODUCER_HEADER, key_invalid_event_id

    clients = sasl_stack / "clients"
    coordinates = dict(line.split("=", 1) for line in (sasl_stack / "services.env").read_text().splitlines())
    tenant, user, request_id = f"forge-{uuid.uuid4().hex[:8]}", "u_1", str(uuid.uuid4())
    now = int(time.time())
    claims = {"sub": user, "tenant": tenant, "role": "member", "iat": now, "exp": now + 600}
    token = jwt.encode(claims, coordinates["BYOK_AUTH_JWT_SECRET"], algorithm="HS256")
    api = f"{coordinates['BYOK_KEYVAULT_URL']}/api/user-api-keys"

    async def listed(http: aiohttp.ClientSession) -> list[tuple[str, int, str]]:
        async with http.get(api) as answer:
            assert answer.status == 200
            return [(k["keyType"], k["version"], k["status"]) for k in (await answer.json())["keys"]]

    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        body = {"keyType": "openai", "apiKey": "sk-proj-" + uuid.uuid4().hex * 2, "scope": "user"}
        async with http.post(api, json=body) as answer:
            assert answer.status in (200, 201), await answer.text()
        forged = KeyEvent(
            event_id=key_invalid_event_id(tenant, request_id),
            type="key.invalid",
            tenant_id=tenant,
            user_id=user,
            scope="user",
            provider="openai",
            fingerprint="f" * 64,
            version=1,
            request_id=request_id,  # type: ignore[call-arg]  # the worker's added field
        ).to_bytes()
        headers = [(PRODUCER_HEADER, INFERENCE_PRODUCER.encode())]
        before = await _keys_end_offsets(clients)
        for name in ("producer", "billing", "analyst"):
            producer = AIOKafkaProducer(**_options(clients, name), acks="all", enable_idempotence=False)
            try:
                await producer.start()
                with pytest.raises(TopicAuthorizationFailedError):
                    await asyncio.wait_for(
                        producer.send_and_wait(KEYS, forged, key=tenant.encode(), headers=headers), 20
                    )
            finally:
                await producer.stop()
        assert await _keys_end_offsets(clients) == before, "a refused record reached the topic"
        await asyncio.sleep(1)
        assert await listed(http) == [("openai", 1, "active")]

        inference = AIOKafkaProducer(**_options(clients, "inference"), acks="all", enable_idempotence=True)
        await inference.start()
        try:
            await inference.send_and_wait(KEYS, forged, key=tenant.encode(), headers=headers)
        finally:
            await inference.stop()
        deadline = time.monotonic() + 30
        while (keys := await listed(http)) != [("openai", 1, "invalid")] and time.monotonic() < deadline:
            await asyncio.sleep(0.3)
        assert keys == [("openai", 1, "invalid")]
