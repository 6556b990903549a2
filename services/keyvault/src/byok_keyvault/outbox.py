"""Delivery of key events with a local durable outbox: a key change never stays without its event.

1. Before Vault is written, the event (no key material) is stored as `prepared`.
2. Vault written: the event is published at once (idempotent producer, acks=all, short timeout) and removed;
   if that fails, or older events are still waiting, it becomes `ready` and the relay delivers it in order.
3. A `prepared` event older than the grace period (the process died or Vault's answer was lost between
   1 and 2) is checked against Vault: the change happened -> `ready`; it did not -> dropped.
Delivery is at least once; consumers drop duplicates by event_id.
"""

from __future__ import annotations

import asyncio
import logging
import time

from byok_core.logging import log_context
from byok_events import KeyEvent, Provider

from .domain.models import KeyRef, Scope
from .metrics import EVENTS_PUBLISHED, OUTBOX_PENDING, PUBLISH_FAILURES
from .ports import EventPublisher, KeyStore, OutboxStorage

log = logging.getLogger("byok.keyvault.outbox")

PREPARED = "prepared"
READY = "ready"


class EventOutbox:
    def __init__(
        self,
        storage: OutboxStorage,
        publisher: EventPublisher,
        store: KeyStore,
        *,
        publish_timeout: float = 5.0,
        retry_seconds: float = 1.0,
        prepared_grace_seconds: float = 30.0,
    ) -> None:
        self._storage = storage
        self._publisher = publisher
        self._store = store
        self._publish_timeout = publish_timeout
        self._retry_seconds = retry_seconds
        self._grace = prepared_grace_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._flush_lock = asyncio.Lock()

    # request path ----------------------------------------------------------------------------------

    def prepare(self, event: KeyEvent) -> None:
        self._storage.add(event.event_id, event.model_dump_json(by_alias=True), PREPARED)

    def abort(self, event: KeyEvent) -> None:
        """The change certainly did not happen: forget its event."""
        self._storage.remove(event.event_id)

    async def commit(self, event: KeyEvent) -> bool:
        """The change happened: deliver now if nothing older waits; True when delivered."""
        if self._storage.count(READY) == 0 and await self._deliver(event, "direct"):
            return True
        self._storage.set_state(event.event_id, READY)
        self._wake.set()
        self._update_gauge()
        return False

    # relay -----------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Background task: deliver `ready` events in order, resolve stale `prepared` ones."""
        while not self._stopping:
            try:
                await self.flush()
                await self.resolve_prepared()
            except Exception:
                log.exception("outbox relay pass failed")
            self._update_gauge()
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._retry_seconds)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(self.flush(), timeout=self._publish_timeout)
        except (TimeoutError, Exception):
            log.warning("outbox not empty at shutdown; it is delivered at the next start")

    async def flush(self) -> int:
        delivered = 0
        async with self._flush_lock:
            for row in self._storage.rows(READY):
                event = KeyEvent.model_validate_json(row.payload)
                if not await self._deliver(event, "outbox"):
                    break  # keep order: stop at the first failure, retry later
                delivered += 1
        return delivered

    async def resolve_prepared(self, *, older_than: float | None = None) -> None:
        limit = time.time() - (self._grace if older_than is None else older_than)
        for row in self._storage.rows(PREPARED):
            if row.created > limit:
                continue
            event = KeyEvent.model_validate_json(row.payload)
            if await self._happened(event):
                self._storage.set_state(event.event_id, READY)
                self._wake.set()
            else:
                self._storage.remove(event.event_id)

    async def _happened(self, event: KeyEvent) -> bool:
        ref = KeyRef(
            tenant_id=event.tenant_id,
            scope=Scope(event.scope),
            provider=Provider(event.provider),
            user_id=event.user_id,
        )
        current = await self._store.get(ref)
        if event.type == "key.deleted":
            return current is None or (current.version, current.fingerprint) != (
                event.version,
                event.fingerprint,
            )
        return current is not None and current.version >= (event.version or 0)

    async def _deliver(self, event: KeyEvent, path: str) -> bool:
        with log_context(event_id=event.event_id):
            try:
                await asyncio.wait_for(self._publisher.publish(event), timeout=self._publish_timeout)
            except Exception as exc:
                PUBLISH_FAILURES.inc()
                log.warning("key event not delivered yet (%s); kept in the outbox", type(exc).__name__)
                return False
            self._storage.remove(event.event_id)
            EVENTS_PUBLISHED.labels(path).inc()
            return True

    def _update_gauge(self) -> None:
        for state in (PREPARED, READY):
            OUTBOX_PENDING.labels(state).set(self._storage.count(state))
