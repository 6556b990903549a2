"""A broker lost mid-send is retried; only an error that outlasts a leader election is a refused write."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import NodeNotReadyError, UnknownError
from byok_core.kafka import publisher as publisher_module
from byok_core.kafka.errors import PublishFailed
from byok_core.kafka.publisher import KafkaPublisher


class FlakyProducer:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.sent = 0

    async def send(self, topic: str, **_: Any) -> asyncio.Future[None]:
        if self.failures:
            raise self.failures.pop(0)
        self.sent += 1
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


@pytest.fixture(autouse=True)
def no_back_off(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instant(_: float) -> None:
        return None

    monkeypatch.setattr(publisher_module.asyncio, "sleep", instant)


async def test_a_node_lost_mid_send_is_retried_then_sent() -> None:
    producer = FlakyProducer([NodeNotReadyError(), NodeNotReadyError()])
    await KafkaPublisher(producer).send("byok.prompt.responses", b"k", b"v")  # type: ignore[arg-type]
    assert producer.sent == 1


async def test_a_lasting_retriable_error_is_a_refused_write() -> None:
    producer = FlakyProducer([NodeNotReadyError() for _ in range(publisher_module.RETRIABLE_ATTEMPTS)])
    with pytest.raises(PublishFailed):
        await KafkaPublisher(producer).send("byok.prompt.responses", b"k", b"v")  # type: ignore[arg-type]
    assert producer.sent == 0


async def test_a_non_retriable_error_is_not_retried() -> None:
    producer = FlakyProducer([UnknownError(), UnknownError()])
    with pytest.raises(PublishFailed):
        await KafkaPublisher(producer).send("byok.prompt.responses", b"k", b"v")  # type: ignore[arg-type]
    assert len(producer.failures) == 1, "one attempt only"
