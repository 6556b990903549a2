"""Derived event ids: the same id uuid5 over the JSON list of the parts gives, whatever the parts hold."""

from __future__ import annotations

import json
import random
import uuid

import pytest
from byok_events.ids import DerivedIds
from byok_events.keys import key_invalid_event_id

NAMESPACE = uuid.UUID("6f3b1c52-3a8e-4f0c-9d59-2f7f4f7b9a10")


def reference(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, json.dumps(list(parts))))


@pytest.mark.parametrize(
    "parts",
    [
        ("usage", "acme", "0b7e7a4e-2a0e-4f7e-9d7e-3d2c1b0a9f8e"),
        ("usage", 'a"b', "c"),
        ("usage", "a\\b", "c"),
        ("usage", "é", "日本"),
        ("usage", "\u2028", "\x7f"),
        ("usage", "", ""),
        ("usage", 'a", "b', "c"),  # what a separator forgery would look like
    ],
)
def test_derived_ids_are_uuid5_of_the_json_list(parts: tuple[str, ...]) -> None:
    ids = DerivedIds(NAMESPACE)
    assert ids(*parts) == reference(*parts)
    assert uuid.UUID(ids(*parts)).version == 5


def test_derived_ids_agree_with_uuid5_on_random_strings() -> None:
    ids = DerivedIds(NAMESPACE)
    draw = random.Random(12)
    alphabet = 'ab:"\\ é\u2028\x7f\t{}[],\x00日'
    for _ in range(5_000):
        parts = tuple("".join(draw.choice(alphabet) for _ in range(draw.randint(0, 8))) for _ in range(3))
        assert ids(*parts) == reference(*parts), parts


def test_parts_cannot_be_forged_by_a_separator() -> None:
    ids = DerivedIds(NAMESPACE)
    assert ids("usage", 'a", "b', "c") != ids("usage", "a", 'b", "c')
    assert ids("usage", "a:b", "c") != ids("usage", "a", "b:c")


def test_key_invalid_event_id_is_unchanged() -> None:
    assert key_invalid_event_id("acme", "r-1") == reference("key.invalid", "acme", "r-1")


def test_a_part_that_is_not_a_string_is_derived_as_before_not_a_crash() -> None:
    """Regression (the stack fuzz): a hostile record's null request_id reached the derivation."""
    ids = DerivedIds(NAMESPACE)
    for parts in (("key.invalid", "t", None), ("key.invalid", 7, "r"), ("a", ["b"], {"c": 1})):
        assert ids(*parts) == str(uuid.uuid5(NAMESPACE, json.dumps(list(parts))))  # type: ignore[arg-type]
