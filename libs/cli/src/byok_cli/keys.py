"""`byok keys add|list|rm`: the key-vault service's HTTP API with the caller's token.

The key itself is read from a hidden prompt (a terminal) or from stdin (a pipe), never from argv, so it
stays out of shell history and the process list.
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

import aiohttp

from .errors import NOT_FOUND, REFUSED, UNAUTHORIZED, UNREACHABLE, USAGE, CliError
from .spinner import spinner

PROVIDERS = ("anthropic", "openai", "gemini", "openrouter")


def read_key(provider: str) -> str:
    if sys.stdin.isatty():
        key = getpass.getpass(f"{provider} API key (input hidden): ")
    else:
        key = sys.stdin.readline()
    key = key.strip()
    if not key:
        raise CliError("no key given (type it at the prompt or pipe it on stdin)", USAGE)
    return key


async def _call(method: str, url: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http,
            spinner(f"{method} {url.split('/api/', 1)[-1]}"),
            http.request(method, url, json=body, headers=headers) as answer,
        ):
            text = await answer.text()
            try:
                return answer.status, json.loads(text) if text else None
            except ValueError:
                return answer.status, None
    except (aiohttp.ClientError, TimeoutError) as exc:
        base = url.split("/api/", 1)[0]
        raise CliError(f"cannot reach the key-vault service at {base} ({type(exc).__name__})", UNREACHABLE) from None


def _raise_for(status: int, body: Any, what: str) -> None:
    detail = body.get("error", {}) if isinstance(body, dict) else {}
    code, message = detail.get("code", ""), detail.get("message", "")
    text = f"{what}: HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
    if status in (401, 403):
        raise CliError(text + " (check --token / BYOK_TOKEN)", UNAUTHORIZED)
    if status == 404:
        raise CliError(text, NOT_FOUND)
    if status in (400, 413, 415, 422):
        raise CliError(text, REFUSED)
    raise CliError(text)


async def add(base_url: str, token: str, provider: str, scope: str, key: str) -> dict[str, Any]:
    body = {"keyType": provider, "apiKey": key, "scope": scope}
    status, answer = await _call("POST", f"{base_url}/api/user-api-keys", token, body)
    if status not in (200, 201):
        _raise_for(status, answer, f"storing the {scope} {provider} key failed")
    return {"action": "stored" if status == 201 else "rotated", **answer}


async def listing(base_url: str, token: str, scope: str | None) -> list[dict[str, Any]]:
    url = f"{base_url}/api/user-api-keys" + (f"?scope={scope}" if scope else "")
    status, answer = await _call("GET", url, token)
    if status != 200:
        _raise_for(status, answer, "listing keys failed")
    return list(answer["keys"])


async def remove(base_url: str, token: str, provider: str, scope: str) -> None:
    status, answer = await _call("DELETE", f"{base_url}/api/user-api-keys/{provider}?scope={scope}", token)
    if status == 404:
        raise CliError(f"no {scope} {provider} key is stored", NOT_FOUND)
    if status != 204:
        _raise_for(status, answer, f"deleting the {scope} {provider} key failed")


def table(keys: list[dict[str, Any]]) -> str:
    columns = ("keyType", "scope", "fingerprint", "version", "status", "updatedAt")
    rows = [[str(k.get(c, "")) for c in columns] for k in keys]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)
