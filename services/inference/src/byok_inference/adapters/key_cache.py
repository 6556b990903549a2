"""A short-lived in-memory cache in front of a KeyStore, emptied for a key as soon as a key event names it.

Absent keys are cached too (most requests of a system-key tenant look up user and org keys that do not
exist). Entries live `ttl` seconds; `evict` is called by the key-events subscriber, so a stored, rotated,
deleted or invalid key is re-read on the next request. Concurrent misses of one place share one read.

When the store cannot answer (Vault restarting, sealed, unreachable), an expired entry is still used for up to
`stale_if_unavailable` seconds past its expiry instead of failing the request. This cannot bring back a key
that was changed: every change is written to Vault (impossible while it is down) and its key event evicts the
entry, and an evicted entry is gone, not stale.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

from byok_events import Provider

from ..ports import KeyStore, KeyStoreUnavailable, Scope, StoredKey

log = logging.getLogger("byok.inference.keys")

_Place = tuple[str, str, str | None, str]


class CachedKeyStore:
    def __init__(
        self, inner: KeyStore, *, ttl: float = 30.0, max_entries: int = 100_000, stale_if_unavailable: float = 300.0
    ) -> None:
        self._inner = inner
        self._ttl = ttl
        self._stale_for = stale_if_unavailable
        self.stale_answers = 0
        self._max = max_entries
        self._entries: OrderedDict[_Place, tuple[float, StoredKey | None]] = OrderedDict()
        self._exists: OrderedDict[_Place, tuple[float, bool]] = OrderedDict()
        self._pending: dict[_Place, asyncio.Future[StoredKey | None]] = {}
        self._generation: dict[_Place, int] = {}

    async def get(self, scope: Scope, tenant_id: str, user_id: str | None, provider: Provider) -> StoredKey | None:
        place = (scope, tenant_id, user_id if scope == "user" else None, provider.value)
        entry = self._entries.get(place)
        now = time.monotonic()
        if entry is not None and entry[0] > now:
            return entry[1]
        pending = self._pending.get(place)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[StoredKey | None] = asyncio.get_running_loop().create_future()
        self._pending[place] = future
        generation = self._generation.get(place, 0)
        try:
            key = await self._inner.get(scope, tenant_id, user_id, provider)
        except KeyStoreUnavailable as exc:
            stale = self._entries.get(place)
            if stale is not None and stale[0] + self._stale_for > now and self._generation.get(place, 0) == generation:
                self.stale_answers += 1
                if self.stale_answers == 1 or self.stale_answers % 1000 == 0:
                    log.warning(
                        "key store unavailable: using last-known keys", extra={"stale_answers": self.stale_answers}
                    )
                future.set_result(stale[1])
                return stale[1]
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters (if any) re-raise it
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            self._pending.pop(place, None)
        if self._generation.get(place, 0) == generation:  # no key event arrived while reading
            self._entries[place] = (now + self._ttl, key)
            self._entries.move_to_end(place)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        future.set_result(key)
        return key

    async def exists(self, scope: Scope, tenant_id: str, user_id: str | None, provider: Provider) -> bool:
        """Answered from a cached read when there is one, else from the store's metadata (cached alike)."""
        place = (scope, tenant_id, user_id if scope == "user" else None, provider.value)
        now = time.monotonic()
        entry = self._entries.get(place)
        if entry is not None and entry[0] > now:
            return entry[1] is not None
        known = self._exists.get(place)
        if known is not None and known[0] > now:
            return known[1]
        generation = self._generation.get(place, 0)
        found = await self._inner.exists(scope, tenant_id, user_id, provider)
        if self._generation.get(place, 0) == generation:
            self._exists[place] = (now + self._ttl, found)
            self._exists.move_to_end(place)
            while len(self._exists) > self._max:
                self._exists.popitem(last=False)
        return found

    def evict(self, tenant_id: str, user_id: str | None, scope: str, provider: str) -> None:
        """Forget one place (a key event for it arrived); a read in progress is not cached."""
        place = (scope, tenant_id, user_id if scope == "user" else None, provider)
        self._entries.pop(place, None)
        self._exists.pop(place, None)
        self._generation[place] = self._generation.get(place, 0) + 1
        self._pending.pop(place, None)

    def __len__(self) -> int:
        return len(self._entries)
