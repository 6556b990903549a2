"""Sealing of request-supplied provider keys to the inference worker.

Format (`byok-seal-v2`), an HPKE-like hybrid scheme:
    byok-seal-v2.<kid>.<ephemeral X25519 public key, b64url>.<nonce || ChaCha20-Poly1305 ciphertext, b64url>
The content key is HKDF-SHA256(X25519(ephemeral, recipient), info = label || kid || ephemeral || recipient).
The associated data binds the label, kid, tenant_id, request_id, the provider slot the key is sent under
and the request's created_at (length-prefixed), so a sealed key copied into another tenant's or request's
event, moved to another provider slot, or re-sent with another created_at does not open; and the opener
refuses a created_at older than a maximum age (default 900 s), so a captured sealed key cannot be replayed
with a new prompt once the request id's de-duplication has forgotten it. The key id selects the private
half, so rotating the sealing key leaves keys sealed to an earlier kid openable while that half is kept.
(`byok-seal-v1` bound tenant and request only; it is refused.)
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

VERSION = "byok-seal-v2"
ALGORITHM = "X25519-HKDF-SHA256-ChaCha20Poly1305"
_KID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
MAX_SEALED_LENGTH = 4096
DEFAULT_MAX_AGE_SECONDS = 900.0
MAX_CLOCK_SKEW_SECONDS = 60.0  # a created_at this far ahead of the worker's clock is still accepted


class SealedKeyInvalid(Exception):
    """The sealed key is malformed, tampered with, bound to another tenant/request, or its kid is unknown."""


@dataclass(frozen=True)
class PublicSealingKey:
    kid: str
    public_key: bytes  # raw 32-byte X25519

    def to_json(self) -> dict[str, str]:
        return {"kid": self.kid, "alg": ALGORITHM, "format": VERSION, "public_key": _b64(self.public_key)}

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> PublicSealingKey:
        return cls(kid=data["kid"], public_key=_unb64(data["public_key"]))


@dataclass(frozen=True)
class SealingKeyPair:
    kid: str
    private_key: bytes  # raw 32-byte X25519
    public_key: bytes

    @property
    def public(self) -> PublicSealingKey:
        return PublicSealingKey(self.kid, self.public_key)


def generate_keypair(kid: str | None = None) -> SealingKeyPair:
    private = X25519PrivateKey.generate()
    private_raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public_raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = kid or "sk" + hashlib.sha256(public_raw).hexdigest()[:16]
    if not _KID.fullmatch(kid):
        raise ValueError("kid must be 1-64 characters of [A-Za-z0-9_-]")
    return SealingKeyPair(kid=kid, private_key=private_raw, public_key=public_raw)


def seal(
    api_key: str,
    *,
    public_key: PublicSealingKey,
    tenant_id: str,
    request_id: str,
    provider: str,
    created_at: datetime,
) -> str:
    """Seal a provider key for one request of one tenant, under one provider slot (producer side).

    `created_at` must be the request's own `created_at` (timezone-aware), sent in the same event."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(public_key.public_key))
    content_key = _derive(shared, public_key.kid, ephemeral_public, public_key.public_key)
    nonce = os.urandom(12)
    associated = _associated_data(public_key.kid, tenant_id, request_id, provider, canonical_time(created_at))
    ciphertext = ChaCha20Poly1305(content_key).encrypt(nonce, api_key.encode(), associated)
    return ".".join((VERSION, public_key.kid, _b64(ephemeral_public), _b64(nonce + ciphertext)))


def sealed_kid(sealed: str) -> str:
    """The key id a sealed key names, for fetching the private half (no secret is touched)."""
    return _split(sealed)[0]


def open_sealed(
    sealed: str,
    *,
    private_keys: Mapping[str, bytes],
    tenant_id: str,
    request_id: str,
    provider: str,
    created_at: datetime | None,
    max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS,
    now: datetime | None = None,
) -> str:
    """Open a sealed key (worker side). Raises SealedKeyInvalid, whose message never holds key material."""
    kid, ephemeral_public, box = _split(sealed)
    if created_at is None:
        raise SealedKeyInvalid("a request with sealed keys needs its created_at")
    check_age(created_at, max_age_seconds=max_age_seconds, now=now)
    private_raw = private_keys.get(kid)
    if private_raw is None:
        raise SealedKeyInvalid("unknown sealing key id")
    try:
        private = X25519PrivateKey.from_private_bytes(private_raw)
        recipient_public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        content_key = _derive(shared, kid, ephemeral_public, recipient_public)
        associated = _associated_data(kid, tenant_id, request_id, provider, canonical_time(created_at))
        plaintext = ChaCha20Poly1305(content_key).decrypt(box[:12], box[12:], associated)
        return plaintext.decode()
    except (InvalidTag, ValueError, UnicodeDecodeError):
        raise SealedKeyInvalid("sealed key does not open for this tenant, request and provider") from None


def check_age(created_at: datetime, *, max_age_seconds: float, now: datetime | None = None) -> None:
    """SealedKeyInvalid when created_at is older than the maximum age, or too far in the future."""
    if created_at.tzinfo is None:
        raise SealedKeyInvalid("created_at must carry a time zone")
    age = ((now or datetime.now(UTC)) - created_at).total_seconds()
    if age > max_age_seconds:
        raise SealedKeyInvalid("sealed key is older than the maximum age")
    if age < -MAX_CLOCK_SKEW_SECONDS:
        raise SealedKeyInvalid("created_at is in the future")


def canonical_time(value: datetime) -> str:
    """The form of created_at bound into the seal: UTC, microseconds, `Z` (the same however it was written)."""
    if value.tzinfo is None:
        raise ValueError("created_at must carry a time zone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _split(sealed: str) -> tuple[str, bytes, bytes]:
    if not isinstance(sealed, str) or len(sealed) > MAX_SEALED_LENGTH:
        raise SealedKeyInvalid("sealed key is malformed")
    parts = sealed.split(".")
    if len(parts) != 4 or not _KID.fullmatch(parts[1]):
        raise SealedKeyInvalid("sealed key is malformed")
    if parts[0] != VERSION:
        raise SealedKeyInvalid(f"sealed key is not of the {VERSION} format")
    try:
        ephemeral_public, box = _unb64(parts[2]), _unb64(parts[3])
    except ValueError:
        raise SealedKeyInvalid("sealed key is malformed") from None
    if len(ephemeral_public) != 32 or len(box) < 12 + 16:
        raise SealedKeyInvalid("sealed key is malformed")
    return parts[1], ephemeral_public, box


def _derive(shared: bytes, kid: str, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    info = VERSION.encode() + b"|" + kid.encode() + b"|" + ephemeral_public + recipient_public
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)


def _associated_data(kid: str, tenant_id: str, request_id: str, provider: str, created_at: str) -> bytes:
    parts = [VERSION, kid, tenant_id, request_id, provider, created_at]
    encoded = [p.encode("utf-8", "surrogatepass") for p in parts]
    return b"".join(len(p).to_bytes(4, "big") + p for p in encoded)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


_B64URL = re.compile(r"[A-Za-z0-9_\-]*")


def _unb64(text: str) -> bytes:
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("bad base64") from exc
