"""The outbox: a key change is never left without its event, even when Kafka or the process fails."""

from __future__ import annotations

import asyncio
import contextlib

from byok_core.vault import KeyStoreUnavailable
from byok_events import Provider
from byok_keyvault.domain.models import Principal, Role, Scope
from byok_keyvault.handlers import delete_key, store_key
from byok_keyvault.outbox import PREPARED, READY, EventOutbox
from byok_testing.waiting import wait_until
from fakes.keyvault import ANTHROPIC_KEY, OPENAI_KEY

ALICE = Principal("alice", "acme", Role.MEMBER)


async def test_kafka_down_then_back_delivers_in_order(deps, publisher, outbox, outbox_storage):
    publisher.down = True
    await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)  # the API call still succeeds
    await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)
    await store_key(ALICE, Provider.OPENAI, Scope.USER, OPENAI_KEY, deps)
    assert publisher.events == []
    assert [r.state for r in outbox_storage.rows()] == [READY, READY, READY]
    assert ANTHROPIC_KEY not in "".join(r.payload for r in outbox_storage.rows())
    assert await outbox.flush() == 0
    publisher.down = False
    relay = asyncio.create_task(outbox.run())
    try:
        await wait_until(lambda: len(publisher.events) == 3, 2, lambda: f"{len(publisher.events)} of 3 published")
    finally:
        await outbox.stop()
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
    assert [(e.type, e.provider, e.version) for e in publisher.events] == [
        ("key.stored", "anthropic", 1),
        ("key.rotated", "anthropic", 2),
        ("key.stored", "openai", 1),
    ]
    assert outbox_storage.rows() == []


async def test_new_events_queue_behind_a_backlog(deps, publisher, outbox, outbox_storage):
    publisher.down = True
    await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)
    publisher.down = False
    await delete_key(ALICE, Provider.ANTHROPIC, Scope.USER, deps)  # must not overtake the stored event
    assert publisher.events == []
    assert await outbox.flush() == 2
    assert [e.type for e in publisher.events] == ["key.stored", "key.deleted"]


async def test_outbox_survives_a_restart(deps, publisher, outbox_storage, store, tmp_path):
    publisher.down = True
    await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)
    outbox_storage.close()
    from byok_keyvault.adapters.outbox_sqlite import SqliteOutbox

    reopened = SqliteOutbox(str(tmp_path / "outbox.sqlite3"))
    publisher.down = False
    fresh = EventOutbox(reopened, publisher, store, publish_timeout=1.0)
    assert await fresh.flush() == 1
    assert publisher.events[0].type == "key.stored"


async def test_ambiguous_vault_failure_is_resolved_against_vault(deps, publisher, outbox, outbox_storage, store):
    store.fail_next_put = KeyStoreUnavailable("timeout")
    try:
        await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)
    except KeyStoreUnavailable:
        pass
    assert [r.state for r in outbox_storage.rows()] == [PREPARED]
    await outbox.resolve_prepared(older_than=0)  # the write did not happen: the event is dropped
    assert outbox_storage.rows() == [] and publisher.events == []


async def test_crash_after_vault_write_still_emits(publisher, outbox, outbox_storage, store, deps):
    """The process died between the Vault write and the publish: the prepared event is found and sent."""
    from byok_keyvault import handlers

    class Crash(BaseException):
        pass

    async def crash(event):
        raise Crash()

    outbox.commit = crash  # type: ignore[method-assign]
    try:
        await handlers.store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)
    except Crash:
        pass
    assert [r.state for r in outbox_storage.rows()] == [PREPARED]
    fresh = EventOutbox(outbox_storage, publisher, store, publish_timeout=1.0)
    await fresh.resolve_prepared(older_than=0)
    assert await fresh.flush() == 1
    assert [(e.type, e.version) for e in publisher.events] == [("key.stored", 1)]


async def test_slow_publisher_times_out_into_the_outbox(deps, store, outbox_storage):
    class Hanging:
        async def publish(self, event):
            await asyncio.sleep(10)

    deps.outbox = EventOutbox(outbox_storage, Hanging(), store, publish_timeout=0.05)
    await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)
    assert [r.state for r in outbox_storage.rows()] == [READY]
