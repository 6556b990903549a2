"""Fixtures of the key-vault unit tests: fakes from kv_fakes, a real SQLite outbox in tmp_path."""

from __future__ import annotations

import pytest
from byok_keyvault.adapters.outbox_sqlite import SqliteOutbox
from byok_keyvault.handlers import Deps
from byok_keyvault.outbox import EventOutbox
from fakes.keyvault import FakeKeyStore, FakePublisher, FakeValidator


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
