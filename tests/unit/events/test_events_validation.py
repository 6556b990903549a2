"""The well-formed-input rules (contract, "Well-formed input"), in byok_events.validation, on every event model."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from byok_events import BudgetAlert, Charge, KeyEvent, PromptRequest, PromptResponse, UsageEvent
from byok_events.validation import field_errors, loads_json, parse_timestamp
from pydantic import ValidationError

USAGE = {
    "schema": "byok.usage/v1",
    "event_id": "e-1",
    "request_id": "r-1",
    "tenant_id": "acme",
    "user_id": "u_42",
    "provider": "anthropic",
    "model": "claude-sonnet-4-5",
    "route": "direct",
    "key_source": "user",
    "byok": True,
    "input_tokens": 10,
    "output_tokens": 5,
    "cache_read_tokens": 0,
    "cache_write_tokens": 0,
    "occurred_at": "2026-11-27T15:00:01Z",
}
REQUEST = {
    "schema": "byok.prompt.request/v1",
    "request_id": "r-1",
    "tenant_id": "acme",
    "user_id": "u_42",
    "model": "gpt-4.1",
    "messages": [{"role": "user", "content": "hi"}],
    "created_at": "2026-11-27T15:00:00Z",
}


def refused_fields(model: type, data: dict) -> set[str]:
    """The fields a ValidationError names, from both entrances (bytes and Python objects)."""
    with pytest.raises(ValidationError) as from_json:
        model.model_validate_json(json.dumps(data))
    with pytest.raises(ValidationError) as from_python:
        model.model_validate(data)
    assert field_errors(from_json.value) == field_errors(from_python.value)
    return {".".join(str(p) for p in e["loc"]) for e in from_json.value.errors()}


def test_the_valid_examples_pass() -> None:
    assert UsageEvent.model_validate_json(json.dumps(USAGE)).input_tokens == 10
    assert PromptRequest.model_validate_json(json.dumps(REQUEST)).model == "gpt-4.1"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        " acme",
        "acme ",
        "ac\x00me",
        "ac\nme",
        "a\u200bb",
        "a\ud800b",
        "a\ue000b",
        "a\U000e0001b",
        "\u0378",
        "x" * 257,
    ],
    ids=[
        "empty",
        "leading-space",
        "trailing-space",
        "nul",
        "newline",
        "zero-width",
        "surrogate",
        "private-use",
        "tag-char",
        "unassigned",
        "too-long",
    ],
)
@pytest.mark.parametrize("field", ["tenant_id", "event_id", "user_id", "request_id"])
def test_ids_are_refused_by_the_field_name(field: str, bad: str) -> None:
    if bad == "a\ud800b":  # not encodable as UTF-8 JSON: only the Python entrance can carry it
        with pytest.raises(ValidationError) as exc:
            UsageEvent.model_validate({**USAGE, field: bad})
        assert {e["loc"][0] for e in exc.value.errors()} == {field}
        return
    assert refused_fields(UsageEvent, {**USAGE, field: bad}) == {field}


def test_ids_may_be_any_printable_unicode_up_to_256() -> None:
    for good in ["acme", "Ünïcødé-テナント", "a b", "x" * 256, "user@example.com"]:
        assert UsageEvent.model_validate({**USAGE, "tenant_id": good}).tenant_id == good


@pytest.mark.parametrize(
    "bad",
    ["", "gpt 4", "gpt-4?x", "a&b", "../etc", "a/../b", "a//b", "/gpt", "gpt/", "gpt\n", "m" * 201, "gpt-4.1\u00e9"],
)
def test_model_ids_are_refused(bad: str) -> None:
    assert refused_fields(UsageEvent, {**USAGE, "model": bad}) == {"model"}
    assert refused_fields(PromptRequest, {**REQUEST, "model": bad}) == {"model"}


def test_model_ids_allowed() -> None:
    for good in ["anthropic/claude-sonnet-4-5", "openrouter/anthropic/claude-sonnet-4.5", "o3-mini", "ft:gpt-4o:org:x"]:
        assert PromptRequest.model_validate({**REQUEST, "model": good}).model == good


@pytest.mark.parametrize("bad", [1.0, 10.0, 1e3, True, "10", -1, 100_000_001, 10**30, None])
@pytest.mark.parametrize("field", ["input_tokens", "output_tokens", "cache_read_tokens"])
def test_token_counts_are_strict_integers_in_range(field: str, bad: object) -> None:
    assert refused_fields(UsageEvent, {**USAGE, field: bad}) == {field}


def test_token_count_bounds_are_inclusive() -> None:
    event = UsageEvent.model_validate({**USAGE, "input_tokens": 100_000_000, "output_tokens": 0})
    assert event.input_tokens == 100_000_000


@pytest.mark.parametrize(
    "bad",
    [
        "0001-01-01T00:00:00+01:00",  # OverflowError converting to UTC, once
        "9999-12-31T23:59:59-01:00",
        "1999-12-31T23:59:59Z",
        "2100-01-01T00:00:01Z",
        "2100-01-01T00:30:00+00:00".replace("+00:00", "-00:30"),
        "2026-11-27T15:00:00",  # no offset
        "2026-11-27",
        "20261127T150000Z",
        "2026-11-27T15:00Z",
        "2026-11-27T15:00:00+24:00",
        "2026-02-30T15:00:00Z",
        "2026-11-27T15:00:60Z",
        "2026-11-27T15:00:00Z\n",
        "2026-11-27T15:00:00.1234567890Z",
        "",
        1764255600,
        1.5,
    ],
)
def test_timestamps_are_rfc3339_with_offset_in_range(bad: object) -> None:
    assert refused_fields(UsageEvent, {**USAGE, "occurred_at": bad}) == {"occurred_at"}
    with pytest.raises(ValueError):
        parse_timestamp(bad)


def test_extreme_python_datetimes_are_refused_without_overflow() -> None:
    for value in (
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-1))),
        datetime(2026, 1, 1),  # naive
    ):
        with pytest.raises(ValidationError):
            UsageEvent.model_validate({**USAGE, "occurred_at": value})


def test_timestamps_accepted_and_normalised_to_utc() -> None:
    assert parse_timestamp("2026-11-27T16:00:00.123456789+01:00") == datetime(2026, 11, 27, 15, 0, 0, 123456, UTC)
    assert parse_timestamp("2000-01-01T00:00:00Z") == datetime(2000, 1, 1, tzinfo=UTC)
    assert parse_timestamp("2100-01-01t00:00:00z") == datetime(2100, 1, 1, tzinfo=UTC)
    assert parse_timestamp("2026-11-27 15:00:00-00:00").tzinfo is UTC
    event = UsageEvent.model_validate({**USAGE, "occurred_at": "2026-11-27T23:30:00-02:00"})
    assert json.loads(event.to_bytes())["occurred_at"] == "2026-11-28T01:30:00Z"


def test_the_usual_utc_form_parses_as_the_general_form_does() -> None:
    for value in ("2026-11-27T15:00:00Z", "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z", "2028-02-29T23:59:59Z"):
        fast = parse_timestamp(value)
        assert fast == parse_timestamp(value.replace("Z", "+00:00")) == parse_timestamp(value.lower())
        assert fast.tzinfo is UTC
    for bad in ("0000-01-01T00:00:00Z", "2027-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2100-01-01T00:00:01Z"):
        with pytest.raises(ValueError):
            parse_timestamp(bad)


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [300, 10_000, 200_000])
def test_deeply_nested_json_is_a_validation_error_for_every_model(depth: int) -> None:
    for model, example in ((UsageEvent, USAGE), (PromptRequest, REQUEST)):
        raw = json.dumps(example)[:-1] + ', "extra": ' + deep(depth) + "}"
        with pytest.raises(ValidationError):
            model.model_validate_json(raw)
    for model in (KeyEvent, BudgetAlert, Charge, PromptResponse):
        with pytest.raises(ValidationError):
            model.model_validate_json('{"x": ' + deep(depth) + "}")


@pytest.mark.parametrize("depth", [300, 10_000, 200_000])
def test_deeply_nested_json_on_the_json_loads_path_is_a_value_error(depth: int) -> None:
    if depth > 1000:
        with pytest.raises(RecursionError):  # what the standard library does: why loads_json exists
            json.loads(deep(depth))
    with pytest.raises(ValueError):
        loads_json(deep(depth))


def test_loads_json_refuses_what_the_contract_cannot_carry() -> None:
    for raw in (b"\xff\xfe", b"[NaN]", b"[Infinity]", b'"\\ud800"', b"{", b"x" * (2 * 1024 * 1024)):
        with pytest.raises(ValueError):
            loads_json(raw)
    assert loads_json(b'{"a": [1, 2.5, "\\u00e9"]}') == {"a": [1, 2.5, "\u00e9"]}


def test_money_is_bounded() -> None:
    from byok_events import Money  # noqa: F401 - the type the charge uses

    base = {
        "event_id": "a1",
        "tenant_id": "acme",
        "period": "2026-11",
        "kind": "soft",
        "measure": "provider_cost",
        "threshold": "0.5",
        "budget": "100",
        "spent": "50.5",
    }
    assert BudgetAlert.model_validate(base).spent == __import__("decimal").Decimal("50.5")
    for bad in ("1e999999999", "0E-999999", "1" * 65, "NaN", "Infinity", 1.5, True):
        with pytest.raises(ValidationError) as exc:
            BudgetAlert.model_validate({**base, "spent": bad})
        assert [e["loc"] for e in exc.value.errors()] == [("spent",)]
    for bad in ("2026-13", "2026-1", "2026-11\n", "x"):
        with pytest.raises(ValidationError):
            BudgetAlert.model_validate({**base, "period": bad})


def test_field_errors_names_fields_never_values() -> None:
    key = "sk-ant-api03-" + "A" * 40
    with pytest.raises(ValidationError) as exc:
        PromptRequest.model_validate({**REQUEST, "tenant_id": key + "\x00", "sealed_keys": {key: "x"}})
    text = field_errors(exc.value)
    assert "tenant_id" in text and "sealed_keys" in text
    assert "sk-ant" not in text and "AAAA" not in text
