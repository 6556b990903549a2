"""Exit 0 when the database at BYOK_DATABASE_URL (a SQLAlchemy URL, read from the environment) answers."""

from __future__ import annotations

import os
import sys

import sqlalchemy
from sqlalchemy.engine import make_url

url = make_url(os.environ["BYOK_DATABASE_URL"])
timeout = {"connect_timeout": 10} if url.get_backend_name() == "postgresql" else {}
engine = sqlalchemy.create_engine(url, connect_args=timeout)
try:
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text("SELECT 1"))
except sqlalchemy.exc.SQLAlchemyError as error:
    cause = type(getattr(error, "orig", None) or error).__name__
    sys.exit(f"{url.render_as_string(hide_password=True)} does not answer: {cause}")
