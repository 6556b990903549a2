"""The Alembic migrations build exactly the ledger schema the code declares (no drift between the two)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from byok_billing.adapters.migrate import upgrade
from byok_billing.adapters.schema import metadata
from sqlalchemy import create_engine


def test_migrated_sqlite_schema_matches_the_declared_tables(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    try:
        upgrade(engine)
        upgrade(engine)  # idempotent
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        engine.dispose()
    alembic_bookkeeping = ("remove_table", "byok_billing_alembic_version")
    assert [d for d in differences if (d[0], getattr(d[1], "name", None)) != alembic_bookkeeping] == []
