"""The /keys page's routes and headers with fakes behind the app (the browser tests use the real service)."""

from __future__ import annotations

import re

import pytest
from byok_keyvault.config import SettingsError, load_settings
from byok_keyvault.domain.formats import FORMATS
from byok_keyvault.web import parse_frame_ancestors
from byok_keyvault.web.headers import page_csp
from byok_keyvault.web.page import key_formats
from fakes.keyvault import ANTHROPIC_KEY, make_token


def directives(csp: str) -> dict[str, str]:
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in csp.split("; ")}


async def test_page_assets_and_headers_without_embedding(client_for):
    async with client_for() as c:
        page = await c.get("/keys")
        assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
        csp = directives(page.headers["content-security-policy"])
        assert csp["default-src"] == "'none'" and csp["script-src"] == "'self'"
        assert csp["frame-ancestors"] == "'none'" and csp["form-action"] == "'none'"
        assert csp["require-trusted-types-for"] == "'script'"
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-cache"
        assert '<meta name="byok-embed-origins" content="">' in page.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), "no inline script"
        assert " style=" not in page.text and "<style" not in page.text, "no inline style"
        for asset, kind in [("keys.js", "text/javascript"), ("keys.css", "text/css"), ("icon.svg", "image/svg")]:
            r = await c.get(f"/keys/{asset}")
            assert r.status_code == 200 and r.headers["content-type"].startswith(kind), asset
            assert r.headers["x-content-type-options"] == "nosniff"
        assert (await c.get("/keys/../config.py")).status_code == 404
        assert (await c.get("/keys/keys.html")).status_code == 404  # only through /keys


async def test_frame_ancestors_reach_the_csp_and_the_page(client_for):
    origins = ("https://platform.example", "http://localhost:3000")
    async with client_for(frame_ancestors=origins) as c:
        page = await c.get("/keys")
    assert directives(page.headers["content-security-policy"])["frame-ancestors"] == " ".join(origins)
    assert "x-frame-options" not in page.headers
    assert f'<meta name="byok-embed-origins" content="{" ".join(origins)}">' in page.text


async def test_authenticated_answers_are_never_cached(client_for):
    async with client_for() as c:
        headers = {"authorization": "Bearer " + make_token("alice", "acme", "member")}
        stored = await c.post(
            "/api/user-api-keys", json={"keyType": "anthropic", "apiKey": ANTHROPIC_KEY}, headers=headers
        )
        listed = await c.get("/api/user-api-keys", headers=headers)
        refused = await c.get("/api/user-api-keys")
        health = await c.get("/healthz")
    for answer in (stored, listed, refused):
        assert answer.headers["cache-control"] == "no-store" and answer.headers["pragma"] == "no-cache"
    assert stored.status_code == 201 and listed.status_code == 200 and refused.status_code == 401
    assert "no-store" not in health.headers.get("cache-control", "")
    assert health.headers["x-content-type-options"] == "nosniff"


def test_formats_served_to_the_page_are_the_services():
    served = key_formats()["providers"]
    assert set(served) == {p.value for p in FORMATS}
    for provider, fmt in FORMATS.items():
        assert served[provider.value]["prefixes"] == list(fmt.prefixes)
        assert served[provider.value]["forbiddenPrefixes"] == list(fmt.forbidden_prefixes)
        assert (served[provider.value]["minLength"], served[provider.value]["maxLength"]) == (
            fmt.min_length,
            fmt.max_length,
        )


@pytest.mark.parametrize(
    "value",
    [
        "https://a.example; script-src *",
        "https://a.example,*",
        "*",
        "https://*.example.com",
        "https://a.example/path",
        "'unsafe-inline'",
        "javascript:alert(1)",
        'https://a.example"><script>',
    ],
)
def test_frame_ancestors_refuse_anything_but_origins(value, monkeypatch):
    with pytest.raises(ValueError):
        parse_frame_ancestors(value)
    monkeypatch.setenv("BYOK_KEYVAULT_FRAME_ANCESTORS", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "keyvault_frame_ancestors" in str(caught.value)


def test_frame_ancestors_accept_origins_and_self():
    assert parse_frame_ancestors("") == ()
    assert parse_frame_ancestors(" https://a.example:8443,  'self' http://localhost:3000 ") == (
        "https://a.example:8443",
        "'self'",
        "http://localhost:3000",
    )
    assert "frame-ancestors 'self' https://a.example;" in page_csp(("'self'", "https://a.example"))
