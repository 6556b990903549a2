"""The shared token verifier: each algorithm accepted with its own key, and every refusal."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import jwt
import pytest
from byok_core.auth import DEV_JWT_SECRET, AuthSettings, TokenInvalid, TokenVerifier, auth_problems, build_verifier
from byok_core.auth.keys import KeyConfigError, VerificationKey, pem_key
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from support.auth_keys import SECRET, claims, mint, private_key, public_pem

ASYMMETRIC = ["EdDSA", "ES256", "RS256"]


@pytest.fixture(scope="module")
def keys():
    return {alg: private_key(alg) for alg in ASYMMETRIC}


def verifier_for(alg, keys, **options) -> TokenVerifier:
    if alg == "HS256":
        return TokenVerifier(secret=SECRET, **options)
    return TokenVerifier(public_key=pem_key(public_pem(keys[alg])), **options)


def signing_key(alg, keys):
    return SECRET if alg == "HS256" else keys[alg]


@pytest.mark.parametrize("alg", ["HS256", *ASYMMETRIC])
async def test_each_algorithm_with_its_key(alg, keys):
    identity = await verifier_for(alg, keys).verify(mint(signing_key(alg, keys), alg, claims("u7", "acme", "admin")))
    assert (identity.user_id, identity.tenant_id, identity.role) == ("u7", "acme", "admin")
    assert identity.expires_at > time.time()


@pytest.mark.parametrize("alg", ["HS256", *ASYMMETRIC])
async def test_another_key_of_the_same_kind_is_refused(alg, keys):
    other = "another-secret-0123456789abcdef0123456789" if alg == "HS256" else private_key(alg)
    with pytest.raises(TokenInvalid):
        await verifier_for(alg, keys).verify(mint(other, alg))


@pytest.mark.parametrize("configured", ASYMMETRIC)
@pytest.mark.parametrize("signed", ["HS256", *ASYMMETRIC])
async def test_the_key_type_fixes_the_algorithm(configured, signed, keys):
    if configured == signed:
        return
    with pytest.raises(TokenInvalid) as caught:
        await verifier_for(configured, keys).verify(mint(signing_key(signed, keys), signed))
    assert caught.value.reason == "algorithm"


async def test_hs256_signed_with_the_public_key_pem_is_refused(keys):
    """The classic confusion: an attacker HMACs with the (public) PEM, hoping it is used as a secret."""
    pem = public_pem(keys["RS256"]).encode()
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()).rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=")
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(hmac.new(pem, header + b"." + payload, hashlib.sha256).digest()).rstrip(b"=")
    forged = (header + b"." + payload + b"." + signature).decode()
    with pytest.raises(TokenInvalid):
        await verifier_for("RS256", keys).verify(forged)


async def test_none_is_never_accepted(keys):
    unsigned = jwt.encode(claims(), None, algorithm="none")
    for alg in ["HS256", *ASYMMETRIC]:
        with pytest.raises(TokenInvalid):
            await verifier_for(alg, keys).verify(unsigned)


@pytest.mark.parametrize(
    "body,reason",
    [
        ({k: v for k, v in claims().items() if k != "iat"}, "rejected"),
        ({k: v for k, v in claims().items() if k != "exp"}, "rejected"),
        ({k: v for k, v in claims().items() if k != "sub"}, "rejected"),
        ({k: v for k, v in claims().items() if k != "tenant"}, "rejected"),
        ({k: v for k, v in claims().items() if k != "role"}, "rejected"),
        (claims(ttl=-60), "expired"),
        (claims(ttl=86_401), "lifetime"),
        ({**claims(), "iat": int(time.time()) + 7200, "exp": int(time.time()) + 7500}, "rejected"),  # issued later
        ({**claims(), "exp": int(time.time()) + 7200.5}, "claims"),
        (claims(role="owner"), "claims"),
        (claims(sub="a/b"), "claims"),
        (claims(tenant=".."), "claims"),
        (claims(tenant=""), "claims"),
    ],
)
async def test_claim_refusals(body, reason):
    with pytest.raises(TokenInvalid) as caught:
        await TokenVerifier(secret=SECRET, leeway_seconds=0).verify(jwt.encode(body, SECRET, algorithm="HS256"))
    assert caught.value.reason == reason


async def test_lifetime_cap_is_configurable():
    token = jwt.encode(claims(ttl=3600), SECRET, algorithm="HS256")
    assert (await TokenVerifier(secret=SECRET, max_token_seconds=3600).verify(token)).user_id == "u1"
    with pytest.raises(TokenInvalid) as caught:
        await TokenVerifier(secret=SECRET, max_token_seconds=600).verify(token)
    assert caught.value.reason == "lifetime"


async def test_audience_and_issuer_checked_when_set():
    verifier = TokenVerifier(secret=SECRET, audience="byok", issuer="https://idp.example")
    good = jwt.encode(claims(aud="byok", iss="https://idp.example"), SECRET)
    assert (await verifier.verify(good)).tenant_id == "t1"
    for body in (
        claims(iss="https://idp.example"),
        claims(aud="byok"),
        claims(aud="other", iss="https://idp.example"),
        claims(aud="byok", iss="https://evil.example"),
    ):
        with pytest.raises(TokenInvalid):
            await verifier.verify(jwt.encode(body, SECRET))
    # not configured: not checked
    assert (await TokenVerifier(secret=SECRET).verify(jwt.encode(claims(aud="anything"), SECRET))).user_id == "u1"


@pytest.mark.parametrize("token", [None, "", "x" * 9000, "not.a.jwt", "a.b", "....."])
async def test_malformed(token):
    with pytest.raises(TokenInvalid) as caught:
        await TokenVerifier(secret=SECRET).verify(token)
    assert str(caught.value) == "invalid or expired token"


async def test_the_refusal_never_quotes_the_token():
    token = jwt.encode(claims(ttl=-5), SECRET)
    with pytest.raises(TokenInvalid) as caught:
        await TokenVerifier(secret=SECRET).verify(token)
    assert token not in repr(caught.value) and token not in str(caught.value)


async def test_secret_and_public_key_together_each_by_its_algorithm(keys):
    verifier = TokenVerifier(secret=SECRET, public_key=pem_key(public_pem(keys["EdDSA"])))
    assert verifier.algorithms == ("HS256", "EdDSA")
    assert (await verifier.verify(mint(SECRET, "HS256"))).user_id == "u1"
    assert (await verifier.verify(mint(keys["EdDSA"], "EdDSA"))).user_id == "u1"
    with pytest.raises(TokenInvalid):
        await verifier.verify(mint(keys["ES256"], "ES256"))


def test_unusable_public_keys_are_refused(tmp_path):
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the weak key under test
    p384 = ec.generate_private_key(ec.SECP384R1())
    for key in (weak, p384):
        with pytest.raises(KeyConfigError):
            pem_key(public_pem(key))
    with pytest.raises(KeyConfigError) as caught:
        pem_key("not a pem and not a file")
    assert "not a pem" not in str(caught.value)
    path = tmp_path / "key.pem"
    path.write_text(public_pem(private_key("ES256")))
    assert pem_key(str(path)) == VerificationKey("ES256", pem_key(str(path)).key)


def test_settings_in_prod():
    assert auth_problems(AuthSettings(), "dev") == []
    assert "required" in auth_problems(AuthSettings(), "prod")[0]
    dev = auth_problems(AuthSettings(jwt_secret=DEV_JWT_SECRET), "prod")
    assert len(dev) == 1 and "development secret" in dev[0] and DEV_JWT_SECRET not in dev[0]
    assert auth_problems(AuthSettings(jwt_secret="short"), "prod")
    assert auth_problems(AuthSettings(jwt_secret="s" * 40), "prod") == []
    assert auth_problems(AuthSettings(jwks_url="http://idp.example/jwks"), "prod")
    assert auth_problems(AuthSettings(jwks_url="https://idp.example/jwks"), "prod") == []


async def test_build_verifier_from_settings(keys):
    verifier = build_verifier(AuthSettings(jwt_public_key=public_pem(keys["ES256"]), max_token_seconds=600))
    assert verifier.algorithms == ("ES256",)
    assert (await verifier.verify(mint(keys["ES256"], "ES256", claims(ttl=300)))).user_id == "u1"
    with pytest.raises(TokenInvalid):
        await verifier.verify(mint(keys["ES256"], "ES256", claims(ttl=900)))
    assert build_verifier(AuthSettings(), fallback_secret=SECRET).algorithms == ("HS256",)


async def test_verified_tokens_are_cached_bounded_and_not_past_their_time():
    v = TokenVerifier(secret=SECRET, cache_entries=2, cache_seconds=60, leeway_seconds=0)
    calls = 0
    real = v._verify

    async def counting(token):
        nonlocal calls
        calls += 1
        return await real(token)

    v._verify = counting
    a, b, c = (mint(SECRET, "HS256", claims(sub=s, ttl=2)) for s in ("a", "b", "c"))
    for _ in range(3):
        assert (await v.verify(a)).user_id == "a"
    assert calls == 1, "a token seen again is not verified again"
    await v.verify(b)
    await v.verify(c)  # evicts a (two entries at most)
    await v.verify(a)
    assert calls == 4
    await asyncio.sleep(2.2)  # past the tokens' exp: the cache does not outlive it
    with pytest.raises(TokenInvalid):
        await v.verify(a)
    with pytest.raises(TokenInvalid):
        await v.verify(a)
    assert calls == 6, "refusals are never cached"
