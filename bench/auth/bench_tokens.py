"""CPU cost per prompt of checking the user's token (byok-user-token), per algorithm.

What the inference worker does for a prompt that would use a stored key: byok_inference's TokenAuthority
(the shared byok_core.auth verifier, then the tenant/user comparison). Every token is distinct (its own
sub and signature), so nothing is cached between prompts; the JWKS variant has its key set already fetched
(a local aiohttp server serves it; one fetch per cache period is not per-prompt cost). The last line is
one token reused for every prompt (the verifier's cache of verified tokens).
Prints, per algorithm, the CPU time per check (process time, one core) and checks per second.

    uv run python bench/auth/bench_tokens.py [--n 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time

import jwt
from aiohttp import web
from byok_core.auth import JwksKeys, TokenVerifier
from byok_core.auth.keys import pem_key
from byok_inference.adapters.user_tokens import TokenAuthority
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm

SECRET = secrets.token_urlsafe(48)


def _pem(key: object) -> str:
    return (
        key.public_key()  # type: ignore[attr-defined]
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _tokens(key: object, algorithm: str, n: int, kid: str | None = None) -> list[tuple[str, str]]:
    now = int(time.time())
    headers = {"kid": kid} if kid else None
    minted = []
    for i in range(n):
        user = f"u{i}"
        claims = {"sub": user, "tenant": "bench", "role": "member", "iat": now, "exp": now + 3600}
        minted.append((user, jwt.encode(claims, key, algorithm=algorithm, headers=headers)))  # type: ignore[arg-type]
    return minted


async def _measure(name: str, authority: TokenAuthority, tokens: list[tuple[str, str]]) -> None:
    for user, token in tokens[:50]:  # warm-up (imports, first JWKS fetch)
        assert await authority.allows(token, "bench", user)
    cpu, wall = time.process_time(), time.perf_counter()
    for user, token in tokens:
        if not await authority.allows(token, "bench", user):
            raise SystemExit(f"{name}: a valid token was refused")
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    per = cpu / len(tokens)
    print(f"{name:<14} {per * 1e6:8.1f} µs CPU per prompt   {len(tokens) / wall:9,.0f} checks/s")


async def main(n: int) -> None:
    ed, p256, rsa_key = (
        ed25519.Ed25519PrivateKey.generate(),
        ec.generate_private_key(ec.SECP256R1()),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )
    print(f"token check per prompt, {n} distinct tokens each (byok_core.auth + tenant/user match)")
    await _measure("HS256", TokenAuthority(TokenVerifier(secret=SECRET)), _tokens(SECRET, "HS256", n))
    await _measure("EdDSA", TokenAuthority(TokenVerifier(public_key=pem_key(_pem(ed)))), _tokens(ed, "EdDSA", n))
    await _measure("ES256", TokenAuthority(TokenVerifier(public_key=pem_key(_pem(p256)))), _tokens(p256, "ES256", n))
    await _measure(
        "RS256-2048", TokenAuthority(TokenVerifier(public_key=pem_key(_pem(rsa_key)))), _tokens(rsa_key, "RS256", n)
    )

    jwk = {**json.loads(ECAlgorithm.to_jwk(p256.public_key())), "kid": "k1", "use": "sig"}
    app = web.Application()
    app.router.add_get("/jwks", lambda _: web.json_response({"keys": [jwk]}))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        jwks = JwksKeys(f"http://127.0.0.1:{port}/jwks")
        await _measure("ES256 (JWKS)", TokenAuthority(TokenVerifier(jwks=jwks)), _tokens(p256, "ES256", n, kid="k1"))
        assert jwks.fetches == 1, jwks.fetches
    finally:
        await runner.cleanup()
    # A user sending many prompts with one token: verified once, then found in the verifier's bounded cache.
    [(user, token)] = _tokens(p256, "ES256", 1)
    await _measure("ES256 reused", TokenAuthority(TokenVerifier(public_key=pem_key(_pem(p256)))), [(user, token)] * n)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5000)
    asyncio.run(main(parser.parse_args().n))
