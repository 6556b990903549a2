"""JWKS keys served by a local aiohttp server: rotation by kid, caching, bounded refresh, hostile sets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from byok_core.auth import AuthSettings, JwksKeys, TokenInvalid, TokenVerifier, build_verifier
from support.auth_keys import SECRET, claims, mint, private_key, public_jwk


class Idp:
    """A tiny identity provider: its JWKS document, a request counter, and an on/off switch."""

    def __init__(self) -> None:
        self.document: Any = {"keys": []}
        self.requests = 0
        self.status = 200
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> Idp:
        app = web.Application()
        app.router.add_get("/.well-known/jwks.json", self._jwks)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/.well-known/jwks.json"
        return self

    async def _jwks(self, _: web.Request) -> web.Response:
        self.requests += 1
        if self.status != 200:
            return web.Response(status=self.status)
        if isinstance(self.document, bytes):
            return web.Response(body=self.document, content_type="application/json")
        return web.json_response(self.document)

    async def stop(self) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


@pytest.fixture
async def idp():
    server = await Idp().start()
    yield server
    await server.stop()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier(idp: Idp, clock: Clock, **options: Any) -> TokenVerifier:
    keys = JwksKeys(idp.url, cache_seconds=300, min_refresh_seconds=30, clock=clock, **options)
    return TokenVerifier(jwks=keys, cache_entries=0)  # these tests look at the JWKS, not the token cache


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
async def test_each_algorithm_from_the_jwks(idp, alg):
    key = private_key(alg)
    idp.document = {"keys": [public_jwk(key, "k1", alg)]}
    found = await verifier(idp, Clock()).verify(mint(key, alg, claims("u9", "acme"), kid="k1"))
    assert (found.user_id, found.tenant_id) == ("u9", "acme")


async def test_rotation_by_kid_and_bounded_refresh(idp):
    clock = Clock()
    old, new = private_key("EdDSA"), private_key("ES256")
    idp.document = {"keys": [public_jwk(old, "2026-01")]}
    v = verifier(idp, clock)
    for _ in range(5):
        await v.verify(mint(old, "EdDSA", kid="2026-01"))
    assert idp.requests == 1, "cached: one fetch for many tokens"

    # the IdP rotates: a token with the new kid makes the verifier re-read the set...
    idp.document = {"keys": [public_jwk(old, "2026-01"), public_jwk(new, "2026-02")]}
    clock.now += 31
    assert (await v.verify(mint(new, "ES256", kid="2026-02"))).user_id == "u1"
    assert idp.requests == 2

    # ...but unknown kids do not make it fetch more than once per min_refresh_seconds
    with pytest.raises(TokenInvalid):
        await v.verify(mint(private_key("EdDSA"), "EdDSA", kid="made-up-now"))
    assert idp.requests == 2, "the set was just read: no refresh within the interval"
    clock.now += 31
    for i in range(20):
        with pytest.raises(TokenInvalid) as caught:
            await v.verify(mint(private_key("EdDSA"), "EdDSA", kid=f"made-up-{i}"))
        assert caught.value.reason == "unknown_key"
    assert idp.requests == 3, "one refresh for the first made-up kid, then none within the interval"

    # the whole set is re-read when its cache time is over; a removed key stops working
    idp.document = {"keys": [public_jwk(new, "2026-02")]}
    clock.now += 301
    with pytest.raises(TokenInvalid):
        await v.verify(mint(old, "EdDSA", kid="2026-01"))
    assert idp.requests == 4


async def test_concurrent_unknown_kids_share_one_fetch(idp):
    key = private_key("RS256")
    idp.document = {"keys": [public_jwk(key, "k1")]}
    v = verifier(idp, Clock())
    results = await asyncio.gather(*(v.verify(mint(key, "RS256", kid="k1")) for _ in range(50)))
    assert len(results) == 50 and idp.requests == 1


async def test_an_unreachable_or_broken_jwks_keeps_the_known_keys(idp):
    clock = Clock()
    key = private_key("EdDSA")
    idp.document = {"keys": [public_jwk(key, "k1")]}
    v = verifier(idp, clock)
    await v.verify(mint(key, "EdDSA", kid="k1"))
    for status, document in ((500, None), (200, b"not json"), (200, {"keys": "nope"}), (200, {"keys": []})):
        idp.status = status
        if document is not None:
            idp.document = document
        clock.now += 301
        assert (await v.verify(mint(key, "EdDSA", kid="k1"))).user_id == "u1"
    assert idp.requests == 5


async def test_hostile_keys_in_the_set_are_ignored(idp):
    """A symmetric key (`oct`) in the JWKS must never turn into an HMAC secret; nor an enc key, a key whose
    declared alg disagrees with its type, a private key, or a weak RSA key."""
    good = private_key("ES256")
    weak = __import__("cryptography.hazmat.primitives.asymmetric.rsa", fromlist=["rsa"]).generate_private_key(
        public_exponent=65537,
        key_size=1024,
    )
    import base64

    secret_b64 = base64.urlsafe_b64encode(SECRET.encode()).rstrip(b"=").decode()
    mismatched = public_jwk(private_key("EdDSA"), "mismatch", "RS256")
    encryption = {**public_jwk(private_key("RS256"), "enc"), "use": "enc"}
    idp.document = {
        "keys": [
            {"kty": "oct", "kid": "oct", "k": secret_b64, "alg": "HS256"},
            mismatched,
            encryption,
            public_jwk(weak, "weak"),
            "garbage",
            public_jwk(good, "good"),
        ]
    }
    v = verifier(idp, Clock())
    assert (await v.verify(mint(good, "ES256", kid="good"))).user_id == "u1"
    with pytest.raises(TokenInvalid):
        await v.verify(mint(SECRET, "HS256", kid="oct"))
    with pytest.raises(TokenInvalid):
        await v.verify(mint(weak, "RS256", kid="weak"))


async def test_a_token_without_kid_needs_an_unambiguous_set(idp):
    one, two = private_key("EdDSA"), private_key("EdDSA")
    idp.document = {"keys": [public_jwk(one, "a")]}
    assert (await verifier(idp, Clock()).verify(mint(one, "EdDSA"))).user_id == "u1"
    idp.document = {"keys": [public_jwk(one, "a"), public_jwk(two, "b")]}
    with pytest.raises(TokenInvalid):
        await verifier(idp, Clock()).verify(mint(one, "EdDSA"))


async def test_an_oversized_jwks_is_refused(idp):
    key = private_key("EdDSA")
    idp.document = b'{"keys": [' + b'{"kty": "OKP"},' * 30_000 + b"{}]}"
    with pytest.raises(TokenInvalid):
        await verifier(idp, Clock()).verify(mint(key, "EdDSA", kid="k1"))


async def test_settings_build_a_jwks_verifier(idp):
    key = private_key("RS256")
    idp.document = {"keys": [public_jwk(key, "k1", "RS256")]}
    v = build_verifier(AuthSettings(jwks_url=idp.url, audience="byok"))
    assert (await v.verify(mint(key, "RS256", claims(aud="byok"), kid="k1"))).user_id == "u1"
    with pytest.raises(TokenInvalid):
        await v.verify(mint(key, "RS256", claims(aud="else"), kid="k1"))
