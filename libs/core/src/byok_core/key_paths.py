"""Where provider keys and sealing keys live in Vault KV v2 (mount `byok`). Shared by writer and readers."""

from __future__ import annotations

import re

_SEGMENT = re.compile(r"[A-Za-z0-9_.@\-]{1,128}")


def _segment(value: str, what: str) -> str:
    if not _SEGMENT.fullmatch(value) or value in (".", ".."):
        raise ValueError(f"{what} must be 1-128 characters of [A-Za-z0-9_.@-]")
    return value


def user_key_path(tenant_id: str, user_id: str, provider: str) -> str:
    tenant, user = _segment(tenant_id, "tenant id"), _segment(user_id, "user id")
    return f"tenants/{tenant}/users/{user}/{_segment(provider, 'provider')}"


def org_key_path(tenant_id: str, provider: str) -> str:
    return f"tenants/{_segment(tenant_id, 'tenant id')}/org/{_segment(provider, 'provider')}"


def system_key_path(provider: str) -> str:
    return f"system/{_segment(provider, 'provider')}"


SEALING_PRIVATE_PREFIX = "sealing/private"
SEALING_PUBLIC_PREFIX = "sealing/public"
SEALING_CURRENT_PATH = "sealing/public/current"


def sealing_private_path(kid: str) -> str:
    return f"{SEALING_PRIVATE_PREFIX}/{_segment(kid, 'kid')}"


def sealing_public_path(kid: str) -> str:
    return f"{SEALING_PUBLIC_PREFIX}/{_segment(kid, 'kid')}"
