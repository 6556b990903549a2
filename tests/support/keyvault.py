"""Helpers of the key-vault integration (and browser) tests: the service in-process on a real port, tokens."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import jwt
import uvicorn
from byok_core.auth import AuthSettings
from byok_core.settings import KafkaSettings, VaultSettings
from byok_keyvault.config import KeyvaultSettings
from byok_keyvault.main import Service, bootstrap
from byok_keyvault.ports import EventPublisher
from byok_testing.waiting import wait_until
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

        def started() -> bool:
            if task.done():
                task.result()  # its error, if it failed to start
            return server.started

        await wait_until(started, 15, "the key-vault service did not start")
        if wait_kafka:
            await wait_until(lambda: service.publisher.connected, 15, "the key-vault service did not connect to Kafka")
        yield Running(service, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)
        sock.close()


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
