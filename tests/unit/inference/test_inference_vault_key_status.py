"""A stored key the key-vault service marked invalid (custom_metadata.invalid_version) counts as absent."""

from __future__ import annotations

from byok_inference.adapters.vault_keys import usable


def _found(version: int, invalid_version: str | None = None, status: str = "active"):
    custom = {"invalid_version": invalid_version} if invalid_version is not None else None
    return {"api_key": "sk-proj-" + "a" * 40, "status": status}, {"version": version, "custom_metadata": custom}


def test_an_active_key_isusable() -> None:
    key = usable(_found(3))
    assert key is not None and key.version == 3


def test_the_rejected_version_is_notusable() -> None:
    assert usable(_found(3, invalid_version="3")) is None


def test_a_rotated_key_is_usable_again() -> None:
    assert usable(_found(4, invalid_version="3")) is not None


def test_a_status_marked_invalid_is_notusable() -> None:
    assert usable(_found(1, status="invalid")) is None
