"""Fixtures of the key-vault unit tests: fakes from fakes.keyvault, a real SQLite outbox in tmp_path, the HTTP
app in memory, the key-event subscriber on an in-memory broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from byok_core.auth import TokenVerifier
from byok_core.kafka import make_broker
from byok_core.settings import KafkaSettings
from byok_events import DeadLetter, topics
from byok_keyvault.adapters.outbox_sqlite import SqliteOutbox
from byok_keyvault.auth import BearerAuth
from byok_keyvault.entrypoints.http import create_app
from byok_keyvault.entrypoints.kafka import register_key_event_subscriber
from byok_keyvault.handlers import Deps
from byok_keyvault.outbox import EventOutbox
from fakes.keyvault import SECRET, FakeKeyStore, FakePublisher, FakeSealing, FakeValidator, healthy
from faststream.kafka import KafkaBroker


@pytest.fixture
def store() -> FakeKeyStore:
    return FakeKeyStore()


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def outbox_storage(tmp_path) -> SqliteOutbox:
    return SqliteOutbox(str(tmp_path / "outbox.sqlite3"))


@pytest.fixture
def outbox(outbox_storage, publisher, store) -> EventOutbox:
    return EventOutbox(outbox_storage, publisher, store, publish_timeout=1.0, retry_seconds=0.05)


@pytest.fixture
def validator() -> FakeValidator:
    return FakeValidator()


@pytest.fixture
def deps(store, outbox, validator) -> Deps:
    return Deps(store=store, outbox=outbox, validator=validator)


@pytest.fixture
def client_for(deps) -> Callable[..., httpx.AsyncClient]:
    """An HTTP client of the app on the fakes (tokens signed with SECRET); keywords go to create_app."""

    def make(**options: object) -> httpx.AsyncClient:
        verifier = BearerAuth(TokenVerifier(secret=SECRET))
        app = create_app(deps=deps, verifier=verifier, sealing=FakeSealing(), health=healthy, **options)  # type: ignore[arg-type]
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kv")

    return make


@pytest.fixture
async def client(client_for) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for() as c:
        yield c


@pytest.fixture
def key_events(store) -> tuple[KafkaBroker, list[DeadLetter]]:
    """A broker (use it in TestKafkaBroker) with the key-event subscriber on the fake store, and the dead
    letters it writes."""
    broker = make_broker(KafkaSettings())
    register_key_event_subscriber(broker, store, group_id="byok-keyvault-unit")
    letters: list[DeadLetter] = []

    @broker.subscriber(topics.DLQ, group_id="dlq-reader")
    async def on_dlq(body: dict) -> None:
        letters.append(DeadLetter.model_validate(body))

    return broker, letters
