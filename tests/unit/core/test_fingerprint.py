"""byok_core.fingerprint: keyed (HMAC-SHA256) fingerprints, so a leaked key cannot be matched on the topic."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from byok_core.fingerprint import Fingerprints

KEY = "sk-proj-" + "Q7x" * 20 + "9xQ2"
SECRET = b"s" * 32


def test_shape_and_keyed_hash() -> None:
    fp = Fingerprints(secret=SECRET)(KEY)
    assert fp.startswith("sk-p…9xQ2#") and len(fp.split("#")[1]) == 6
    assert fp.split("#")[1] == hmac.new(SECRET, KEY.encode(), hashlib.sha256).hexdigest()[:6]
    assert fp.split("#")[1] != hashlib.sha256(KEY.encode()).hexdigest()[:6]  # not the unkeyed hash of before
    assert KEY[4:-4] not in fp


def test_same_secret_same_fingerprint_other_secret_other_fingerprint() -> None:
    assert Fingerprints(secret=SECRET)(KEY) == Fingerprints(secret=SECRET)(KEY)
    others = {Fingerprints.ephemeral()(KEY) for _ in range(20)}
    assert len(others) > 1  # without the secret, nobody can reproduce the hash part


def test_short_keys_show_no_characters() -> None:
    assert Fingerprints(secret=SECRET)("sk-short").startswith("…#")


async def test_unloaded_or_weak_secrets_are_refused() -> None:
    with pytest.raises(ValueError):
        Fingerprints(secret=b"short")
    unloaded = Fingerprints()
    with pytest.raises(RuntimeError):
        unloaded(KEY)
    with pytest.raises(RuntimeError):
        await unloaded.of(KEY)
