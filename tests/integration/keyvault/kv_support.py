"""Helpers of the key-vault integration tests: the service in-process on a real port, tokens, a Kafka tail."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import jwt
import uvicorn
from aiokafka import AIOKafkaConsumer, TopicPartition
from byok_core.auth import AuthSettings
from byok_core.settings import KafkaSettings, VaultSettings
from byok_keyvault.config import KeyvaultSettings
from byok_keyvault.main import Service, bootstrap
from byok_keyvault.ports import EventPublisher
from pydantic import SecretStr

JWT_SECRET = "integration-secret-0123456789abcdef-0123456789"


def token(sub: str, tenant: str, role: str = "member", *, ttl: int = 600, secret: str = JWT_SECRET) -> str:
    now = int(time.time())
    return jwt.encode(
        {"sub": sub, "tenant": tenant, "role": role, "iat": now, "exp": now + ttl}, secret, algorithm="HS256"
    )


def bearer(sub: str, tenant: str, role: str = "member") -> dict[str, str]:
    return {"authorization": "Bearer " + token(sub, tenant, role)}


def settings_for(
    stack_env: dict[str, str], tmp_dir: str, group: str, *, auth_jwt_leeway_seconds: int = 10, **overrides: object
) -> KeyvaultSettings:
    return KeyvaultSettings(
        keyvault_host="127.0.0.1",
        keyvault_port=0,
        auth=AuthSettings(jwt_secret=SecretStr(JWT_SECRET), jwt_leeway_seconds=auth_jwt_leeway_seconds),
        keyvault_outbox_path=f"{tmp_dir}/outbox.sqlite3",
        keyvault_consumer_group=group,
        keyvault_outbox_retry_seconds=0.2,
        keyvault_sealing_cache_seconds=0,
        kafka=KafkaSettings(bootstrap=stack_env["BYOK_KAFKA_BOOTSTRAP"], client_id=f"kv-test-{group}"),
        vault=VaultSettings(addr=stack_env["BYOK_VAULT_ADDR"], token=SecretStr(stack_env["BYOK_VAULT_TOKEN_KEYVAULT"])),
        **overrides,
    )


@dataclass
class Running:
    service: Service
    url: str


@contextlib.asynccontextmanager
async def running_service(
    settings: KeyvaultSettings, *, publisher: EventPublisher | None = None, wait_kafka: bool = True
) -> AsyncIterator[Running]:
    """The real app on uvicorn on a free port, in this event loop; stopped like SIGTERM would."""
    service = bootstrap(settings, publisher=publisher)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(service.app, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(300):
            if server.started:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        assert server.started, "the key-vault service did not start"
        if wait_kafka:
            for _ in range(300):
                if service.publisher.connected:
                    break
                await asyncio.sleep(0.05)
            assert service.publisher.connected, "the key-vault service did not connect to Kafka"
        yield Running(service, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)
        sock.close()


@dataclass
class KafkaTail:
    """Reads what is appended to some topics after start()."""

    bootstrap: str
    topics: tuple[str, ...]
    consumer: AIOKafkaConsumer | None = None
    start_offsets: dict[TopicPartition, int] = field(default_factory=dict)

    async def start(self) -> KafkaTail:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await self.consumer.start()
        partitions = [
            TopicPartition(t, p)
            for t in self.topics
            for p in (self.consumer.partitions_for_topic(t) or await self._partitions(t))
        ]
        self.consumer.assign(partitions)
        self.start_offsets = await self.consumer.end_offsets(partitions)
        for tp, offset in self.start_offsets.items():
            self.consumer.seek(tp, offset)
        return self

    async def _partitions(self, topic: str) -> set[int]:
        assert self.consumer is not None
        await self.consumer._client.force_metadata_update()
        return self.consumer.partitions_for_topic(topic) or set()

    async def read_all(self) -> list:
        """Every record appended since start(), up to the current end offsets."""
        assert self.consumer is not None
        ends = await self.consumer.end_offsets(list(self.start_offsets))
        records = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            positions = {tp: await self.consumer.position(tp) for tp in ends}
            if all(positions[tp] >= end for tp, end in ends.items()):
                break
            batch = await self.consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
        return records

    async def wait_for(self, predicate, count: int, within: float = 15.0) -> list:
        """Records (decoded JSON) matching predicate, once `count` of them arrived."""
        assert self.consumer is not None
        found: list = []
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and len(found) < count:
            batch = await self.consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                for rec in recs:
                    with contextlib.suppress(ValueError):
                        value = json.loads(rec.value)
                        if predicate(value):
                            found.append(value)
        return found

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()


class RawLogCapture(logging.Handler):
    """Keeps every log record's text as emitted by the code, BEFORE any redaction."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    CLIENT_LOGGERS = ("httpx", "httpcore")  # the tests' own HTTP client logs the URLs it calls

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in self.CLIENT_LOGGERS:
            return
        try:
            text = record.getMessage()
        except Exception:
            text = str(record.msg)
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(text + " " + " ".join(f"{k}={v}" for k, v in vars(record).items()))
