"""Sealing of request-supplied provider keys to the inference worker.

Format (`byok-seal-v1`), an HPKE-like hybrid scheme:
    byok-seal-v1.<kid>.<ephemeral X25519 public key, b64url>.<nonce || ChaCha20-Poly1305 ciphertext, b64url>
The content key is HKDF-SHA256(X25519(ephemeral, recipient), info = label || kid || ephemeral || recipient).
The associated data binds kid, tenant_id and request_id (length-prefixed), so a sealed key copied into
another tenant's or request's event does not open. The key id selects the private half, so rotating the
sealing key leaves keys sealed to an earlier kid openable while that private half is kept.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

VERSION = "byok-seal-v1"
ALGORITHM = "X25519-HKDF-SHA256-ChaCha20Poly1305"
_KID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
MAX_SEALED_LENGTH = 4096


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


def seal(api_key: str, *, public_key: PublicSealingKey, tenant_id: str, request_id: str) -> str:
    """Seal a provider key for one request of one tenant (producer side)."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(public_key.public_key))
    content_key = _derive(shared, public_key.kid, ephemeral_public, public_key.public_key)
    nonce = os.urandom(12)
    ciphertext = ChaCha20Poly1305(content_key).encrypt(
        nonce, api_key.encode(), _associated_data(public_key.kid, tenant_id, request_id)
    )
    return ".".join((VERSION, public_key.kid, _b64(ephemeral_public), _b64(nonce + ciphertext)))


def sealed_kid(sealed: str) -> str:
    """The key id a sealed key names, for fetching the private half (no secret is touched)."""
    return _split(sealed)[0]


def open_sealed(sealed: str, *, private_keys: Mapping[str, bytes], tenant_id: str, request_id: str) -> str:
    """Open a sealed key (worker side). Raises SealedKeyInvalid, whose message never holds key material."""
    kid, ephemeral_public, box = _split(sealed)
    private_raw = private_keys.get(kid)
    if private_raw is None:
        raise SealedKeyInvalid("unknown sealing key id")
    try:
        private = X25519PrivateKey.from_private_bytes(private_raw)
        recipient_public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        content_key = _derive(shared, kid, ephemeral_public, recipient_public)
        plaintext = ChaCha20Poly1305(content_key).decrypt(
            box[:12], box[12:], _associated_data(kid, tenant_id, request_id)
        )
        return plaintext.decode()
    except (InvalidTag, ValueError, UnicodeDecodeError):
        raise SealedKeyInvalid("sealed key does not open for this tenant and request") from None


def _split(sealed: str) -> tuple[str, bytes, bytes]:
    if not isinstance(sealed, str) or len(sealed) > MAX_SEALED_LENGTH:
        raise SealedKeyInvalid("sealed key is malformed")
    parts = sealed.split(".")
    if len(parts) != 4 or parts[0] != VERSION or not _KID.fullmatch(parts[1]):
        raise SealedKeyInvalid("sealed key is malformed")
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


def _associated_data(kid: str, tenant_id: str, request_id: str) -> bytes:
    parts = [VERSION.encode(), kid.encode(), tenant_id.encode(), request_id.encode()]
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


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
