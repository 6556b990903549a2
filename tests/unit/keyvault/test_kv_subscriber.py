"""The key.invalid subscriber, in memory (FastStream TestKafkaBroker)."""

from __future__ import annotations

import json

import pytest
from byok_events import KeyEvent, Provider, topics
from byok_events.keys import key_invalid_event_id
from byok_keyvault.domain.models import KeyRef, KeyStatus, Principal, Role, Scope
from byok_keyvault.handlers import store_key
from fakes.keyvault import ANTHROPIC_KEY
from faststream.kafka import TestKafkaBroker

ALICE = Principal("alice", "acme", Role.MEMBER)
WORKER = {"byok-producer": "inference"}


def worker_key_invalid(tenant: str, user: str | None, version: int = 1, request_id: str = "req-1") -> KeyEvent:
    """A key.invalid exactly as the inference worker writes it."""
    return KeyEvent(
        event_id=key_invalid_event_id(tenant, request_id),
        type="key.invalid",
        tenant_id=tenant,
        user_id=user,
        scope="user" if user else "org",
        provider="anthropic",
        fingerprint="sk-a…1234#abcdef",
        version=version,
        request_id=request_id,
    )


async def test_key_invalid_is_recorded_and_garbage_goes_to_the_dlq(deps, store, key_events):
    await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)
    broker, letters = key_events
    async with TestKafkaBroker(broker) as test_broker:
        stored = KeyEvent(
            event_id="s1",
            type="key.stored",
            tenant_id="acme",
            user_id="alice",
            scope="user",
            provider="anthropic",
            version=1,
        )
        await test_broker.publish(stored.to_bytes(), topics.KEY_EVENTS, key=b"acme")
        ref = KeyRef("acme", Scope.USER, Provider.ANTHROPIC, "alice")
        assert (await store.get(ref)).status is KeyStatus.ACTIVE
        invalid = worker_key_invalid("acme", "alice", version=1)
        await test_broker.publish(invalid.to_bytes(), topics.KEY_EVENTS, key=b"acme", headers=WORKER)
        assert (await store.get(ref)).status is KeyStatus.INVALID
        await test_broker.publish(
            b'{"type": "key.invalid", "apiKey": "' + ANTHROPIC_KEY.encode() + b'"}',
            topics.KEY_EVENTS,
            key=b"acme",
        )
    assert len(letters) == 1 and letters[0].reason.startswith("invalid_request")
    assert ANTHROPIC_KEY not in letters[0].payload


def _forged(event: KeyEvent, **changes: object) -> bytes:
    data = event.model_dump(mode="json", by_alias=True)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("changes", "headers"),
    [
        ({}, None),  # no producer header
        ({}, {"byok-producer": "keyvault"}),
        ({}, {"byok-producer": "inference-ish"}),
        ({"request_id": None}, WORKER),
        ({"event_id": "made-up"}, WORKER),
        ({"request_id": "another-request"}, WORKER),  # event_id no longer derives from it
        ({"version": None}, WORKER),
        ({"version": 0}, WORKER),
        ({"fingerprint": None}, WORKER),
        ({"scope": "org"}, WORKER),  # an org event naming a user
    ],
)
async def test_a_key_invalid_not_as_the_worker_writes_it_is_refused(deps, store, key_events, changes, headers):
    await store_key(ALICE, Provider.ANTHROPIC, Scope.USER, ANTHROPIC_KEY, deps)
    broker, letters = key_events
    ref = KeyRef("acme", Scope.USER, Provider.ANTHROPIC, "alice")
    async with TestKafkaBroker(broker) as test_broker:
        forged = _forged(worker_key_invalid("acme", "alice"), **changes)
        await test_broker.publish(forged, topics.KEY_EVENTS, key=b"acme", headers=headers)
        assert (await store.get(ref)).status is KeyStatus.ACTIVE, "a forged key.invalid marks nothing"
    assert len(letters) == 1 and "key.invalid refused" in letters[0].reason
