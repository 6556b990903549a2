"""Use cases of the key-vault service: plain async functions of (input, dependencies)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from byok_core.fingerprint import fingerprint
from byok_core.settings import SystemKeys
from byok_events import KeyEvent, Provider

from .domain.formats import normalize_key
from .domain.models import KeyMetadata, KeyRef, Principal, Scope
from .metrics import KEY_CHANGES
from .outbox import EventOutbox
from .ports import KeyStore, LiveValidator, VersionConflict

log = logging.getLogger("byok.keyvault.handlers")

MAX_CAS_ATTEMPTS = 5


class Forbidden(Exception):
    """The caller may not manage keys of this scope."""


class NotFound(Exception):
    """There is no such key (for this caller)."""


class Conflict(Exception):
    """The key kept changing under concurrent writes."""


@dataclass
class Deps:
    store: KeyStore
    outbox: EventOutbox
    validator: LiveValidator | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _event(kind: str, ref: KeyRef, fp: str | None, version: int | None) -> KeyEvent:
    return KeyEvent(
        event_id=str(uuid.uuid4()),
        type=kind,
        tenant_id=ref.tenant_id,
        user_id=ref.user_id,
        scope=ref.scope.value,
        provider=ref.provider,
        fingerprint=fp,
        version=version,
    )


async def store_key(
    principal: Principal, provider: Provider, scope: Scope, raw_key: str, deps: Deps, *, live: bool = False
) -> tuple[KeyMetadata, bool]:
    """Store (or rotate) a key; returns its metadata and True when it is new. Never returns the key."""
    if not principal.may_manage(scope):
        raise Forbidden("only admins manage org keys")
    api_key = normalize_key(provider, raw_key)  # KeyFormatError -> 422
    if live:
        if deps.validator is None:
            raise RuntimeError("live validation is not configured")
        await deps.validator.validate(provider, api_key)  # KeyRejected / ValidationUnavailable
    ref = KeyRef.for_principal(principal, scope, provider)
    fp = fingerprint(api_key)
    for _ in range(MAX_CAS_ATTEMPTS):
        current = await deps.store.get(ref)
        expected = current.version if current else 0
        created_at = _rfc3339(current.created_at) if current else _now()
        event = _event("key.rotated" if current else "key.stored", ref, fp, expected + 1)
        deps.outbox.prepare(event)
        try:
            meta = await deps.store.put(ref, api_key, fingerprint=fp, expected_version=expected, created_at=created_at)
        except VersionConflict:
            deps.outbox.abort(event)
            continue
        # any other failure leaves the event `prepared`: the relay checks Vault and sends it if it happened
        if meta.version != event.version:  # cannot happen with check-and-set; keep the event truthful anyway
            deps.outbox.abort(event)
            event = _event(event.type, ref, fp, meta.version)
            deps.outbox.prepare(event)
        await deps.outbox.commit(event)
        KEY_CHANGES.labels(event.type, scope.value).inc()
        log.info(
            "%s %s scope=%s version=%d fingerprint=%s",
            event.type,
            provider.value,
            scope.value,
            meta.version,
            fp,
        )
        return meta, current is None
    raise Conflict("the key changed concurrently; try again")


async def delete_key(principal: Principal, provider: Provider, scope: Scope, deps: Deps) -> None:
    if not principal.may_manage(scope):
        raise Forbidden("only admins manage org keys")
    ref = KeyRef.for_principal(principal, scope, provider)
    current = await deps.store.get(ref)
    if current is None:
        raise NotFound("no such key")
    event = _event("key.deleted", ref, current.fingerprint, current.version)
    deps.outbox.prepare(event)
    await deps.store.destroy(ref)
    await deps.outbox.commit(event)
    KEY_CHANGES.labels(event.type, scope.value).inc()
    log.info("key.deleted %s scope=%s version=%d", provider.value, scope.value, current.version)


async def list_keys(principal: Principal, deps: Deps, scope: Scope | None = None) -> list[KeyMetadata]:
    """The caller's own user keys and, for admins, the tenant's org keys."""
    scopes = [scope] if scope is not None else [Scope.USER, Scope.ORG]
    found: list[KeyMetadata] = []
    for wanted in scopes:
        if not principal.may_manage(wanted):
            if scope is not None:
                raise Forbidden("only admins see org keys")
            continue
        user_id = principal.user_id if wanted is Scope.USER else None
        found.extend(await deps.store.list(principal.tenant_id, wanted, user_id))
    return sorted(found, key=lambda m: (m.ref.scope.value, m.ref.provider.value))


async def handle_key_event(event: KeyEvent, store: KeyStore) -> bool:
    """key.invalid from the inference worker: mark that version invalid (a newer version stays active)."""
    if event.type != "key.invalid" or event.version is None:
        return False
    if event.scope == "user" and not event.user_id:
        return False
    ref = KeyRef(
        tenant_id=event.tenant_id,
        scope=Scope(event.scope),
        provider=Provider(event.provider),
        user_id=event.user_id if event.scope == "user" else None,
    )
    marked = await store.mark_invalid(ref, event.version)
    log.info(
        "key.invalid %s scope=%s version=%d recorded=%s",
        ref.provider.value,
        ref.scope.value,
        event.version,
        marked,
    )
    return marked


async def load_system_keys(system_keys: SystemKeys, store: KeyStore) -> list[str]:
    """Write BYOK_SYSTEM_*_API_KEY into system/<provider> (unchanged keys are not rewritten)."""
    written = []
    for name, secret in system_keys.present().items():
        api_key = secret.get_secret_value().strip()
        if await store.put_system(Provider(name), api_key, fingerprint=fingerprint(api_key)):
            written.append(name)
    if written:
        log.info("system keys loaded into Vault: %s", ", ".join(sorted(written)))
    return written


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
