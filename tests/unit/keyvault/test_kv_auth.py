"""Bearer header -> Principal: the scheme, and every token refusal of the shared verifier (tests/unit/core/test_auth_*)
seen as one opaque 401 cause."""

from __future__ import annotations

import time

import jwt
import pytest
from byok_core.auth import TokenVerifier
from byok_keyvault.auth import BearerAuth, Unauthorized
from byok_keyvault.domain.models import Role
from fakes.keyvault import SECRET, make_token

verifier = BearerAuth(TokenVerifier(secret=SECRET, leeway_seconds=0))
NOW = int(time.time())


async def test_valid_token():
    principal = await verifier.principal("Bearer " + make_token("u1", "t1", "admin"))
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
        + jwt.encode({"sub": "u1", "role": "member", "iat": NOW, "exp": NOW + 3600}, SECRET, algorithm="HS256"),
        "Bearer " + jwt.encode({"sub": 5, "tenant": "t1", "role": "member", "iat": NOW, "exp": NOW + 3600}, SECRET),
        "Bearer "
        + jwt.encode(
            {"sub": "u1", "tenant": "t1", "role": "member", "iat": NOW, "exp": NOW + 3600},
            SECRET,
            algorithm="HS512",
        ),
        "Bearer "
        + jwt.encode(
            {"sub": "u1", "tenant": "t1", "role": "member", "iat": NOW, "exp": NOW + 3600},
            None,
            algorithm="none",
        ),
        # no iat (required now), and a lifetime above the 24 h cap
        "Bearer " + jwt.encode({"sub": "u1", "tenant": "t1", "role": "member", "exp": NOW + 3600}, SECRET),
        "Bearer "
        + jwt.encode({"sub": "u1", "tenant": "t1", "role": "member", "iat": NOW, "exp": NOW + 90_000}, SECRET),
    ],
)
async def test_refused(header):
    with pytest.raises(Unauthorized):
        await verifier.principal(header)
