"""Hypothesis strategies built from the event models: valid, near-valid and hostile records.

`valid(Model)` walks the model's JSON schema (so a field added to a model is fuzzed without a change
here), with a few field names mapped to values the schema cannot describe (ids, model names, money,
timestamps). `near_valid(Model)` is a valid event with one thing wrong: a field missing, an extra field,
a field of the wrong type or a hostile value. `hostile()` is bytes that are hardly JSON at all.
`records(Model)` mixes the three, as bytes the way a consumer reads them from Kafka.
"""

from __future__ import annotations

import functools
import itertools
import json
import string
import uuid
import zlib
from datetime import datetime
from decimal import Decimal
from typing import Any

from byok_events.keys import key_invalid_event_id
from byok_inference.adapters.kafka_publisher import STATUS_HEADER, TENANT_HEADER
from hypothesis import strategies as st
from pydantic import BaseModel

# Key-shaped text that hostile values carry: a dead letter must never repeat it.
KEYS = (
    "sk-ant-api03-" + "Zq7_xY-9" * 12,
    "sk-proj-" + "Ab3dEf6h" * 16,
    "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"[:39],
    "sk-or-v1-" + "0f1e2d3c" * 8,
    "hvs.CAESIJ" + "kq9Zx7Yw" * 10,
)
KEY_PROBES = tuple(k[-12:] for k in KEYS)

RUN = uuid.uuid4().hex[:12]  # event ids of one run are new to the ledger
_SERIAL = itertools.count()
ID_CHARS = string.ascii_letters + string.digits + "-_.@:"
ids = st.one_of(
    st.text(ID_CHARS, min_size=1, max_size=40),
    # valid by the contract, yet not a Vault path segment: letters of any script, punctuation, inner spaces
    st.text(st.characters(categories=["L", "N", "P", "Zs"]), min_size=1, max_size=20).filter(lambda s: s == s.strip()),
)
models = st.one_of(
    st.sampled_from(
        [
            "gpt-4.1",
            "gpt-4.1-mini",
            "claude-sonnet-4-5",
            "anthropic/claude-sonnet-4-5",
            "gemini-2.5-flash",
            "openrouter/anthropic/claude-sonnet-4.5",
            "o3-mini",
            "mystery-model-1",
        ]
    ),
    st.from_regex(r"[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,8}){0,3}", fullmatch=True),
)
timestamps = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30)).map(
    lambda d: d.isoformat(timespec="microseconds") + "Z"
)
money = st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=6).map(lambda d: format(d, "f"))
periods = st.from_regex(r"20[0-9]{2}-(0[1-9]|1[0-2])", fullmatch=True)

BY_NAME: dict[str, st.SearchStrategy[Any]] = {
    "request_id": ids,
    "tenant_id": ids,
    "user_id": st.one_of(st.none(), ids),
    "event_id": st.builds(lambda: f"{RUN}-{next(_SERIAL)}"),  # never the same twice (duplicates: see billing)
    "model": models,
    "period": periods,
    "budget": money,
    "spent": money,
    "provider_cost": money,
    "markup_rate": money,
    "charge": money,
    "fingerprint": st.text(string.ascii_letters + "#…", max_size=20),
}


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


# Values a hostile producer sends in place of a field.
HOSTILE_VALUES: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1.0, 1.5, 1e308, -1e308, 2**53 + 1, 100_000_001, float("inf"), float("nan")]),
    st.text(max_size=30),  # any code point: controls, format characters, lone surrogates
    st.text(st.characters(categories=["Cc", "Cf", "Co", "Zs"]), min_size=1, max_size=10),
    st.sampled_from(KEYS),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "1970-01-01T00:00:00Z",
            "2026-11-27T15:00:00",
            "2026-02-30T00:00:00Z",
            "2026-11-27T15:00:00Z\n",
            "gemini-2.5-flash?x=1",
            "../../etc/passwd",
            "a//b",
            "acme\x00",
            " acme",
            "x" * 257,
        ]
    ),
    st.integers(min_value=1_000, max_value=300_000).map(lambda n: "x" * n),  # huge strings
    st.integers(min_value=10, max_value=500).map(_nested),  # nesting in a field (deeper: as raw bytes)
    st.lists(st.integers(), max_size=5),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _from_schema(schema: dict[str, Any] | bool, defs: dict[str, Any], name: str = "") -> st.SearchStrategy[Any]:
    if name in BY_NAME:
        return BY_NAME[name]
    if isinstance(schema, bool):  # JSON Schema's `true` (anything: a tool's parameters, say) or `false`
        return st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)) if schema else st.nothing()
    if "$ref" in schema:
        return _from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([_from_schema(s, defs, name) for s in schema[key]])
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "date-time" or name.endswith("_at"):
            return timestamps
        if "pattern" in schema:
            return st.from_regex(schema["pattern"].removeprefix("^").removesuffix("$"), fullmatch=True)
        return st.text(
            st.characters(codec="utf-8", exclude_categories=["Cs"]),
            min_size=schema.get("minLength", 0),
            max_size=min(schema.get("maxLength", 40), 40),
        )
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum", 0), max_value=min(schema.get("maximum", 10**6), 10**6))
    if kind == "number":
        return st.floats(min_value=schema.get("minimum", 0), max_value=schema.get("maximum", 2), allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = _from_schema(schema.get("items", {}), defs)
        low = schema.get("minItems", 0)
        return st.lists(items, min_size=low, max_size=max(low, min(schema.get("maxItems", 3), 3)))
    if kind == "object" or "properties" in schema:
        return _object(schema, defs)
    return st.one_of(money, st.integers(0, 1000), st.text(max_size=10))  # an unannotated field (Money)


def _object(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties", {})
    if not properties:
        value = _from_schema(schema.get("additionalProperties") or {"type": "string"}, defs)
        keys = _from_schema(schema.get("propertyNames", {"type": "string"}), defs)
        return st.dictionaries(keys, value, max_size=2)
    required = set(schema.get("required", ()))
    fields = {k: _from_schema(v, defs, k) for k, v in properties.items() if k in required}
    optional = {k: _from_schema(v, defs, k) for k, v in properties.items() if k not in required}
    return st.fixed_dictionaries(fields, optional=optional)


@functools.cache
def valid(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation", by_alias=True)
    return _object(schema, schema.get("$defs", {})).map(lambda d: _FIXUPS.get(model.__name__, _same)(d))


def _same(data: dict[str, Any]) -> dict[str, Any]:
    return data


def _usage_fixup(data: dict[str, Any]) -> dict[str, Any]:
    # The cross-field rules of byok.usage/v1, so that most generated events are valid.
    data["byok"] = data.get("key_source") != "system"
    data["input_tokens"] = max(
        data.get("input_tokens", 0), data.get("cache_read_tokens", 0) + data.get("cache_write_tokens", 0)
    )
    return data


def _key_event_fixup(data: dict[str, Any]) -> dict[str, Any]:
    # Half of the generated key events are the key.invalid events a consumer acts on.
    if data.get("event_id", "").endswith(("0", "2", "4", "6", "8")) and isinstance(data.get("tenant_id"), str):
        request_id = "r-" + data["event_id"]
        data.update(
            type="key.invalid",
            version=data.get("version") or 1,
            fingerprint=data.get("fingerprint") or "sk-a…wxyz#0a1b2c",
            request_id=request_id,
            event_id=key_invalid_event_id(data["tenant_id"], request_id),
        )
        if (data.get("scope") == "user") != bool(data.get("user_id")):
            data["scope"] = "user" if data.get("user_id") else "org"
    return data


def _prompt_fixup(data: dict[str, Any]) -> dict[str, Any]:
    # Agent-grade messages have cross-field rules (a tool result answers an earlier call, tool_choice needs
    # tools); three prompts in four get a plain conversation, so that most generated prompts are valid.
    if isinstance(data.get("request_id"), str) and zlib.crc32(data["request_id"].encode("utf-8", "surrogatepass")) % 4:
        data["messages"] = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "fuzz"}]
        data.pop("tools", None)
        data.pop("tool_choice", None)
    return data


_FIXUPS = {"UsageEvent": _usage_fixup, "KeyEvent": _key_event_fixup, "PromptRequest": _prompt_fixup}


@functools.cache
def _fields(model: type[BaseModel]) -> list[str]:
    return sorted(model.model_json_schema(by_alias=True)["properties"])


@st.composite
def near_valid(draw: st.DrawFn, model: type[BaseModel]) -> dict[str, Any]:
    data = draw(valid(model))
    fields = _fields(model)
    how = draw(st.sampled_from(["drop", "extra", "replace", "replace", "replace"]))
    field = draw(st.sampled_from(fields))
    if how == "drop":
        data.pop(field, None)
    elif how == "extra":
        data[draw(st.text(max_size=20))] = draw(HOSTILE_VALUES)
    else:
        data[field] = draw(HOSTILE_VALUES)
    return data


def _dump(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def _mangled(draw: st.DrawFn, model: type[BaseModel]) -> bytes:
    """A valid record's bytes, damaged: invalid UTF-8, truncated, wrapped, nested, padded."""
    raw = _dump(draw(valid(model)))
    how = draw(st.sampled_from(["byte", "truncate", "wrap", "nest", "bom", "nul", "pad"]))
    if how == "byte":
        at = draw(st.integers(0, 10**6)) % len(raw)  # not bounded by len(raw): ids vary run to run
        return raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\x80"])) + raw[at + 1 :]
    if how == "truncate":
        return raw[: draw(st.integers(0, 10**6)) % len(raw)]
    if how == "wrap":
        return b"[" + raw + b"]"
    if how == "nest":
        depth = draw(st.integers(100, 200_000))
        return raw[:-1] + b', "x": ' + b"[" * depth + b"]" * depth + b"}"
    if how == "bom":
        return b"\xef\xbb\xbf" + raw
    if how == "nul":
        return raw.replace(b'"', b'"\x00', 1)
    return raw[:-1] + b', "pad": "' + b"y" * draw(st.integers(100_000, 1_200_000)) + b'"}'


def hostile() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        st.just(b""),
        st.sampled_from([b"null", b"true", b"1", b"1.5e999", b'"x"', b"[]", b"{}", b"NaN", b"{" * 3]),
        st.integers(100, 300_000).map(lambda d: b"[" * d + b"]" * d),
        st.integers(100, 100_000).map(lambda d: b'{"a":' * d + b"1" + b"}" * d),
        st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.builds(lambda v: _dump({"x": v}), HOSTILE_VALUES),
        # characters that a dead letter's JSON escapes (U+0001 takes 6 bytes there) or that take 4 bytes: a
        # record the broker takes whose dead letter, cut at 256 Ki characters, would be 1.5 MB
        st.tuples(st.sampled_from(["\x01", "\x1f", '"', "\\", "\U0001f600"]), st.integers(100, 240_000)).map(
            lambda c: (c[0] * c[1]).encode("utf-8")
        ),
    )


# Hostile records of the classes that once stopped a consumer, written first in the through-the-stack fuzz
# (a random draw meets the largest of them rarely).
CORPUS: tuple[bytes, ...] = (
    b"\x01" * 240_000,  # its dead letter's JSON was 1.5 MB: the broker refused it
    "\U0001f600".encode() * 240_000,  # 960 kB of 4-byte characters
    b"\xff" * 900_000,  # not UTF-8: a base64 payload
    b"[" * 200_000 + b"]" * 200_000,  # RecursionError in a parser
    b'{"tenant_id": "acme\\u0000", "request_id": "r\\u0000", "event_id": "e\\u0000"}',
    b'{"schema": 1, "occurred_at": "0001-01-01T00:00:00+01:00", "created_at": "9999-12-31T23:59:59-01:00"}',
    b'{"api_key": "' + KEYS[0].encode() + b'", "x": "\\u0073k-proj-' + KEYS[1][8:].encode() + b'"}',
)


def records(model: type[BaseModel]) -> st.SearchStrategy[bytes]:
    """Bytes of one Kafka record: a third valid, a third near-valid, a third hostile."""
    return st.one_of(
        valid(model).map(_dump),
        near_valid(model).map(_dump),
        _mangled(model),
        hostile(),
    )


def response_headers() -> st.SearchStrategy[tuple[tuple[str, bytes], ...]]:
    """Headers of a byok.prompt.responses record, as the worker's follower reads them (status, tenant)."""
    status = st.sampled_from([b"completed", b"failed", b"delta", b"\xff\x00"]).map(lambda v: (STATUS_HEADER, v))
    tenant = st.sampled_from([b"acme", b"t\xff", b""]).map(lambda v: (TENANT_HEADER, v))
    return st.lists(st.one_of(status, tenant, st.just(("other", b"x"))), max_size=3).map(tuple)


def response_keys() -> st.SearchStrategy[bytes | None]:
    return st.one_of(st.none(), ids.map(str.encode), st.binary(max_size=40))
