"""Use cases with fakes: store/rotate/delete/list, authorisation by scope, events one per change."""

from __future__ import annotations

import pytest
from byok_core.fingerprint import Fingerprints
from byok_core.settings import SystemKeys
from byok_events import KeyEvent, Provider
from byok_keyvault.domain.formats import KeyFormatError
from byok_keyvault.domain.models import KeyStatus, Principal, Role, Scope
from byok_keyvault.handlers import (
    Conflict,
    Forbidden,
    NotFound,
    delete_key,
    handle_key_event,
    list_keys,
    load_system_keys,
    store_key,
)
from byok_keyvault.ports import KeyRejected
from fakes.keyvault import ANTHROPIC_KEY, OPENAI_KEY
from pydantic import SecretStr

ALICE = Principal("alice", "acme", Role.MEMBER)
ADMIN = Principal("root", "acme", Role.ADMIN)
EVE = Principal("alice", "evil", Role.ADMIN)  # same user id, another tenant


async def test_store_then_rotate_emits_stored_then_rotated(deps, publisher, store):
    meta, created = await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)
    assert created and meta.version == 1 and meta.status is KeyStatus.ACTIVE
    meta2, created2 = await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, " " + ANTHROPIC_KEY[:-1] + "Q", deps)
    assert not created2 and meta2.version == 2
    assert meta2.created_at == meta.created_at and meta2.updated_at >= meta.updated_at
    assert [(e.type, e.version) for e in publisher.events] == [("key.stored", 1), ("key.rotated", 2)]
    assert all(e.tenant_id == "acme" and e.user_id == "alice" and e.scope == "user" for e in publisher.events)
    assert store.raw_key("tenants/acme/users/alice/anthropic") == ANTHROPIC_KEY[:-1] + "Q"  # trimmed
    for event in publisher.events:
        assert ANTHROPIC_KEY[8:-4] not in event.model_dump_json()


async def test_bad_format_stores_nothing_and_emits_nothing(deps, publisher, store):
    with pytest.raises(KeyFormatError):
        await store_key(ALICE, Provider.OPENAI, Scope.USER, ANTHROPIC_KEY, deps)
    assert store.secrets == {} and publisher.events == []


async def test_member_cannot_manage_org_keys_admin_can(deps, publisher):
    with pytest.raises(Forbidden):
        await store_key(ALICE, Provider.OPENAI, Scope.ORG, OPENAI_KEY, deps)
    with pytest.raises(Forbidden):
        await delete_key(ALICE, Provider.OPENAI, Scope.ORG, deps)
    with pytest.raises(Forbidden):
        await list_keys(ALICE, deps, Scope.ORG)
    meta, _ = await store_key(ADMIN, Provider.OPENAI, Scope.ORG, OPENAI_KEY, deps)
    assert meta.ref.path == "tenants/acme/org/openai"
    assert publisher.events[-1].user_id is None and publisher.events[-1].scope == "org"


async def test_list_is_scoped_to_caller(deps):
    await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)
    await store_key(ADMIN, Provider.OPENAI, Scope.ORG, OPENAI_KEY, deps)
    await store_key(EVE, Provider.OPENAI, Scope.USER, OPENAI_KEY, deps)
    assert [(m.ref.scope, m.ref.provider) for m in await list_keys(ALICE, deps)] == [(Scope.USER, Provider.ANTHROPIC)]
    assert [(m.ref.scope, m.ref.provider) for m in await list_keys(ADMIN, deps)] == [(Scope.ORG, Provider.OPENAI)]
    eve = await list_keys(EVE, deps)
    assert [(m.ref.tenant_id, m.ref.scope) for m in eve] == [("evil", Scope.USER)]


async def test_delete(deps, publisher, store):
    await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)
    with pytest.raises(NotFound):
        await delete_key(EVE, Provider.ANTHROPIC, Scope.USER, deps)  # same user id, other tenant: not found
    await delete_key(ALICE, Provider.ANTHROPIC, Scope.USER, deps)
    assert store.secrets == {}
    assert [(e.type, e.version) for e in publisher.events] == [("key.stored", 1), ("key.deleted", 1)]
    with pytest.raises(NotFound):
        await delete_key(ALICE, Provider.ANTHROPIC, Scope.USER, deps)


async def test_concurrent_change_is_retried_then_gives_up(deps, store, outbox_storage, publisher):
    store.conflicts_before_put = 2
    meta, _ = await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)
    assert meta.version == 1 and len(publisher.events) == 1 and outbox_storage.rows() == []
    store.conflicts_before_put = 99
    with pytest.raises(Conflict):
        await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)
    assert len(publisher.events) == 1 and outbox_storage.rows() == []  # aborted events are forgotten


async def test_live_validation(deps, validator, store):
    validator.accept = False
    with pytest.raises(KeyRejected):
        await store_key(ALICE, Provider.OPENAI, Scope.USER, OPENAI_KEY, deps, live=True)
    assert store.secrets == {} and validator.calls == [Provider.OPENAI]
    validator.accept = True
    await store_key(ALICE, Provider.OPENAI, Scope.USER, OPENAI_KEY, deps, live=True)
    assert store.raw_key("tenants/acme/users/alice/openai") == OPENAI_KEY


async def test_key_invalid_marks_only_that_version(deps, store):
    await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)
    event = KeyEvent(
        event_id="e1",
        type="key.invalid",
        tenant_id="acme",
        user_id="alice",
        scope="user",
        provider="anthropic",
        version=1,
    )
    assert await handle_key_event(event, store)
    assert [m.status for m in await list_keys(ALICE, deps)] == [KeyStatus.INVALID]
    await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)  # rotation: active again
    assert [m.status for m in await list_keys(ALICE, deps)] == [KeyStatus.ACTIVE]
    late = event.model_copy(update={"event_id": "e2"})  # a late key.invalid for version 1
    await handle_key_event(late, store)
    assert [m.status for m in await list_keys(ALICE, deps)] == [KeyStatus.ACTIVE]
    other = event.model_copy(update={"type": "key.stored", "version": 2})
    assert not await handle_key_event(other, store)


async def test_system_keys_loaded_once(store):
    keys = SystemKeys(anthropic_api_key=SecretStr(" " + ANTHROPIC_KEY + " "), openai_api_key=SecretStr(" "))
    assert await load_system_keys(keys, store, Fingerprints.ephemeral()) == ["anthropic"]
    assert store.system == {"anthropic": ANTHROPIC_KEY}
    assert await load_system_keys(keys, store, Fingerprints.ephemeral()) == []
