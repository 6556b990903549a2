"""The key-vault HTTP API fuzzed from its own OpenAPI document, against the real service, Vault and Kafka.

Requests are built from /openapi.json (paths, parameters, the documented body schema), then made
near-valid or hostile. Whatever comes in: no 5xx, no key echoed, and nothing accepted that the contract
refuses (a 2xx only for a valid token, a supported keyType, a well-formed key and an allowed scope).
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from byok_core.settings import ProviderEndpoints
from byok_events import Provider
from byok_keyvault.domain.formats import FORMATS, KeyFormatError, normalize_key
from byok_testing.fake_providers import Rule, start_fake_providers
from hypothesis import given, settings
from hypothesis import strategies as st
from kv_support import running_service, settings_for, token

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fuzz"))
from fuzz_strategies import HOSTILE_VALUES, KEYS, _from_schema
from fuzz_support import FUZZ, cases

CASES_PER_ENDPOINT = cases(600)
TENANT = f"fuzz-{uuid.uuid4().hex[:8]}"
KEY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@st.composite
def provider_keys(draw: st.DrawFn, provider: str | None = None) -> str:
    """A key of the provider's accepted shape (the store succeeds with it), or nearly so."""
    fmt = FORMATS[Provider(provider) if provider else draw(st.sampled_from(list(Provider)))]
    prefix = draw(st.sampled_from(fmt.prefixes))
    length = draw(
        st.one_of(
            st.integers(fmt.min_length, min(fmt.max_length, 80)),
            st.integers(fmt.min_length, min(fmt.max_length, 80)),
            st.sampled_from([fmt.min_length - 1, fmt.max_length + 1]),
        )
    )
    body = draw(st.text(KEY_CHARS, min_size=max(0, length - len(prefix)), max_size=max(0, length - len(prefix))))
    return prefix + ("Q" + body[1:] if prefix == "sk-" and body else body)


AUTH = st.sampled_from(
    ["member", "member", "member", "admin", "admin", "none", "garbage", "expired", "newline-sub", "unicode-tenant"]
)


def auth_header(kind: str) -> dict[str, str]:
    if kind == "none":
        return {}
    if kind == "garbage":
        return {"authorization": "Bearer not.a.jwt"}
    if kind == "expired":
        return {"authorization": "Bearer " + token("alice", TENANT, ttl=-100)}
    if kind == "newline-sub":
        return {"authorization": "Bearer " + token("alice\n", TENANT)}
    if kind == "unicode-tenant":
        return {"authorization": "Bearer " + token("alice", TENANT + "\u200b")}
    return {"authorization": "Bearer " + token("alice", TENANT, kind)}


def body_strategy(schema: dict[str, Any]) -> st.SearchStrategy[bytes]:
    valid = _from_schema(schema, {}).map(lambda b: b)

    @st.composite
    def documented(draw: st.DrawFn) -> dict[str, Any]:
        body = draw(valid)
        own = provider_keys(body["keyType"]) if body.get("keyType") in {p.value for p in Provider} else provider_keys()
        body["apiKey"] = draw(st.one_of(own, own, own, provider_keys(), st.sampled_from(KEYS), HOSTILE_VALUES))
        if draw(st.integers(0, 3)) == 0:
            body[draw(st.sampled_from(sorted(schema["properties"])))] = draw(HOSTILE_VALUES)
        return body

    def dump(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")

    return st.one_of(
        documented().map(dump),
        documented().map(dump),
        documented().map(dump),
        documented().map(dump),
        st.integers(100, 20_000).map(lambda d: b"[" * d + b"]" * d),
        st.binary(max_size=200),
        st.integers(60_000, 200_000).map(lambda n: b'{"apiKey": "' + b"x" * n + b'"}'),
        st.sampled_from([b"", b"null", b"[]", b'{"keyType": NaN}', b'{"a": "\\ud800"}']),
    )


def allowed(method: str, path: str, auth: str, query: dict[str, Any], body: bytes, path_values: dict[str, str]) -> bool:
    """Whether the contract allows a 2xx for this request."""
    if not path.startswith("/api/user-api-keys"):
        return True  # public: the sealing key, health, metrics, the keys page
    if auth not in ("member", "admin"):
        return False
    scope = query.get("scope", "user")
    if method == "get":
        return scope in ("user", "org") and (scope == "user" or auth == "admin") or "scope" not in query
    if method == "delete":
        return path_values.get("key_type") in {p.value for p in Provider} and (
            scope == "user" or (scope == "org" and auth == "admin")
        )
    try:
        data = json.loads(body)
        provider = Provider(data["keyType"])
        normalize_key(provider, data["apiKey"])
    except (ValueError, KeyError, TypeError, AttributeError, KeyFormatError, RecursionError):
        return False
    scope = data.get("scope", "user")
    # `live` is asked of the fake providers, which accept every key unless a rule says otherwise
    return data.get("validate", "format") in ("format", "live", None) and (
        scope == "user" or (scope == "org" and auth == "admin")
    )


def requests_for(doc: dict[str, Any]) -> list[tuple[str, str, st.SearchStrategy[dict[str, Any]]]]:
    endpoints = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            params = {p["name"]: p for p in operation.get("parameters", [])}
            path_values = {
                name: st.one_of(st.sampled_from([p.value for p in Provider]), st.text(max_size=30))
                for name, p in params.items()
                if p["in"] == "path"
            }
            query_values = {
                name: st.one_of(st.sampled_from(["user", "org"]), st.text(max_size=20))
                for name, p in params.items()
                if p["in"] == "query"
            }
            body_schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            endpoints.append(
                (
                    method,
                    path,
                    st.fixed_dictionaries(
                        {
                            "auth": AUTH,
                            "path": st.fixed_dictionaries(path_values),
                            "query": st.fixed_dictionaries({}, optional=query_values),
                            "body": body_strategy(body_schema) if body_schema else st.just(b""),
                        }
                    ),
                )
            )
    return endpoints


def _endpoint_test(
    client: httpx.Client, method: str, path: str, name: str, strategy: Any, counts: dict[str, int]
) -> Any:
    @settings(FUZZ, max_examples=CASES_PER_ENDPOINT if path.startswith("/api/user") else CASES_PER_ENDPOINT // 6)
    @given(strategy)
    def one(request: dict[str, Any]) -> None:
        counts[name] += 1
        target = path
        for key, value in request["path"].items():
            target = target.replace("{" + key + "}", quote(value, safe="") or "%20")
        headers = {**auth_header(request["auth"]), "content-type": "application/json"}
        response = client.request(
            method.upper(), target, params=request["query"], content=request["body"], headers=headers
        )
        assert response.status_code < 500, (name, response.status_code, response.text[:300])
        for key in KEYS:
            assert key not in response.text
        try:
            sent = json.loads(request["body"]).get("apiKey")
        except (ValueError, AttributeError, RecursionError):
            sent = None
        if isinstance(sent, str) and len(sent.strip()) >= 8:
            assert sent.strip() not in response.text, "the key was echoed"
        if response.is_success:
            counts[name + " 2xx"] = counts.get(name + " 2xx", 0) + 1
            verdict = allowed(method, path, request["auth"], request["query"], request["body"], request["path"])
            assert verdict, (name, request)
        if response.status_code >= 400:
            assert response.json()["error"]["code"]

    return one


@pytest.fixture
async def fake():
    running = await start_fake_providers()
    yield running
    await running.stop()


@pytest.fixture
async def kv_with_providers(stack_env, tmp_path_factory, fake):
    """The key-vault service with its providers faked, so a `validate: live` request gets a provider's answer
    (a 502 `validation_unavailable` is right when a provider cannot be reached, but not what is fuzzed here)."""
    urls = fake.env
    providers = ProviderEndpoints(
        anthropic_base_url=urls["BYOK_ANTHROPIC_BASE_URL"],
        openai_base_url=urls["BYOK_OPENAI_BASE_URL"],
        gemini_base_url=urls["BYOK_GEMINI_BASE_URL"],
        openrouter_base_url=urls["BYOK_OPENROUTER_BASE_URL"],
    )
    group = f"byok-keyvault-fuzz-{uuid.uuid4().hex[:10]}"
    settings = settings_for(stack_env, str(tmp_path_factory.mktemp("kv-fuzz")), group, providers=providers)
    async with running_service(settings) as running:
        yield running


async def test_fuzz_the_api_from_its_openapi_document(kv_with_providers) -> None:
    kv = kv_with_providers
    await asyncio.to_thread(_fuzz, kv.url)


def _fuzz(url: str) -> None:
    counts: dict[str, int] = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        doc = client.get("/openapi.json").json()
        endpoints = requests_for(doc)
        assert {(m, p) for m, p, _ in endpoints} >= {
            ("get", "/api/user-api-keys"),
            ("post", "/api/user-api-keys"),
            ("delete", "/api/user-api-keys/{key_type}"),
            ("get", "/api/sealing-key"),
        }
        for method, path, strategy in endpoints:
            name = f"{method.upper()} {path}"
            counts[name] = 0

            one = _endpoint_test(client, method, path, name, strategy, counts)
            one()
        made_up = 0
        for verb in ("FUZZ", "PROPFIND", "TRACE", "X" * 50, "get"):
            response = client.request(verb, "/api/user-api-keys")
            assert response.status_code < 500
            made_up += 1
        metrics = client.get("/metrics").text
        assert "FUZZ" not in metrics and "PROPFIND" not in metrics
    print(f"[fuzz] key-vault API cases per endpoint: {counts}, made-up methods: {made_up}")
    assert all(n >= CASES_PER_ENDPOINT // 6 for name, n in counts.items() if not name.endswith("2xx"))
    assert counts.get("POST /api/user-api-keys 2xx", 0) > 0 and counts.get("GET /api/user-api-keys 2xx", 0) > 0


async def test_live_validation_is_answered_by_the_provider(kv_with_providers, fake) -> None:
    """Regression (CI, the fuzz): a well-formed key with `validate: live` got a 502 because the fake providers had
    no key-check endpoints. The provider's answer decides: 201 for a key it accepts, never a 5xx."""
    headers = auth_header("member")
    async with httpx.AsyncClient(base_url=kv_with_providers.url, timeout=30) as client:
        for provider in Provider:
            fmt = FORMATS[provider]
            key = fmt.prefixes[0] + ("Q" if fmt.prefixes[0] == "sk-" else "") + "0" * fmt.min_length
            body = {"keyType": provider.value, "apiKey": key[: max(fmt.min_length, len(fmt.prefixes[0]) + 8)]}
            body["validate"] = "live"
            response = await client.post("/api/user-api-keys", json=body, headers=headers)
            assert response.status_code in (200, 201), (provider, response.status_code, response.text)  # 200: replaced
            assert body["apiKey"] not in response.text
            refused = dict(body, apiKey=body["apiKey"][:-4] + "XXXX")
            fake.server.book.rules.append(Rule(action="invalid_key", api_key=refused["apiKey"]))
            response = await client.post("/api/user-api-keys", json=refused, headers=headers)
            assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_key", response.text
            assert refused["apiKey"] not in response.text
