"""An identity provider's JWKS, fetched over HTTP and cached; keys found by kid, with bounded refreshes.

The set is re-read when older than `cache_seconds`, or when a token names a kid it does not hold (key
rotation), but at most once per `min_refresh_seconds`, so a stream of tokens with made-up kids costs one
fetch per interval, not one per token. Concurrent refreshes share one fetch. A failed fetch keeps the
keys already known. Only signing keys of the accepted types are kept: a symmetric (`oct`) key, an `enc`
key or a key whose declared `alg` disagrees with its type is ignored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from jwt import PyJWK
from jwt.exceptions import PyJWKError, PyJWTError

from .keys import ASYMMETRIC_ALGORITHMS, KeyConfigError, VerificationKey, algorithm_of

log = logging.getLogger("byok.auth.jwks")

MAX_JWKS_BYTES = 256 * 1024
MAX_KEYS = 64
Fetch = Callable[[], Awaitable[bytes]]


class JwksKeys:
    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float = 300.0,
        min_refresh_seconds: float = 30.0,
        timeout_seconds: float = 5.0,
        fetch: Fetch | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._cache = cache_seconds
        self._min_refresh = min_refresh_seconds
        self._timeout = timeout_seconds
        self._fetch = fetch or self._http_get
        self._clock = clock
        self._keys: dict[str | None, VerificationKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._refreshing: asyncio.Task[None] | None = None
        self.fetches = 0

    async def find(self, kid: str | None) -> VerificationKey | None:
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at >= self._cache
        if stale or self._lookup(kid) is None:
            await self._refresh_bounded(now)
        return self._lookup(kid)

    def _lookup(self, kid: str | None) -> VerificationKey | None:
        if kid is not None:
            return self._keys.get(kid)
        return next(iter(self._keys.values())) if len(self._keys) == 1 else None  # no kid: only an unambiguous set

    async def _refresh_bounded(self, now: float) -> None:
        if self._refreshing is None:
            if self._attempted_at is not None and now - self._attempted_at < self._min_refresh:
                return
            self._attempted_at = now
            self._refreshing = asyncio.ensure_future(self._refresh())
        task = self._refreshing
        try:
            await asyncio.shield(task)
        finally:
            if task.done():
                self._refreshing = None

    async def _refresh(self) -> None:
        self.fetches += 1
        try:
            raw = await self._fetch()
            keys = parse_jwks(raw)
        except Exception as exc:
            log.warning("JWKS refresh failed; keeping %d known keys (%s)", len(self._keys), type(exc).__name__)
            return
        self._keys = keys
        self._fetched_at = self._clock()

    async def _http_get(self) -> bytes:
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(self._url) as answer:
            if answer.status != 200:
                raise OSError(f"JWKS answered HTTP {answer.status}")
            body = await answer.content.read(MAX_JWKS_BYTES + 1)
            if len(body) > MAX_JWKS_BYTES:
                raise OSError("JWKS larger than allowed")
            return body


def parse_jwks(raw: bytes) -> dict[str | None, VerificationKey]:
    document = json.loads(raw)
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("not a JWKS document")
    keys: dict[str | None, VerificationKey] = {}
    for entry in entries[:MAX_KEYS]:
        key = _signing_key(entry)
        if key is not None:
            keys[key.kid] = key
    if not keys:
        raise ValueError("the JWKS holds no usable signing key")
    return keys


def _signing_key(entry: Any) -> VerificationKey | None:
    if not isinstance(entry, dict) or entry.get("kty") not in ("OKP", "EC", "RSA"):
        return None
    if entry.get("use", "sig") != "sig" or any(k in entry for k in ("d", "p", "q", "k")):
        return None  # encryption keys and anything carrying private material are not verification keys
    kid = entry.get("kid")
    if kid is not None and not isinstance(kid, str):
        return None
    try:
        public_key = PyJWK(entry).key
        algorithm = algorithm_of(public_key)
    except (PyJWKError, PyJWTError, KeyConfigError, ValueError, TypeError, KeyError):
        return None
    declared = entry.get("alg")
    if declared is not None and declared != algorithm:
        return None
    if algorithm not in ASYMMETRIC_ALGORITHMS:
        return None
    return VerificationKey(algorithm, public_key, kid)
