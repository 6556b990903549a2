"""Bearer JWT verification: HS256 only, required claims, expiry, forged signatures, path-safe ids."""

from __future__ import annotations

import time

import jwt
import pytest
from byok_keyvault.auth import TokenVerifier, Unauthorized
from byok_keyvault.domain.models import Role
from kv_fakes import SECRET, make_token

verifier = TokenVerifier(SECRET, leeway_seconds=0)


def test_valid_token():
    principal = verifier.principal("Bearer " + make_token("u1", "t1", "admin"))
    assert (principal.user_id, principal.tenant_id, principal.role) == ("u1", "t1", Role.ADMIN)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-jwt",
        "Bearer " + make_token(secret="someone-elses-secret"),
        "Bearer " + make_token(ttl=-60),
        "Bearer " + make_token(role="owner"),
        "Bearer " + make_token(tenant="../other"),
        "Bearer " + make_token(sub="a/b"),
        "Bearer " + make_token(tenant=".."),
        "Bearer " + jwt.encode({"sub": "u1", "tenant": "t1", "role": "member"}, SECRET, algorithm="HS256"),
        "Bearer "
        + jwt.encode({"sub": "u1", "role": "member", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256"),
        "Bearer " + jwt.encode({"sub": 5, "tenant": "t1", "role": "member", "exp": int(time.time()) + 60}, SECRET),
        "Bearer "
        + jwt.encode(
            {"sub": "u1", "tenant": "t1", "role": "member", "exp": int(time.time()) + 60},
            SECRET,
            algorithm="HS512",
        ),
        "Bearer "
        + jwt.encode(
            {"sub": "u1", "tenant": "t1", "role": "member", "exp": int(time.time()) + 60},
            None,
            algorithm="none",
        ),
    ],
)
def test_refused(header):
    with pytest.raises(Unauthorized):
        verifier.principal(header)
