"""Alembic environment: the URL from the caller (byok-billing migrate) or BYOK_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from byok_billing.adapters.schema import metadata
from byok_billing.config import BillingSettings

config = context.config
VERSION_TABLE = "byok_billing_alembic_version"  # the database may be shared with other services


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or BillingSettings().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
