"""byok_sealing (byok-seal-v2): the envelope producers seal request keys in and the inference worker opens."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest
from byok_sealing import (
    DEFAULT_MAX_AGE_SECONDS,
    MAX_CLOCK_SKEW_SECONDS,
    VERSION,
    PublicSealingKey,
    SealedKeyInvalid,
    canonical_time,
    generate_keypair,
    open_sealed,
    seal,
    sealed_kid,
)

KEY = "sk-ant-api03-" + "A1b2C3d4" * 12
AT = datetime.now(UTC)
_AT = object()  # `_open`'s default: the test's AT, read when called


@pytest.fixture(autouse=True)
def _fresh_created_at() -> None:
    """A session can reach these tests more than the sealed keys' maximum age (900 s) after importing them."""
    global AT
    AT = datetime.now(UTC)


@pytest.fixture
def pair():
    return generate_keypair()


def _open(
    sealed: str,
    pairs,
    tenant: str = "acme",
    request: str = "req-1",
    provider: str = "anthropic",
    created_at: datetime | None | object = _AT,
    now: datetime | None = None,
) -> str:
    if created_at is _AT:
        created_at = AT
    assert created_at is None or isinstance(created_at, datetime)
    return open_sealed(
        sealed,
        private_keys={p.kid: p.private_key for p in pairs},
        tenant_id=tenant,
        request_id=request,
        provider=provider,
        created_at=created_at,
        now=now,
    )


def test_round_trip_and_kid_in_envelope(pair):
    sealed = seal(
        KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=AT
    )
    assert sealed.startswith(f"{VERSION}.{pair.kid}.")
    assert sealed_kid(sealed) == pair.kid
    assert KEY not in sealed and "A1b2C3d4" not in sealed
    assert _open(sealed, [pair]) == KEY


def test_each_seal_is_fresh(pair):
    a = seal(KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=AT)
    b = seal(KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=AT)
    assert a != b  # ephemeral key and nonce differ
    assert _open(a, [pair]) == _open(b, [pair]) == KEY


def test_public_key_json_round_trip(pair):
    data = pair.public.to_json()
    assert set(data) == {"kid", "alg", "format", "public_key"}
    restored = PublicSealingKey.from_json(data)
    assert restored == pair.public
    assert (
        _open(
            seal(KEY, public_key=restored, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=AT),
            [pair],
        )
        == KEY
    )


@pytest.mark.parametrize("part", [2, 3])
def test_tampered_bytes_do_not_open(pair, part):
    sealed = seal(
        KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=AT
    )
    parts = sealed.split(".")
    raw = bytearray(base64.urlsafe_b64decode(parts[part] + "=" * (-len(parts[part]) % 4)))
    for index in (0, len(raw) // 2, len(raw) - 1):
        flipped = bytearray(raw)
        flipped[index] ^= 0x01
        parts_copy = list(parts)
        parts_copy[part] = base64.urlsafe_b64encode(bytes(flipped)).rstrip(b"=").decode()
        with pytest.raises(SealedKeyInvalid):
            _open(".".join(parts_copy), [pair])


def test_truncated_or_garbled_envelopes_do_not_open(pair):
    sealed = seal(
        KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=AT
    )
    for bad in (
        sealed[:-4],
        sealed[:40],
        "",
        "x",
        sealed.replace(VERSION, "byok-seal-v3", 1),
        sealed.replace(VERSION, "byok-seal-v1", 1),
        sealed + ".extra",
        "a" * 5000,
    ):
        with pytest.raises(SealedKeyInvalid):
            _open(bad, [pair])


def test_kid_swapped_to_another_known_key_does_not_open(pair):
    other = generate_keypair()
    sealed = seal(
        KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=AT
    )
    swapped = sealed.replace(f".{pair.kid}.", f".{other.kid}.", 1)
    with pytest.raises(SealedKeyInvalid):
        _open(swapped, [pair, other])


def test_wrong_tenant_does_not_open(pair):
    sealed = seal(
        KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=AT
    )
    with pytest.raises(SealedKeyInvalid) as caught:
        _open(sealed, [pair], tenant="globex")
    assert KEY not in str(caught.value)


def test_wrong_request_does_not_open(pair):
    sealed = seal(
        KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=AT
    )
    with pytest.raises(SealedKeyInvalid):
        _open(sealed, [pair], request="req-2")


def test_tenant_request_boundary_is_unambiguous(pair):
    """('ab', 'c') and ('a', 'bc') must not share associated data."""
    sealed = seal(KEY, public_key=pair.public, tenant_id="ab", request_id="c", provider="anthropic", created_at=AT)
    assert _open(sealed, [pair], tenant="ab", request="c") == KEY
    with pytest.raises(SealedKeyInvalid):
        _open(sealed, [pair], tenant="a", request="bc")


def test_unknown_kid(pair):
    sealed = seal(
        KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=AT
    )
    with pytest.raises(SealedKeyInvalid, match="unknown"):
        _open(sealed, [generate_keypair()])


def test_wrong_private_key_under_the_same_kid_does_not_open(pair):
    impostor = generate_keypair(kid=pair.kid)
    sealed = seal(
        KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=AT
    )
    with pytest.raises(SealedKeyInvalid):
        _open(sealed, [impostor])


def test_rotation_keeps_old_envelopes_openable(pair):
    in_flight = seal(
        KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=AT
    )
    rotated = generate_keypair()
    fresh = seal(
        KEY, public_key=rotated.public, tenant_id="acme", request_id="req-2", provider="anthropic", created_at=AT
    )
    assert sealed_kid(in_flight) != sealed_kid(fresh)
    assert _open(in_flight, [pair, rotated]) == KEY
    assert _open(fresh, [pair, rotated], request="req-2") == KEY
    with pytest.raises(SealedKeyInvalid):  # once the old private half is dropped, old envelopes stop opening
        _open(in_flight, [rotated])


def test_kid_validation():
    with pytest.raises(ValueError):
        generate_keypair(kid="bad/kid")
    assert generate_keypair(kid="k-1").kid == "k-1"


def test_unicode_key_round_trip(pair):
    sealed = seal(
        "clé-ü-🔑", public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=AT
    )
    assert _open(sealed, [pair]) == "clé-ü-🔑"


def test_an_envelope_with_characters_outside_base64url_does_not_open() -> None:
    from byok_sealing import SealedKeyInvalid, generate_keypair, open_sealed, seal

    pair = generate_keypair()
    sealed = seal(
        "sk-ant-api03-" + "x" * 40,
        public_key=pair.public,
        tenant_id="t",
        request_id="r",
        provider="anthropic",
        created_at=AT,
    )
    head, box = sealed.rsplit(".", 1)
    tampered = f"{head}.{box[:10]}!!{box[10:]}"
    with pytest.raises(SealedKeyInvalid):
        open_sealed(
            tampered,
            private_keys={pair.kid: pair.private_key},
            tenant_id="t",
            request_id="r",
            provider="anthropic",
            created_at=AT,
        )


def test_another_provider_slot_does_not_open(pair):
    sealed = seal(KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="openai", created_at=AT)
    assert _open(sealed, [pair], provider="openai") == KEY
    with pytest.raises(SealedKeyInvalid):
        _open(sealed, [pair], provider="openrouter")


def test_another_created_at_does_not_open(pair):
    sealed = seal(
        KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=AT
    )
    for moved in (AT + timedelta(microseconds=1), AT - timedelta(seconds=1)):
        with pytest.raises(SealedKeyInvalid):
            _open(sealed, [pair], created_at=moved)


def test_the_same_instant_in_another_zone_opens(pair):
    sealed = seal(
        KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=AT
    )
    assert _open(sealed, [pair], created_at=AT.astimezone(timezone(timedelta(hours=-5)))) == KEY


def test_a_sealed_key_older_than_the_maximum_age_does_not_open(pair):
    old = AT - timedelta(seconds=DEFAULT_MAX_AGE_SECONDS + 1)
    sealed = seal(
        KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=old
    )
    with pytest.raises(SealedKeyInvalid, match="maximum age"):
        _open(sealed, [pair], created_at=old, now=AT)
    just_in_time = AT - timedelta(seconds=DEFAULT_MAX_AGE_SECONDS - 1)
    fresh = seal(
        KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=just_in_time
    )
    assert _open(fresh, [pair], created_at=just_in_time, now=AT) == KEY
    with pytest.raises(SealedKeyInvalid, match="maximum age"):
        open_sealed(
            fresh,
            private_keys={pair.kid: pair.private_key},
            tenant_id="acme",
            request_id="req-1",
            provider="anthropic",
            created_at=just_in_time,
            max_age_seconds=10,
            now=AT,
        )


def test_a_created_at_far_in_the_future_or_missing_does_not_open(pair):
    future = AT + timedelta(seconds=MAX_CLOCK_SKEW_SECONDS + 5)
    sealed = seal(
        KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=future
    )
    with pytest.raises(SealedKeyInvalid, match="future"):
        _open(sealed, [pair], created_at=future, now=AT)
    with pytest.raises(SealedKeyInvalid, match="created_at"):
        _open(sealed, [pair], created_at=None, now=AT)
    with pytest.raises(SealedKeyInvalid):
        _open(sealed, [pair], created_at=future.replace(tzinfo=None), now=AT)


def test_canonical_time_is_utc_with_microseconds():
    assert canonical_time(datetime(2026, 11, 30, 12, 0, tzinfo=timezone(timedelta(hours=1)))) == (
        "2026-11-30T11:00:00.000000Z"
    )
    with pytest.raises(ValueError):
        canonical_time(datetime(2026, 11, 30, 12, 0))


def test_sealed_keys_of_every_format_are_redacted_from_logs(pair):
    from byok_core.logging import redact

    sealed = seal(
        KEY, public_key=pair.public, tenant_id="acme", request_id="req-1", provider="anthropic", created_at=AT
    )
    for text in (sealed, sealed.replace(VERSION, "byok-seal-v1", 1)):
        assert text not in redact(f"record: {text} end") and "[REDACTED]" in redact(text)
