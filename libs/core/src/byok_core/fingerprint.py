"""Key fingerprints: a few visible characters and a short hash, never enough to use the key."""

from __future__ import annotations

import hashlib


def fingerprint(api_key: str) -> str:
    """e.g. 'sk-p…9xQ2#3fa1c0': first 4 and last 4 characters plus 6 hex of SHA-256."""
    digest = hashlib.sha256(api_key.encode()).hexdigest()[:6]
    if len(api_key) < 16:
        return f"…#{digest}"
    return f"{api_key[:4]}…{api_key[-4:]}#{digest}"
