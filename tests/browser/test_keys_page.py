"""The /keys page in headless Chromium against the real key-vault service (real Vault and Kafka)."""

from __future__ import annotations

import asyncio
import re
import secrets
import time

import pytest
from axe_playwright_python.async_playwright import Axe
from byok_core.fingerprint import Fingerprints, load_secret
from byok_core.settings import VaultSettings
from byok_core.vault import VaultClient
from byok_events import Provider
from byok_keyvault.domain.formats import KeyFormatError, normalize_key
from byok_keyvault.domain.models import KeyRef, Scope
from playwright.async_api import expect
from pydantic import SecretStr
from support.browser import API, NARROW, KeysPage, Recorder, artifacts_dir, bearer_token

pytestmark = pytest.mark.integration

_fingerprints: Fingerprints | None = None


@pytest.fixture(autouse=True)
async def _keyed_fingerprints(kv, stack_env) -> None:
    """Fingerprints are keyed with the HMAC secret the service keeps in Vault: read it as root would."""
    global _fingerprints
    if _fingerprints is None:
        settings = VaultSettings(addr=stack_env["BYOK_VAULT_ADDR"], token=SecretStr(stack_env["BYOK_VAULT_ROOT_TOKEN"]))
        async with VaultClient(settings) as vault:
            _fingerprints = Fingerprints(secret=await load_secret(vault, create=False))


def fingerprint(api_key: str) -> str:
    assert _fingerprints is not None
    return _fingerprints(api_key)


def anthropic_key() -> str:
    return "sk-ant-api03-" + secrets.token_urlsafe(72)


def openai_key() -> str:
    return "sk-proj-" + secrets.token_urlsafe(96)


def openrouter_key() -> str:
    return "sk-or-v1-" + secrets.token_hex(32)


def auth(bearer: str) -> dict[str, str]:
    return {"authorization": "Bearer " + bearer}


async def dom_and_inputs(kp: KeysPage) -> str:
    """The serialised DOM plus every form field's current value (a value property is not in the markup)."""
    values = await kp.page.evaluate(
        "() => [...document.querySelectorAll('input, select, textarea')].map(e => e.value).join('\\n')"
    )
    return await kp.page.content() + "\n" + values


async def overflowing(kp: KeysPage) -> list[str]:
    """What is cut off or needs sideways scrolling: the page itself, or a table wider than its card."""
    return await kp.page.evaluate(
        """() => {
            const found = [];
            if (document.documentElement.scrollWidth > window.innerWidth) found.push("page");
            for (const t of document.querySelectorAll("table.keys")) {
                if (t.offsetParent && t.scrollWidth > t.parentElement.clientWidth) found.push(t.id);
            }
            return found;
        }"""
    )


async def test_add_replace_list_and_remove_after_confirming(keys_page: KeysPage, api, unique_id):
    kp, tenant = keys_page, f"t-{unique_id}"
    bearer = bearer_token("u1", tenant)
    first, second = anthropic_key(), anthropic_key()
    await kp.open()
    await kp.sign_in(bearer)
    await expect(kp.page.get_by_text("You have no keys yet")).to_be_visible()
    await expect(kp.page.locator("#who-text")).to_have_text(f"Signed in as u1 · {tenant} · member")

    await kp.save_key("anthropic", first)
    row = kp.row("anthropic")
    await expect(row.locator("td[data-label='Version']")).to_have_text("1")
    await expect(row.locator("td[data-label='Fingerprint']")).to_have_text(fingerprint(first))
    await expect(row.locator(".badge")).to_have_text("Active")
    await expect(kp.page.get_by_label("API key")).to_have_value("")
    await expect(kp.page.locator("#notice")).to_contain_text("version 1")

    # replace: the row's button sets up the form, the version goes up
    await kp.page.get_by_role("button", name="Replace your Anthropic key").click()
    await expect(kp.page.get_by_label("API key")).to_be_focused()
    await expect(kp.page.locator("#editor-title")).to_have_text("Replace a key")
    await expect(kp.page.locator("#replace-note")).to_contain_text("version 1")
    await kp.page.get_by_label("API key").fill(second)
    async with kp.page.expect_response(lambda r: r.url.endswith(API) and r.request.method == "POST") as info:
        await kp.page.get_by_role("button", name="Replace key").click()
    assert (await info.value).status == 200
    await expect(row.locator("td[data-label='Version']")).to_have_text("2")
    await expect(row.locator("td[data-label='Fingerprint']")).to_have_text(fingerprint(second))
    listed = (await api.get(API, headers=auth(bearer))).json()["keys"]
    assert [(k["keyType"], k["version"], k["fingerprint"]) for k in listed] == [("anthropic", 2, fingerprint(second))]

    # remove: Cancel keeps the key and sends nothing
    await kp.page.get_by_role("button", name="Remove your Anthropic key").click()
    dialog = kp.page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("Remove your Anthropic key?")
    await expect(dialog).to_contain_text(fingerprint(second))
    await expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()  # the safe choice first
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(row).to_have_count(1)
    await kp.recorder.settle()
    assert kp.recorder.api_calls("DELETE") == []

    # Escape closes it too, then the key goes only after "Remove key"
    await kp.page.get_by_role("button", name="Remove your Anthropic key").click()
    await kp.page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await kp.page.get_by_role("button", name="Remove your Anthropic key").click()
    async with kp.page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        await dialog.get_by_role("button", name="Remove key").click()
    assert (await deleted.value).status == 204
    await expect(row).to_have_count(0)
    await expect(kp.page.get_by_text("You have no keys yet")).to_be_visible()
    await expect(kp.page.locator("#notice")).to_have_text("Removed your Anthropic key.")
    assert (await api.get(API, headers=auth(bearer))).json()["keys"] == []
    await kp.recorder.settle()
    assert [e.url for e in kp.recorder.api_calls("DELETE")] == [f"{kp.url}{API}/anthropic?scope=user"]
    assert kp.recorder.page_errors == []
    assert [m for m in kp.recorder.console if m.startswith("error")] == []  # no CSP violation either


async def test_a_bad_format_is_shown_inline_and_nothing_is_sent(keys_page: KeysPage, unique_id):
    kp = keys_page
    await kp.open()
    await kp.sign_in(bearer_token("u1", f"t-{unique_id}"))
    await kp.recorder.settle()
    calls_before = len(kp.recorder.api_calls())
    field, error = kp.page.get_by_label("API key"), kp.page.locator("#api-key-error")
    cases = [
        ("openrouter", "", "Paste the key first."),
        ("anthropic", "sk-ant-short", "Too short: an Anthropic key has at least 40 characters."),
        ("openai", "sk-proj-" + "a" * 20 + " " + "b" * 20, "remove spaces"),
        ("gemini", "AIza" + "x" * 40, "Too long: a Google Gemini key has at most 39 characters."),
        (
            "anthropic",
            "sk-proj-" + "a" * 50,
            "This does not look like an Anthropic key. An Anthropic key starts with sk-ant-;",
        ),
    ]
    for provider, bad, message in cases:
        await kp.page.get_by_label("Provider").select_option(provider)
        await field.fill(bad)
        await field.press("Enter")  # the keyboard submits the form as the button does
        await expect(error).to_contain_text(message)
        await expect(field).to_have_attribute("aria-invalid", "true")
        await expect(field).to_be_focused()
    # the field describes its error, so a screen reader reads it with the field
    assert "api-key-error" in (await field.get_attribute("aria-describedby") or "")
    await kp.page.set_viewport_size(NARROW)
    await kp.page.screenshot(path=artifacts_dir() / "keys-format-error-narrow.png", full_page=True)
    # typing a valid key clears the error
    await kp.page.get_by_label("Provider").select_option("openrouter")
    await field.fill(openrouter_key())
    await expect(error).to_be_empty()
    await expect(field).not_to_have_attribute("aria-invalid", "true")
    await kp.recorder.settle()
    assert len(kp.recorder.api_calls()) == calls_before
    assert kp.recorder.api_calls("POST") == []


async def test_without_the_format_rules_the_services_refusal_is_shown_inline(keys_page: KeysPage, unique_id):
    kp = keys_page
    await kp.page.route("**/keys/formats.json", lambda route: route.abort())
    await kp.open()
    await kp.sign_in(bearer_token("u1", f"t-{unique_id}"))
    await kp.page.get_by_label("API key").fill("sk-proj-" + "a" * 50)
    async with kp.page.expect_response(lambda r: r.request.method == "POST") as answer:
        await kp.page.locator("#save").click()
    assert (await answer.value).status == 422
    await expect(kp.page.locator("#api-key-error")).to_have_text(
        "This does not look like an Anthropic key. Check the provider you chose."
    )
    await expect(kp.page.get_by_label("API key")).to_have_attribute("aria-invalid", "true")
    await expect(kp.page.locator("#alert")).to_be_hidden()


async def test_the_page_checks_formats_by_the_services_rules(keys_page: KeysPage):
    kp = keys_page
    await kp.open()
    await kp.page.wait_for_function("() => byokCheckKey('anthropic', '') !== null")
    candidates = {
        Provider.ANTHROPIC: [
            "sk-ant-" + "a" * 33,
            "sk-ant-" + "a" * 32,
            "  sk-ant-" + "b" * 40 + " ",
            "sk-" + "a" * 50,
        ],
        Provider.OPENAI: ["sk-" + "a" * 37, "sk-ant-" + "a" * 40, "sk-or-" + "a" * 40, "sk-proj-é" + "a" * 40],
        Provider.GEMINI: ["AIza" + "a" * 35, "AIza" + "a" * 34, "AIza" + "a" * 36, "aiza" + "a" * 35],
        Provider.OPENROUTER: ["sk-or-v1-" + "a" * 32, "sk-or-" + "a" * 40, "sk-or-v1-" + "a" * 300, "\t"],
    }
    for provider, keys in candidates.items():
        for key in keys:
            try:
                normalize_key(provider, key)
                expected = None
            except KeyFormatError as exc:
                expected = exc.reason
            found = await kp.page.evaluate("([p, k]) => byokCheckKey(p, k)?.reason ?? null", [provider.value, key])
            assert found == expected, (provider, len(key))


async def test_another_users_keys_are_not_visible(keys_page: KeysPage, api, unique_id):
    kp, tenant = keys_page, f"t-{unique_id}"
    others = {
        "u2 in the same tenant": (bearer_token("u2", tenant), "user", anthropic_key()),
        "u1 of another tenant": (bearer_token("u1", f"other-{unique_id}"), "user", anthropic_key()),
        "the tenant's org key": (bearer_token("boss", tenant, "admin"), "org", openai_key()),
    }
    for bearer, scope, key in others.values():
        r = await api.post(
            API,
            json={"keyType": key.startswith("sk-ant") and "anthropic" or "openai", "apiKey": key, "scope": scope},
            headers=auth(bearer),
        )
        assert r.status_code == 201, r.text
    mine = openrouter_key()
    await kp.open()
    await kp.sign_in(bearer_token("u1", tenant))
    await kp.save_key("openrouter", mine)
    await expect(kp.row("openrouter")).to_have_count(1)
    await expect(kp.page.locator("#user-keys-table tbody tr")).to_have_count(1)
    await expect(kp.page.locator("#org-keys")).to_be_hidden()
    await expect(kp.page.locator("#scope-field")).to_be_hidden()
    text = await dom_and_inputs(kp)
    for name, (_, _, key) in others.items():
        assert fingerprint(key) not in text, name
    # a member who tries org scope anyway is refused by the service
    r = await api.post(
        API,
        json={"keyType": "openai", "apiKey": openai_key(), "scope": "org"},
        headers=auth(bearer_token("u1", tenant)),
    )
    assert r.status_code == 403


async def test_an_admin_manages_the_tenants_org_keys(keys_page: KeysPage, api, unique_id):
    kp, tenant = keys_page, f"t-{unique_id}"
    admin = bearer_token("boss", tenant, "admin")
    org_key, own_key = openai_key(), anthropic_key()
    await kp.open()
    await kp.sign_in(admin)
    await expect(kp.page.locator("#org-keys-title")).to_have_text(f"Organisation keys · {tenant}")
    await expect(kp.page.get_by_text("Your organisation has no keys yet.")).to_be_visible()
    await kp.save_key("openai", org_key, scope="org")
    await kp.save_key("anthropic", own_key, scope="user")
    await expect(kp.row("openai", "org").locator("td[data-label='Fingerprint']")).to_have_text(fingerprint(org_key))
    await expect(kp.row("anthropic", "user").locator("td[data-label='Fingerprint']")).to_have_text(fingerprint(own_key))
    await expect(kp.row("openai", "user")).to_have_count(0)
    assert [(k["keyType"], k["scope"]) for k in (await api.get(API, headers=auth(admin))).json()["keys"]] == [
        ("openai", "org"),
        ("anthropic", "user"),
    ]
    # a member of the tenant does not see the org key in the API or the page's lists
    member = (await api.get(API, headers=auth(bearer_token("m1", tenant)))).json()["keys"]
    assert member == []

    await kp.page.get_by_role("button", name="Remove the organisation's OpenAI key").click()
    dialog = kp.page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Remove the organisation's OpenAI key?")
    async with kp.page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        await dialog.get_by_role("button", name="Remove key").click()
    assert (await deleted.value).url.endswith(f"{API}/openai?scope=org")
    await expect(kp.row("openai", "org")).to_have_count(0)
    await expect(kp.row("anthropic", "user")).to_have_count(1)
    assert [k["scope"] for k in (await api.get(API, headers=auth(admin))).json()["keys"]] == ["user"]
    await kp.save_key("openrouter", openrouter_key(), scope="org")
    org_fingerprint = await kp.row("openrouter", "org").locator("td[data-label='Fingerprint']").inner_text()

    # the next user of the same tab sees nothing of the admin's, not even in hidden markup
    await kp.page.get_by_role("button", name="Sign out").click()
    await kp.sign_in(bearer_token("m1", tenant))
    await expect(kp.page.get_by_text("You have no keys yet")).to_be_visible()
    text = await dom_and_inputs(kp)
    assert fingerprint(own_key) not in text and org_fingerprint not in text and "boss" not in text


async def test_the_key_is_never_in_traffic_dom_or_storage_after_saving(keys_page: KeysPage, unique_id):
    kp = keys_page
    bearer = bearer_token("u1", f"t-{unique_id}")
    key = anthropic_key()
    await kp.open()
    await kp.sign_in(bearer)
    await kp.save_key("anthropic", key)
    await expect(kp.row("anthropic")).to_have_count(1)
    await kp.page.get_by_role("button", name="Replace your Anthropic key").click()  # more traffic, more DOM
    await expect(kp.page.locator("#replace-note")).to_contain_text("version 1")

    assert key not in await dom_and_inputs(kp)
    storage = await kp.page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])"
    )
    assert storage == '[[],[],""]'
    assert await kp.page.context.cookies() == []
    assert bearer not in kp.page.url

    exchanges = await kp.recorder.settle()
    carrying = [e for e in exchanges if key in (e.post_data or "")]
    assert [(e.method, e.url) for e in carrying] == [("POST", f"{kp.url}{API}")]  # only the one that saves it
    for e in exchanges:
        assert key not in e.url and bearer not in e.url
        assert key not in repr(e.request_headers) and key not in repr(e.response_headers)
        assert key.encode() not in e.body, e.url
    assert any(key[:12] in m or key in m for m in kp.recorder.console) is False
    # the token went only to the API, in the Authorization header
    with_token = {e.url.split("?")[0] for e in exchanges if bearer in repr(e.request_headers)}
    assert with_token == {f"{kp.url}{API}"}
    # and every authenticated answer was marked not to be stored
    for e in kp.recorder.api_calls():
        assert e.response_headers.get("cache-control") == "no-store", e.url


async def test_the_token_is_held_in_memory_only(keys_page: KeysPage, unique_id):
    kp = keys_page
    await kp.open()
    await kp.sign_in(bearer_token("u1", f"t-{unique_id}"))
    await kp.page.reload()
    await kp.page.wait_for_selector("html[data-ready='true']")
    await expect(kp.page.locator("#sign-in")).to_be_visible()
    await expect(kp.page.locator("#workspace")).to_be_hidden()
    # an expired token: back to sign-in, with the reason
    await kp.page.get_by_label("Access token").fill(bearer_token("u1", f"t-{unique_id}", ttl=-120))
    await kp.page.get_by_role("button", name="Sign in").click()
    await expect(kp.page.locator("#token-error")).to_have_text(
        "The service refused this token: it is invalid or has expired."
    )
    await expect(kp.page.get_by_label("Access token")).to_have_attribute("aria-invalid", "true")
    await expect(kp.page.locator("#workspace")).to_be_hidden()
    # a token that expires while the page is open: the next call is refused and the page says why
    expires_at = time.time() + 6
    await kp.sign_in(bearer_token("u1", f"t-{unique_id}", ttl=6))
    await asyncio.sleep(max(0.0, expires_at - time.time()) + 1.5)
    await kp.save_key("anthropic", anthropic_key())
    await expect(kp.page.locator("#notice")).to_have_text(
        "Your session has ended (the token is invalid or has expired). Sign in again."
    )
    await expect(kp.page.locator("#sign-in")).to_be_visible()
    await expect(kp.page.get_by_label("API key")).to_have_value("")  # the unsent key is not kept
    # signing out forgets the token: the next action needs a new one
    await kp.sign_in(bearer_token("u1", f"t-{unique_id}"))
    await kp.page.get_by_role("button", name="Sign out").click()
    await expect(kp.page.locator("#sign-in")).to_be_visible()
    assert await kp.page.evaluate("() => document.getElementById('token').value") == ""


async def test_keyboard_only_add_and_visible_focus(keys_page: KeysPage, unique_id):
    kp = keys_page
    await kp.open()
    await kp.page.keyboard.press("Tab")  # the skip link first
    await expect(kp.page.get_by_role("link", name="Skip to content")).to_be_focused()
    await kp.page.get_by_label("Access token").focus()
    await kp.page.keyboard.type(bearer_token("u1", f"t-{unique_id}"))
    await kp.page.keyboard.press("Enter")
    await kp.page.locator("#workspace").wait_for(state="visible")
    await kp.page.get_by_label("Provider").focus()
    await kp.page.keyboard.press("Tab")
    await expect(kp.page.get_by_label("API key")).to_be_focused()
    outline = await kp.page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # :focus-visible draws a ring
    key = anthropic_key()
    await kp.page.keyboard.type(key)
    async with kp.page.expect_response(lambda r: r.request.method == "POST"):
        await kp.page.keyboard.press("Enter")
    await expect(kp.row("anthropic")).to_have_count(1)
    await expect(kp.page.locator("#notice")).to_have_attribute("aria-live", "polite")


async def test_screenshots_of_a_real_account(keys_page: KeysPage, api, kv, unique_id):
    """An admin with an active key, a key the provider rejected and an org key; desktop and narrow."""
    kp, tenant = keys_page, f"acme-{unique_id[:6]}"
    admin = bearer_token("alice", tenant, "admin")
    for key_type, key, scope in [
        ("anthropic", anthropic_key(), "user"),
        ("openai", openai_key(), "user"),
        ("openrouter", openrouter_key(), "org"),
        ("openai", openai_key(), "org"),
    ]:
        r = await api.post(API, json={"keyType": key_type, "apiKey": key, "scope": scope}, headers=auth(admin))
        assert r.status_code == 201, r.text
    # the worker reported the user's OpenAI key as rejected (key.invalid): the vault marks that version
    ref = KeyRef(tenant_id=tenant, scope=Scope.USER, provider=Provider.OPENAI, user_id="alice")
    assert await kv.service.store.mark_invalid(ref, 1)

    await kp.open()
    await kp.sign_in(admin)
    invalid = kp.row("openai")
    await expect(invalid.locator(".badge")).to_have_text("Rejected")
    await expect(invalid.locator(".status-help")).to_contain_text("replace it with a working key")
    await kp.save_key("anthropic", anthropic_key())
    await expect(kp.row("anthropic").locator("td[data-label='Version']")).to_have_text("2")
    await kp.page.get_by_role("button", name="Replace your OpenAI key").click()
    await kp.page.get_by_label("API key").blur()
    await kp.page.mouse.move(0, 0)  # no hover effect in the picture
    out = artifacts_dir()
    assert await overflowing(kp) == []
    await kp.page.screenshot(path=out / "keys-desktop.png", full_page=True)
    await kp.page.set_viewport_size(NARROW)
    await kp.page.evaluate("() => window.scrollTo(0, 0)")
    await kp.page.screenshot(path=out / "keys-narrow.png", full_page=True)
    assert await overflowing(kp) == []
    await kp.page.set_viewport_size({"width": 1280, "height": 800})
    await kp.page.get_by_role("button", name="Remove the organisation's OpenRouter key").click()
    await kp.page.screenshot(path=out / "keys-confirm-desktop.png")
    await kp.page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    for name in ("keys-desktop.png", "keys-narrow.png", "keys-confirm-desktop.png"):
        assert (out / name).stat().st_size > 10_000


async def test_security_headers(api):
    page = await api.get("/keys")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page.text, flags=re.S)
    assert scripts == [""]  # one script, by src, nothing inline
    assert 'src="keys/keys.js"' in page.text
    js = await api.get("/keys/keys.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in js.text
    assert (await api.get("/keys/nothing.js")).status_code == 404
    assert (await api.get("/keys/", follow_redirects=False)).headers["location"] == "/keys"
    for answer in (await api.get(API), await api.get(API, headers=auth(bearer_token("u1", "t-h")))):
        assert answer.headers["cache-control"] == "no-store"


async def test_no_accessibility_violations_found_by_axe(browser, kv, api, unique_id):
    """axe-core on the sign-in form, the lists with a rejected key, an inline error and the confirmation."""
    tenant = f"t-{unique_id}"
    admin = bearer_token("alice", tenant, "admin")
    for key_type, key, scope in [("anthropic", anthropic_key(), "user"), ("openai", openai_key(), "org")]:
        assert (
            await api.post(API, json={"keyType": key_type, "apiKey": key, "scope": scope}, headers=auth(admin))
        ).status_code == 201
    ref = KeyRef(tenant_id=tenant, scope=Scope.USER, provider=Provider.ANTHROPIC, user_id="alice")
    assert await kv.service.store.mark_invalid(ref, 1)
    # axe is injected by evaluate; the page's CSP (Trusted Types) would refuse axe's own DOM work
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    try:
        kp = KeysPage(await context.new_page(), Recorder(), kv.url)
        axe = Axe()
        found: dict[str, list[str]] = {}

        async def check(state: str) -> None:
            results = await axe.run(kp.page, options={"resultTypes": ["violations"]})
            found[state] = [f"{v['id']}: {len(v['nodes'])}" for v in results.response["violations"]]

        await kp.open()
        # axe does find things here: an input without a label is reported
        await kp.page.evaluate("() => document.querySelector('main').append(document.createElement('input'))")
        await check("unlabelled input")
        assert any(v.startswith("label:") for v in found.pop("unlabelled input")), "axe did not run"
        await kp.page.evaluate("() => document.querySelector('main > input:last-child').remove()")
        await check("sign-in")
        await kp.sign_in(admin)
        await expect(kp.row("anthropic").locator(".badge")).to_have_text("Rejected")
        await check("lists")
        await kp.page.get_by_label("API key").fill("nope")
        await kp.page.locator("#save").click()
        await expect(kp.page.locator("#api-key-error")).not_to_be_empty()
        await check("format error")
        await kp.page.set_viewport_size(NARROW)
        await check("narrow")
        await kp.page.get_by_role("button", name="Remove the organisation's OpenAI key").click()
        await check("confirmation")
        assert found == {state: [] for state in found}, found
    finally:
        await context.close()
