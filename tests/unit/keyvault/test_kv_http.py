"""The HTTP edge with fakes behind it: status codes, error codes, body limits, no echo of keys."""

from __future__ import annotations

import json
import logging

import pytest
from fakes.keyvault import ANTHROPIC_KEY, GEMINI_KEY, OPENAI_KEY, SEALING_PAIR, make_token


def auth(sub="alice", tenant="acme", role="member"):
    return {"authorization": "Bearer " + make_token(sub, tenant, role)}


async def test_crud_round_trip(client, publisher):
    r = await client.post("/api/user-api-keys", json={"keyType": "anthropic", "apiKey": ANTHROPIC_KEY}, headers=auth())
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"keyType", "scope", "fingerprint", "version", "createdAt", "updatedAt", "status"}
    assert (body["keyType"], body["scope"], body["version"], body["status"]) == (
        "anthropic",
        "user",
        1,
        "active",
    )
    r = await client.post(
        "/api/user-api-keys",
        json={"keyType": "anthropic", "apiKey": ANTHROPIC_KEY, "scope": "user"},
        headers=auth(),
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    r = await client.get("/api/user-api-keys", headers=auth())
    assert r.status_code == 200 and [k["version"] for k in r.json()["keys"]] == [2]
    assert ANTHROPIC_KEY not in r.text
    r = await client.delete("/api/user-api-keys/anthropic", headers=auth())
    assert r.status_code == 204
    r = await client.delete("/api/user-api-keys/anthropic?scope=user", headers=auth())
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert [e.type for e in publisher.events] == ["key.stored", "key.rotated", "key.deleted"]


async def test_org_scope_needs_admin(client):
    body = {"keyType": "openai", "apiKey": OPENAI_KEY, "scope": "org"}
    r = await client.post("/api/user-api-keys", json=body, headers=auth())
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await client.post("/api/user-api-keys", json=body, headers=auth("boss", role="admin"))
    assert r.status_code == 201
    assert (await client.delete("/api/user-api-keys/openai?scope=org", headers=auth())).status_code == 403
    assert (await client.get("/api/user-api-keys?scope=org", headers=auth())).status_code == 403
    listed = (await client.get("/api/user-api-keys", headers=auth("boss", role="admin"))).json()["keys"]
    assert [(k["scope"], k["keyType"]) for k in listed] == [("org", "openai")]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"keyType": "anthropic", "apiKey": OPENAI_KEY}, 422, "invalid_key_format"),
        ({"keyType": "anthropic", "apiKey": "sk-ant-abc"}, 422, "invalid_key_format"),
        ({"keyType": "gemini", "apiKey": GEMINI_KEY + "AAAA"}, 422, "invalid_key_format"),
        ({"keyType": "anthropic", "apiKey": ANTHROPIC_KEY + "ü"}, 422, "invalid_key_format"),
        ({"keyType": "anthropic", "apiKey": ""}, 422, "invalid_key_format"),
        ({"keyType": "anthropic", "apiKey": "  "}, 422, "invalid_key_format"),
        ({"keyType": "mistral", "apiKey": ANTHROPIC_KEY}, 422, "unsupported_key_type"),
        ({"keyType": "anthropic"}, 422, "invalid_request"),
        ({"keyType": "anthropic", "apiKey": 123}, 422, "invalid_request"),
        ({"keyType": "anthropic", "apiKey": ANTHROPIC_KEY, "scope": "global"}, 422, "invalid_request"),
        ({"keyType": "anthropic", "apiKey": ANTHROPIC_KEY, "validate": "maybe"}, 422, "invalid_request"),
    ],
)
async def test_bad_bodies(client, store, body, status, code):
    r = await client.post("/api/user-api-keys", json=body, headers=auth())
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    assert store.secrets == {}
    api_key = body.get("apiKey")
    if isinstance(api_key, str) and api_key.strip():
        assert api_key.strip() not in r.text


async def test_malformed_json_and_non_objects(client):
    r = await client.post("/api/user-api-keys", content=b'{"keyType": "anthropic", "apiKey": "sk-ant-', headers=auth())
    assert (r.status_code, r.json()["error"]["code"]) == (400, "malformed_json")
    assert "sk-ant-" not in r.text
    r = await client.post("/api/user-api-keys", content=b"\xff\xfe", headers=auth())
    assert r.status_code == 400
    r = await client.post("/api/user-api-keys", json=[ANTHROPIC_KEY], headers=auth())
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request")
    assert ANTHROPIC_KEY not in r.text


async def test_bodies_over_64_kib_get_413(client, store):
    big = json.dumps({"keyType": "anthropic", "apiKey": ANTHROPIC_KEY, "pad": "x" * (1024 * 1024)})
    r = await client.post("/api/user-api-keys", content=big, headers=auth())
    assert (r.status_code, r.json()["error"]["code"]) == (413, "body_too_large")

    async def chunks():  # no content-length: counted while streaming
        for _ in range(20):
            yield b"x" * 8192

    r = await client.post("/api/user-api-keys", content=chunks(), headers=auth())
    assert r.status_code == 413
    assert store.secrets == {}
    just_fits = json.dumps({"keyType": "anthropic", "apiKey": ANTHROPIC_KEY, "pad": "x" * 60_000})
    assert (await client.post("/api/user-api-keys", content=just_fits, headers=auth())).status_code == 201


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer x.y.z"},
        {"authorization": "Bearer " + make_token(ttl=-100)},
        {"authorization": "Bearer " + make_token(secret="forged-secret-forged-secret-forged-secret")},
    ],
)
async def test_unauthorized(client, method, headers):
    url = "/api/user-api-keys" + ("/anthropic" if method == "DELETE" else "")
    body = {"keyType": "anthropic", "apiKey": ANTHROPIC_KEY} if method == "POST" else None
    r = await client.request(method, url, json=body, headers=headers)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthorized")


async def test_unknown_key_type_on_delete(client):
    r = await client.delete("/api/user-api-keys/mistral", headers=auth())
    assert (r.status_code, r.json()["error"]["code"]) == (422, "unsupported_key_type")


async def test_sealing_key_needs_no_auth(client):
    r = await client.get("/api/sealing-key")
    assert r.status_code == 200
    body = r.json()
    assert body["kid"] == SEALING_PAIR.kid and body["kids"] == [SEALING_PAIR.kid]
    assert set(body) >= {"kid", "alg", "format", "public_key"}


async def test_health_and_metrics(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    await client.get("/api/user-api-keys", headers=auth())
    metrics = (await client.get("/metrics")).text
    assert 'byok_keyvault_http_requests_total{method="GET",route="/api/user-api-keys",status="200"}' in metrics


async def test_live_validation_rejection_is_422(client, validator):
    validator.accept = False
    r = await client.post(
        "/api/user-api-keys",
        json={"keyType": "openai", "apiKey": OPENAI_KEY, "validate": "live"},
        headers=auth(),
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_key")


async def test_request_logs_carry_no_key(client, caplog):
    with caplog.at_level(logging.DEBUG):
        await client.post("/api/user-api-keys", json={"keyType": "anthropic", "apiKey": ANTHROPIC_KEY}, headers=auth())
        await client.post("/api/user-api-keys", json={"keyType": "openai", "apiKey": ANTHROPIC_KEY}, headers=auth())
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "key.stored anthropic" in text
    assert ANTHROPIC_KEY not in text and ANTHROPIC_KEY[10:30] not in text


async def test_key_store_down_is_503_and_the_event_stays_for_the_relay(client, store, outbox_storage):
    from byok_keyvault.ports import KeyStoreUnavailable

    store.fail_next_put = KeyStoreUnavailable("key store unavailable")
    r = await client.post("/api/user-api-keys", json={"keyType": "anthropic", "apiKey": ANTHROPIC_KEY}, headers=auth())
    assert (r.status_code, r.json()["error"]["code"]) == (503, "key_store_unavailable")
    assert ANTHROPIC_KEY not in r.text
    assert [row.state for row in outbox_storage.rows()] == ["prepared"]  # resolved against Vault later
