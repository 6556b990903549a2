"""SQLAlchemy 2 round trips on the real PostgreSQL and on SQLite, with the ledger's exact money type.

SQLite's NUMERIC affinity would turn amounts into floats; the ledger's Money type keeps them exact.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from byok_billing.adapters.sqltypes import Money
from sqlalchemy import String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

pytestmark = pytest.mark.integration


class Base(DeclarativeBase):
    pass


def _model(table: str) -> type:
    return type(
        f"Row_{table}",
        (Base,),
        {
            "__tablename__": table,
            "__annotations__": {"id": Mapped[str], "amount": Mapped[Decimal]},
            "id": mapped_column(String(64), primary_key=True),
            "amount": mapped_column(Money()),
        },
    )


def _round_trip(url: str) -> None:
    table = f"smoke_{uuid.uuid4().hex[:10]}"
    row_type = _model(table)
    engine = create_engine(url)
    try:
        row_type.__table__.create(engine)
        with Session(engine) as session, session.begin():
            session.add(row_type(id="a", amount=Decimal("0.0000000001")))
            session.add(row_type(id="b", amount=Decimal("12345678901234.0000000001")))
        with Session(engine) as session:
            amounts = dict(session.execute(select(row_type.id, row_type.amount)).all())
        assert amounts == {"a": Decimal("0.0000000001"), "b": Decimal("12345678901234.0000000001")}
    finally:
        row_type.__table__.drop(engine, checkfirst=True)
        engine.dispose()


def test_postgresql_round_trip(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql")
    _round_trip(postgres_url)


def test_sqlite_round_trip(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'smoke.sqlite3'}")
