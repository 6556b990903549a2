"""OutboxStorage in a local SQLite file (WAL). Rows are key events: ids, fingerprints, versions; no keys."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    event_id: str
    state: str
    payload: str
    created: float


class SqliteOutbox:
    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " event_id TEXT UNIQUE NOT NULL, state TEXT NOT NULL,"
            " payload TEXT NOT NULL, created REAL NOT NULL)"
        )

    def add(self, event_id: str, payload: str, state: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO outbox (event_id, state, payload, created) VALUES (?, ?, ?, ?)",
                (event_id, state, payload, time.time()),
            )

    def set_state(self, event_id: str, state: str) -> None:
        with self._lock:
            self._db.execute("UPDATE outbox SET state = ? WHERE event_id = ?", (state, event_id))

    def remove(self, event_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE event_id = ?", (event_id,))

    def rows(self, state: str | None = None) -> list[Row]:
        query = "SELECT event_id, state, payload, created FROM outbox"
        params: tuple[str, ...] = ()
        if state is not None:
            query += " WHERE state = ?"
            params = (state,)
        with self._lock:
            return [Row(*r) for r in self._db.execute(query + " ORDER BY seq", params).fetchall()]

    def count(self, state: str) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE state = ?", (state,)).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
