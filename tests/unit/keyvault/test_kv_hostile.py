"""Named regressions of the key-vault edge (issue 9): each input here once got a 500, polluted /metrics,
or was accepted where the contract refuses it."""

from __future__ import annotations

import pytest
from byok_core.auth import TokenVerifier
from byok_events import topics
from byok_keyvault.auth import BearerAuth, Unauthorized
from fakes.keyvault import ANTHROPIC_KEY, SECRET, make_token
from faststream.kafka import TestKafkaBroker

DEEP = "[" * 20_000 + "]" * 20_000  # under the 64 KiB body limit


def auth(sub: str = "alice", tenant: str = "acme") -> dict[str, str]:
    return {"authorization": "Bearer " + make_token(sub, tenant)}


async def test_regression_made_up_methods_do_not_grow_metrics(client) -> None:
    before = len((await client.get("/metrics")).text)
    for i in range(300):
        await client.request(f"FUZZ{i}", "/api/user-api-keys", headers=auth())
    text = (await client.get("/metrics")).text
    assert "FUZZ" not in text and 'method="other"' in text
    assert len(text) - before < 5_000


async def test_regression_deeply_nested_body_is_400_not_500(client, store) -> None:
    nested_objects = '{"a": ' * 5_000 + "1" + "}" * 5_000
    for body in (DEEP, '{"keyType": "anthropic", "apiKey": ' + DEEP + "}", nested_objects):
        r = await client.post("/api/user-api-keys", content=body.encode(), headers=auth())
        assert (r.status_code, r.json()["error"]["code"]) == (400, "malformed_json")
    assert store.secrets == {}


async def test_regression_nan_and_invalid_utf8_bodies_are_400(client) -> None:
    for body in (b'{"keyType": "anthropic", "apiKey": NaN}', b'{"keyType": "anthropic\xff"}', b'{"a": "\\ud800"}'):
        r = await client.post("/api/user-api-keys", content=body, headers=auth())
        assert r.status_code == 400


@pytest.mark.parametrize("claim", ["sub", "tenant"])
async def test_regression_claims_ending_in_a_newline_are_refused(claim: str) -> None:
    # `^...$` with re.match accepted "alice\n": one client's Vault path, another's in another client.
    claims = {"sub": "alice", "tenant": "acme"} | {claim: "alice\n"}
    token = make_token(claims["sub"], claims["tenant"])
    with pytest.raises(Unauthorized):
        await BearerAuth(TokenVerifier(secret=SECRET)).principal("Bearer " + token)


async def test_regression_key_with_trailing_newline_inside_is_not_stored(client, store) -> None:
    r = await client.post(
        "/api/user-api-keys", json={"keyType": "anthropic", "apiKey": ANTHROPIC_KEY + "\nX"}, headers=auth()
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_key_format")
    assert store.secrets == {}


async def test_openapi_is_served_and_documents_every_route(client) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert {"/api/user-api-keys", "/api/user-api-keys/{key_type}", "/api/sealing-key", "/healthz"} <= set(doc["paths"])
    body = doc["paths"]["/api/user-api-keys"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["keyType", "apiKey"] and body["properties"]["apiKey"]["maxLength"] == 256
    assert (await client.get("/docs")).status_code == 404  # the interactive pages stay off


async def test_regression_deeply_nested_key_event_goes_on_without_recursion_error(key_events) -> None:
    broker, letters = key_events
    async with TestKafkaBroker(broker) as test_broker:
        deep = ('{"type": "key.invalid", "x": ' + DEEP + "}").encode()
        await test_broker.publish(deep, topics.KEY_EVENTS, key=b"t")
    # Not a readable key event: a dead letter naming the refusal (the contract's rule for every consumer), no crash
    assert len(letters) == 1 and letters[0].reason.startswith("invalid_request: ")
