"""The key-vault service against the real Vault and Kafka of the local stack (nothing mocked)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import hvac
import hvac.exceptions
import pytest
from aiokafka import AIOKafkaProducer
from byok_core.fingerprint import Fingerprints
from byok_core.sealing_keys import SealingKeyStore
from byok_core.vault import VaultForbidden
from byok_core.vault.key_codec import FINGERPRINT_SECRET_PATH, org_key_path, sealing_private_path, user_key_path
from byok_events import KeyEvent, topics
from byok_events.keys import key_invalid_event_id
from byok_sealing import PublicSealingKey, SealedKeyInvalid, seal
from kv_support import JWT_SECRET, KafkaTail, RawLogCapture, bearer, token

AT = datetime.now(UTC)  # created_at of the requests these sealed keys belong to


@pytest.fixture(autouse=True)
def _fresh_created_at() -> None:
    """A session can reach these tests more than the sealed keys' maximum age (900 s) after importing them."""
    global AT
    AT = datetime.now(UTC)


pytestmark = pytest.mark.integration

API = "/api/user-api-keys"


def anthropic_key() -> str:
    return "sk-ant-api03-" + secrets.token_urlsafe(72)


def openai_key() -> str:
    return "sk-proj-" + secrets.token_urlsafe(96)


def gemini_key() -> str:
    return "AIza" + secrets.token_urlsafe(40)[:35]


def vault_fingerprint(root: hvac.Client):
    """Fingerprints with the HMAC secret the service keeps in Vault (what byok.keys.events must carry)."""
    secret = vault_read(root, FINGERPRINT_SECRET_PATH)
    assert secret is not None, "the key-vault service creates the fingerprint secret at start-up"
    return Fingerprints(secret=base64.b64decode(secret["data"]["key"]))


def vault_read(root: hvac.Client, path: str, version: int | None = None) -> dict | None:
    try:
        return root.secrets.kv.v2.read_secret_version(
            path=path, mount_point="byok", version=version, raise_on_deleted_version=True
        )["data"]
    except hvac.exceptions.InvalidPath:
        return None


async def test_crud_rotation_versions_and_delete_really_destroys(kv, vault_root, unique_id):
    fingerprint = vault_fingerprint(vault_root)
    tenant, headers = f"t-{unique_id}", bearer("u1", f"t-{unique_id}")
    path = user_key_path(tenant, "u1", "anthropic")
    first, second = anthropic_key(), anthropic_key()
    async with httpx.AsyncClient(base_url=kv.url) as c:
        r = await c.post(API, json={"keyType": "anthropic", "apiKey": first}, headers=headers)
        assert r.status_code == 201, r.text
        created = r.json()
        assert (created["version"], created["status"], created["fingerprint"]) == (
            1,
            "active",
            fingerprint(first),
        )
        r = await c.post(API, json={"keyType": "anthropic", "apiKey": second, "scope": "user"}, headers=headers)
        assert r.status_code == 200 and r.json()["version"] == 2
        assert r.json()["createdAt"] == created["createdAt"] and r.json()["updatedAt"] >= created["updatedAt"]
        assert vault_read(vault_root, path)["data"]["api_key"] == second
        assert vault_read(vault_root, path, version=1)["data"]["api_key"] == first
        assert vault_read(vault_root, path)["metadata"]["version"] == 2

        listed = (await c.get(API, headers=headers)).json()["keys"]
        assert listed == [{**r.json()}]

        assert (await c.delete(f"{API}/anthropic", headers=headers)).status_code == 204
        for version in (None, 1, 2):
            assert vault_read(vault_root, path, version) is None
        with pytest.raises(hvac.exceptions.InvalidPath):
            vault_root.secrets.kv.v2.read_secret_metadata(path=path, mount_point="byok")
        assert (await c.get(API, headers=headers)).json() == {"keys": []}
        r = await c.delete(f"{API}/anthropic?scope=user", headers=headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_isolation_matrix(kv, vault_root, unique_id):
    """Two tenants, a member and an admin each (same user ids in both): every endpoint, every caller."""
    tenants = [f"ta-{unique_id}", f"tb-{unique_id}"]
    callers = [(t, u, role) for t in tenants for u, role in (("u1", "member"), ("u2", "admin"))]
    paths = [user_key_path(t, u, p) for t, u, _ in callers for p in ("openai", "gemini")]
    paths += [org_key_path(t, p) for t in tenants for p in ("anthropic", "gemini")]

    def snapshot() -> dict[str, tuple[int, str] | None]:
        out = {}
        for path in paths:
            found = vault_read(vault_root, path)
            out[path] = None if found is None else (found["metadata"]["version"], found["data"]["api_key"])
        return out

    async with httpx.AsyncClient(base_url=kv.url) as c:
        fingerprints: dict[tuple[str, str], str] = {}
        for tenant, user, role in callers:  # everyone has a user key; admins put an org key
            key = openai_key()
            r = await c.post(API, json={"keyType": "openai", "apiKey": key}, headers=bearer(user, tenant, role))
            assert r.status_code == 201
            fingerprints[(tenant, user)] = r.json()["fingerprint"]
            if role == "admin":
                r = await c.post(
                    API,
                    json={"keyType": "anthropic", "apiKey": anthropic_key(), "scope": "org"},
                    headers=bearer(user, tenant, role),
                )
                assert r.status_code == 201
                fingerprints[(tenant, "org")] = r.json()["fingerprint"]

        for tenant, user, role in callers:
            h = bearer(user, tenant, role)
            own = {user_key_path(tenant, user, "openai"), user_key_path(tenant, user, "gemini")}
            own_org = {org_key_path(tenant, "anthropic"), org_key_path(tenant, "gemini")}

            # GET: exactly my keys (+ my tenant's org keys when admin), nobody else's fingerprint
            r = await c.get(API, headers=h)
            listed = {(k["scope"], k["keyType"]) for k in r.json()["keys"]}
            expected = {("user", "openai")} | ({("org", "anthropic")} if role == "admin" else set())
            assert listed == expected, (tenant, user, role)
            visible = {(tenant, user)} | ({(tenant, "org")} if role == "admin" else set())
            for owner, fp in fingerprints.items():
                if owner not in visible:
                    assert fp not in r.text
            r = await c.get(API + "?scope=org", headers=h)
            assert r.status_code == (200 if role == "admin" else 403)

            # POST (with attempts to name another tenant or user in the body): only my own path changes
            before = snapshot()
            body = {
                "keyType": "gemini",
                "apiKey": gemini_key(),
                "tenant": tenants[0],
                "tenant_id": tenants[1],
                "userId": "u2",
                "user_id": "u1",
                "sub": "u2",
            }
            assert (await c.post(API, json=body, headers=h)).status_code == 201
            after = snapshot()
            assert {p for p in paths if before[p] != after[p]} == {user_key_path(tenant, user, "gemini")}

            before = after
            r = await c.post(API, json={**body, "scope": "org"}, headers=h)
            assert r.status_code == (201 if role == "admin" else 403)
            after = snapshot()
            changed = {p for p in paths if before[p] != after[p]}
            assert changed == ({org_key_path(tenant, "gemini")} if role == "admin" else set())

            # DELETE: my own only; other scopes/tenants untouched; traversal attempts go nowhere
            before = after
            for bad in ("..%2F..%2Fta%2Forg%2Fopenai", "%2e%2e", "openai%2F..", "OPENAI"):
                r = await c.delete(f"{API}/{bad}", headers=h)
                assert r.status_code in (404, 422), bad
            r = await c.delete(f"{API}/gemini?scope=org&tenant={tenants[0]}", headers=h)
            assert r.status_code == (204 if role == "admin" else 403)
            r = await c.delete(f"{API}/gemini?user=u1&tenant={tenants[1]}", headers=h)
            assert r.status_code == 204
            after = snapshot()
            expected_gone = {user_key_path(tenant, user, "gemini")} | (
                {org_key_path(tenant, "gemini")} if role == "admin" else set()
            )
            assert {p for p in paths if before[p] != after[p]} == expected_gone
            assert all(after[p] is None for p in expected_gone)
            assert own | own_org >= expected_gone

        # every openai user key and org anthropic key is still there, untouched by the others
        final = snapshot()
        for tenant, user, _ in callers:
            assert final[user_key_path(tenant, user, "openai")][0] == 1
        for tenant in tenants:
            assert final[org_key_path(tenant, "anthropic")][0] == 1


async def test_bad_inputs_store_nothing(kv, vault_root, unique_id):
    tenant = f"t-{unique_id}"
    h = bearer("u1", tenant)
    good = anthropic_key()
    cases = [
        ({"keyType": "anthropic", "apiKey": openai_key()}, 422, "invalid_key_format"),
        ({"keyType": "anthropic", "apiKey": "sk-ant-tooshort"}, 422, "invalid_key_format"),
        ({"keyType": "anthropic", "apiKey": good + "x" * 300}, 422, "invalid_key_format"),
        ({"keyType": "anthropic", "apiKey": good[:-2] + "ñ€"}, 422, "invalid_key_format"),
        ({"keyType": "anthropic", "apiKey": good[:30] + " " + good[30:]}, 422, "invalid_key_format"),
        ({"keyType": "anthropic", "apiKey": ""}, 422, "invalid_key_format"),
        ({"keyType": "gemini", "apiKey": gemini_key()[:-1]}, 422, "invalid_key_format"),
        ({"keyType": "openrouter", "apiKey": "sk-or-v1-abc"}, 422, "invalid_key_format"),
        ({"keyType": "azure", "apiKey": good}, 422, "unsupported_key_type"),
        ({"apiKey": good}, 422, "unsupported_key_type"),
        ({"keyType": "anthropic"}, 422, "invalid_request"),
    ]
    async with httpx.AsyncClient(base_url=kv.url) as c:
        for body, status, code in cases:
            r = await c.post(API, json=body, headers=h)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), body
            if body.get("apiKey"):
                assert body["apiKey"].strip()[6:] not in r.text
        r = await c.post(API, content=b'{"keyType": "anthropic", "apiKey": ', headers=h)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "malformed_json")
        r = await c.post(
            API, content=json.dumps({"keyType": "anthropic", "apiKey": good, "x": "y" * 1_048_576}), headers=h
        )
        assert (r.status_code, r.json()["error"]["code"]) == (413, "body_too_large")
        for headers in (
            {},
            {"authorization": "Bearer " + token("u1", tenant, ttl=-120)},
            {"authorization": "Bearer " + token("u1", tenant, secret=JWT_SECRET + "-forged")},
            {"authorization": "Basic dTE6cHc="},
            {"authorization": "Bearer " + token("u1", tenant)[:-3]},
        ):
            for method, url in (("GET", API), ("POST", API), ("DELETE", f"{API}/anthropic")):
                r = await c.request(
                    method,
                    url,
                    headers=headers,
                    json={"keyType": "anthropic", "apiKey": good} if method == "POST" else None,
                )
                assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthorized")
        with pytest.raises(hvac.exceptions.InvalidPath):
            vault_root.secrets.kv.v2.list_secrets(path=f"tenants/{tenant}", mount_point="byok")
        # whitespace around an otherwise good key is trimmed, and that is what Vault holds
        r = await c.post(API, json={"keyType": "anthropic", "apiKey": f"\n  {good}\t "}, headers=h)
        assert r.status_code == 201
        assert vault_read(vault_root, user_key_path(tenant, "u1", "anthropic"))["data"]["api_key"] == good


async def test_event_stream_matches_api_calls_one_for_one(kv, stack_env, vault_root, unique_id):
    tenant = f"t-{unique_id}"
    member, admin = bearer("u1", tenant), bearer("boss", tenant, "admin")
    tail = await KafkaTail(stack_env["BYOK_KAFKA_BOOTSTRAP"], (topics.KEY_EVENTS,)).start()
    try:
        expected = []
        async with httpx.AsyncClient(base_url=kv.url) as c:

            async def call(method, url, headers, body=None, status=None, event=None):
                r = await c.request(method, url, json=body, headers=headers)
                assert r.status_code == status, r.text
                if event:
                    expected.append(event if isinstance(event, tuple) else event(r))

            k1, k2, k3, org = anthropic_key(), anthropic_key(), anthropic_key(), openai_key()
            fp = vault_fingerprint(vault_root)
            assert fp(k1) != Fingerprints.ephemeral()(k1)  # keyed: no one without the secret gets the same
            await call(
                "POST",
                API,
                member,
                {"keyType": "anthropic", "apiKey": k1},
                201,
                ("key.stored", "user", "u1", "anthropic", 1, fp(k1)),
            )
            await call(
                "POST",
                API,
                member,
                {"keyType": "anthropic", "apiKey": k2},
                200,
                ("key.rotated", "user", "u1", "anthropic", 2, fp(k2)),
            )
            await call("POST", API, member, {"keyType": "anthropic", "apiKey": "sk-ant-bad"}, 422)
            await call("POST", API, member, {"keyType": "openai", "apiKey": org, "scope": "org"}, 403)
            await call(
                "POST",
                API,
                admin,
                {"keyType": "openai", "apiKey": org, "scope": "org"},
                201,
                ("key.stored", "org", None, "openai", 1, fp(org)),
            )
            await call("DELETE", f"{API}/openai", member, status=404)
            await call(
                "DELETE",
                f"{API}/anthropic",
                member,
                status=204,
                event=("key.deleted", "user", "u1", "anthropic", 2, fp(k2)),
            )
            await call(
                "POST",
                API,
                member,
                {"keyType": "anthropic", "apiKey": k3},
                201,
                ("key.stored", "user", "u1", "anthropic", 1, fp(k3)),
            )
            await call(
                "DELETE",
                f"{API}/openai?scope=org",
                admin,
                status=204,
                event=("key.deleted", "org", None, "openai", 1, fp(org)),
            )
            await call("GET", API, member, status=200)
        events = await tail.wait_for(lambda v: v.get("tenant_id") == tenant, count=len(expected) + 1, within=5)
    finally:
        await tail.stop()
    got = [(e["type"], e["scope"], e["user_id"], e["provider"], e["version"], e["fingerprint"]) for e in events]
    assert got == expected
    assert len({e["event_id"] for e in events}) == len(events)
    assert all(KeyEvent.model_validate(e).schema_ == "byok.key.event/v1" for e in events)


async def test_canary_key_appears_nowhere_but_vault(kv, stack_env, vault_root, unique_id):
    tenant = f"t-{unique_id}"
    canary, canary2 = anthropic_key(), anthropic_key()
    h = bearer("u1", tenant)
    capture = RawLogCapture()
    root = logging.getLogger()
    old_level = root.level
    root.handlers.insert(0, capture)  # before any redacting handler: we see what the code emits
    root.setLevel(logging.DEBUG)
    all_topics = tuple(topics.ALL_TOPICS)
    tail = await KafkaTail(stack_env["BYOK_KAFKA_BOOTSTRAP"], all_topics).start()
    responses: list[str] = []
    try:
        async with httpx.AsyncClient(base_url=kv.url) as c:

            async def call(method, url, **kw):
                r = await c.request(method, url, headers=h, **kw)
                responses.append(f"{r.status_code} {dict(r.headers)} {r.text}")
                return r

            assert (await call("POST", API, json={"keyType": "anthropic", "apiKey": canary})).status_code == 201
            in_vault = vault_read(vault_root, user_key_path(tenant, "u1", "anthropic"))
            assert in_vault["data"]["api_key"] == canary  # planted: Vault holds it
            await call("POST", API, json={"keyType": "openai", "apiKey": canary})  # wrong provider
            await call("POST", API, json={"keyType": "gemini", "apiKey": canary + " x"})
            await call("POST", API, content=f'{{"keyType": "anthropic", "apiKey": "{canary}"'.encode())  # bad JSON
            await call("POST", API, content=json.dumps({"keyType": "anthropic", "apiKey": canary, "p": "x" * 70_000}))
            await call("POST", API, json={"keyType": "anthropic", "apiKey": canary, "scope": "org"})  # 403
            await call("POST", API, json={"keyType": "anthropic", "apiKey": canary2})
            await call("GET", API)
            await call("GET", f"{API}?scope={canary}")
            await call("DELETE", f"{API}/{canary}")
            await call("DELETE", f"{API}/anthropic")
            await asyncio.sleep(1.0)  # let the events land
        records = await tail.read_all()
    finally:
        await tail.stop()
        root.handlers.remove(capture)
        root.setLevel(old_level)
    assert len(records) >= 3  # stored, rotated, deleted at least
    kafka_text = "\n".join(f"{r.key!r} {r.value!r} {r.headers!r}" for r in records)
    log_text = "\n".join(capture.lines)
    assert capture.lines, "no logs captured"
    outbox_bytes = Path(kv.service.settings.keyvault_outbox_path).read_bytes()
    for secret in (canary, canary2):
        for fragment in (secret, secret[4:-4], secret[20:44]):
            assert fragment not in kafka_text
            assert fragment not in log_text
            assert fragment not in "\n".join(responses)
            assert fragment.encode() not in outbox_bytes


async def test_key_invalid_from_the_worker_sets_status(kv, stack_env, unique_id):
    tenant = f"t-{unique_id}"
    h = bearer("u1", tenant)
    async with httpx.AsyncClient(base_url=kv.url) as c:
        r = await c.post(API, json={"keyType": "anthropic", "apiKey": anthropic_key()}, headers=h)
        meta = r.json()
        producer = AIOKafkaProducer(bootstrap_servers=stack_env["BYOK_KAFKA_BOOTSTRAP"])
        await producer.start()
        try:
            forged = KeyEvent(
                event_id=str(uuid.uuid4()),
                type="key.invalid",
                tenant_id=tenant,
                user_id="u1",
                scope="user",
                provider="anthropic",
                fingerprint=meta["fingerprint"],
                version=1,
            )
            # not as the worker writes it (no producer header, no request_id): refused, the key stays active
            await producer.send_and_wait(topics.KEY_EVENTS, forged.to_bytes(), key=tenant.encode())
            await asyncio.sleep(2)
            assert (await c.get(API, headers=h)).json()["keys"][0]["status"] == "active"
            event = forged.model_copy(update={"event_id": key_invalid_event_id(tenant, "req-1"), "request_id": "req-1"})
            await producer.send_and_wait(
                topics.KEY_EVENTS, event.to_bytes(), key=tenant.encode(), headers=[("byok-producer", b"inference")]
            )
        finally:
            await producer.stop()
        status = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = (await c.get(API, headers=h)).json()["keys"][0]["status"]
            if status == "invalid":
                break
            await asyncio.sleep(0.3)
        assert status == "invalid"
        r = await c.post(API, json={"keyType": "anthropic", "apiKey": anthropic_key()}, headers=h)
        assert (r.json()["version"], r.json()["status"]) == (2, "active")
        assert (await c.get(API, headers=h)).json()["keys"][0]["status"] == "active"


async def test_sealing_round_trip_tamper_binding_and_rotation(kv, inference_vault, keyvault_vault, unique_id):
    secret_key = anthropic_key()
    tenant, request_id = f"t-{unique_id}", str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=kv.url) as c:
        r = await c.get("/api/sealing-key")  # no auth needed
        assert r.status_code == 200
        first = PublicSealingKey.from_json(r.json())
        assert r.json()["format"] == "byok-seal-v2" and first.kid in r.json()["kids"]
        sealed = seal(
            secret_key, public_key=first, tenant_id=tenant, request_id=request_id, provider="anthropic", created_at=AT
        )

        worker = SealingKeyStore(inference_vault)
        assert (
            await worker.open(sealed, tenant_id=tenant, request_id=request_id, provider="anthropic", created_at=AT)
            == secret_key
        )
        with pytest.raises(SealedKeyInvalid):
            await worker.open(
                sealed, tenant_id=tenant + "x", request_id=request_id, provider="anthropic", created_at=AT
            )
        with pytest.raises(SealedKeyInvalid):
            await worker.open(
                sealed, tenant_id=tenant, request_id=request_id + "x", provider="anthropic", created_at=AT
            )
        tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
        with pytest.raises(SealedKeyInvalid):
            await worker.open(tampered, tenant_id=tenant, request_id=request_id, provider="anthropic", created_at=AT)
        with pytest.raises(SealedKeyInvalid):
            await worker.open(
                sealed.replace(first.kid, "sk-no-such-kid"),
                tenant_id=tenant,
                request_id=request_id,
                provider="anthropic",
                created_at=AT,
            )

        # rotation: a new current key; the envelope sealed before it is still in flight and still opens
        rotated = await SealingKeyStore(keyvault_vault).rotate()
        assert rotated.kid != first.kid
        r = await c.get("/api/sealing-key")
        assert r.json()["kid"] == rotated.kid and {first.kid, rotated.kid} <= set(r.json()["kids"])
        fresh_worker = SealingKeyStore(inference_vault)
        assert (
            await fresh_worker.open(
                sealed, tenant_id=tenant, request_id=request_id, provider="anthropic", created_at=AT
            )
            == secret_key
        )
        new_sealed = seal(
            secret_key,
            public_key=PublicSealingKey.from_json(r.json()),
            tenant_id=tenant,
            request_id=request_id,
            provider="anthropic",
            created_at=AT,
        )
        assert (
            await fresh_worker.open(
                new_sealed, tenant_id=tenant, request_id=request_id, provider="anthropic", created_at=AT
            )
            == secret_key
        )

    # the private halves: the worker reads them, the key-vault service cannot read them back
    with pytest.raises(VaultForbidden):
        await keyvault_vault.read(sealing_private_path(first.kid))


async def test_vault_policies(kv, vault_root, inference_vault, billing_vault, keyvault_vault, unique_id):
    tenant = f"t-{unique_id}"
    key = anthropic_key()
    async with httpx.AsyncClient(base_url=kv.url) as c:
        assert (
            await c.post(API, json={"keyType": "anthropic", "apiKey": key}, headers=bearer("u1", tenant))
        ).status_code == 201
    path = user_key_path(tenant, "u1", "anthropic")
    assert (await inference_vault.read(path)).data["api_key"] == key  # the worker reads keys
    with pytest.raises(VaultForbidden):
        await inference_vault.write(path, {"api_key": "x"})  # ... and only reads them
    with pytest.raises(VaultForbidden):
        await inference_vault.destroy(path)
    for reader_path in (path, "system/anthropic", "sealing/public/current"):
        with pytest.raises(VaultForbidden):
            await billing_vault.read(reader_path)  # billing has no access at all
    kid = (await keyvault_vault.read("sealing/public/current")).data["kid"]
    with pytest.raises(VaultForbidden):
        await keyvault_vault.read(sealing_private_path(kid))  # key-vault writes private halves, never reads them
    with pytest.raises(VaultForbidden):
        await keyvault_vault.write(sealing_private_path(kid), {"private_key": "x"})  # ... nor overwrites them
