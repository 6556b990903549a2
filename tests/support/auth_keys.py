"""Key pairs and token minting for the auth tests (what an identity provider would hold)."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

SECRET = "unit-secret-0123456789abcdef0123456789abcdef"


def private_key(algorithm: str) -> Any:
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(algorithm)


def public_pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def public_jwk(key: Any, kid: str, algorithm: str | None = None) -> dict[str, Any]:
    public = key.public_key()
    codec = {
        ed25519.Ed25519PublicKey: OKPAlgorithm,
        ec.EllipticCurvePublicKey: ECAlgorithm,
        rsa.RSAPublicKey: RSAAlgorithm,
    }
    for kind, algo in codec.items():
        if isinstance(public, kind):
            jwk = json.loads(algo.to_jwk(public))
            break
    jwk["kid"] = kid
    jwk["use"] = "sig"
    if algorithm:
        jwk["alg"] = algorithm
    return jwk


def claims(sub: str = "u1", tenant: str = "t1", role: str = "member", ttl: int = 7200, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": sub, "tenant": tenant, "role": role, "iat": now, "exp": now + ttl, **extra}


def mint(key: Any, algorithm: str, body: dict[str, Any] | None = None, kid: str | None = None) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(body or claims(), key, algorithm=algorithm, headers=headers)
