"""byok_core.vault.key_codec: one path per (tenant, scope, user, provider), whatever the ids hold."""

from __future__ import annotations

import itertools

import pytest
from byok_core.vault import KVEntry
from byok_core.vault import key_codec as codec

HOSTILE = [
    "alice",
    "alice\n",
    "alice\r\n",
    "alice\x00",
    " alice",
    "alice ",
    "../x",
    "..",
    ".",
    "...",
    "a/b",
    "a%2Fb",
    "a%252Fb",
    "%2E%2E",
    "a\\b",
    "alice/../bob",
    "users",
    "org",
    "tenants",
    "ALICE",
    "alicé",
    "ali\u200bce",
    "a?b#c",
    "a b",
    "x" * 256,
    "🔑",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_segment_is_one_segment_and_decodes_back(value: str) -> None:
    encoded = codec.encode_segment(value)
    assert "/" not in encoded
    assert encoded not in (".", "..")
    assert all(ch.isascii() and ch.isprintable() and not ch.isspace() for ch in encoded)
    assert codec.decode_segment(encoded) == value


def test_distinct_ids_never_share_a_path() -> None:
    paths: dict[str, tuple[str, ...]] = {}
    for tenant, user in itertools.product(HOSTILE, HOSTILE):
        for provider in ("anthropic", "openai"):
            for where in (("user", tenant, user, provider), ("org", tenant, None, provider)):
                path = codec.key_path(*where)
                previous = paths.setdefault(path, where)
                assert previous == where, (path, previous, where)
    # and every user path has exactly the four segments of the layout
    for tenant, user in itertools.product(HOSTILE, HOSTILE):
        parts = codec.user_key_path(tenant, user, "openai").split("/")
        assert len(parts) == 5 and parts[0] == "tenants" and parts[2] == "users"
        assert (codec.decode_segment(parts[1]), codec.decode_segment(parts[3])) == (tenant, user)


def test_ids_of_the_old_rule_keep_their_path() -> None:
    """Keys stored before percent-encoding stay where they are: [A-Za-z0-9_.@-] is written as is."""
    assert codec.user_key_path("acme", "bob@acme.io", "openai") == "tenants/acme/users/bob@acme.io/openai"
    assert codec.org_key_path("t-1_x.y", "gemini") == "tenants/t-1_x.y/org/gemini"
    assert codec.system_key_path("anthropic") == "system/anthropic"


def test_the_newline_of_alice_is_not_alice() -> None:
    assert codec.user_key_path("acme", "alice\n", "openai") != codec.user_key_path("acme", "alice", "openai")
    assert codec.user_key_path("acme", "alice\n", "openai") == "tenants/acme/users/alice%0A/openai"
    assert codec.user_key_path("acme", "../x", "openai") == "tenants/acme/users/..%2Fx/openai"
    assert codec.user_key_path("acme", "..", "openai") == "tenants/acme/users/%2E%2E/openai"
    assert codec.user_key_path("a/b", "u", "openai") == "tenants/a%2Fb/users/u/openai"
    assert codec.user_key_path("a%2Fb", "u", "openai") == "tenants/a%252Fb/users/u/openai"


@pytest.mark.parametrize("bad", ["", "x" * 257, "\ud800", "a\udfffb"])
def test_values_no_path_can_hold_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        codec.encode_segment(bad)
    with pytest.raises(ValueError):
        codec.user_key_path("acme", bad, "openai")


def test_key_path_needs_a_known_scope_and_a_user_for_user_keys() -> None:
    with pytest.raises(ValueError):
        codec.key_path("user", "acme", None, "openai")
    with pytest.raises(ValueError):
        codec.key_path("tenant", "acme", "u", "openai")
    assert codec.keys_folder("user", "acme", "u/1") == "tenants/acme/users/u%2F1"
    assert codec.keys_folder("org", "acme", None) == "tenants/acme/org"


def _entry(version: int, *, invalid_version: str | None = None, status: str = "active") -> KVEntry:
    custom = {"invalid_version": invalid_version} if invalid_version is not None else None
    data = codec.secret_data("sk-proj-" + "a" * 40, fingerprint="sk-p…aaaa#abc123", created_at="2026-11-01T00:00:00Z")
    data["status"] = status
    return KVEntry(
        data, {"version": version, "created_time": "2026-11-30T10:00:00.123456789Z", "custom_metadata": custom}
    )


def test_decode_reads_version_times_and_the_invalid_mark() -> None:
    secret = codec.decode(_entry(3))
    assert secret is not None and secret.version == 3 and not secret.invalid
    assert secret.created_at.isoformat() == "2026-11-01T00:00:00+00:00"
    assert secret.updated_at.isoformat() == "2026-11-30T10:00:00.123456+00:00"
    assert "sk-proj" not in repr(secret)
    assert codec.decode(_entry(3, invalid_version="3")).invalid  # type: ignore[union-attr]
    assert not codec.decode(_entry(4, invalid_version="3")).invalid  # type: ignore[union-attr]
    assert codec.decode(_entry(1, status="invalid")).invalid  # type: ignore[union-attr]
    assert codec.decode(None) is None
    assert codec.decode(KVEntry({"api_key": ""}, {"version": 1})) is None
    assert codec.decode(KVEntry({"api_key": 5}, {"version": 1})) is None


def test_invalid_mark_marks_only_an_existing_newer_version() -> None:
    meta = {"current_version": 3, "custom_metadata": {"owner": "x"}}
    assert codec.invalid_mark(meta, 3) == {"owner": "x", "invalid_version": "3"}
    assert codec.invalid_mark(meta, 2) == {"owner": "x", "invalid_version": "2"}
    assert codec.invalid_mark(meta, 4) is None  # never existed
    assert codec.invalid_mark(meta, 0) is None
    marked = {"current_version": 3, "custom_metadata": {"invalid_version": "3"}}
    assert codec.invalid_mark(marked, 3) is None and codec.invalid_mark(marked, 2) is None
    garbage = {"current_version": 3, "custom_metadata": {"invalid_version": "x"}}
    assert codec.invalid_mark(garbage, 1) == {"invalid_version": "1"}
