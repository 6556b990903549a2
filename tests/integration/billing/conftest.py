"""Billing integration fixtures: a ledger on the real PostgreSQL or on a SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from byok_billing.adapters.ledger_sql import SqlLedger
from byok_billing.adapters.migrate import upgrade
from byok_billing.config import BillingSettings
from byok_billing.main import make_ledger


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


@pytest.fixture
def ledger(db_url: str) -> Iterator[SqlLedger]:
    ledger = make_ledger(BillingSettings(database_url=db_url))
    upgrade(ledger.engine)
    yield ledger
    ledger.engine.dispose()
