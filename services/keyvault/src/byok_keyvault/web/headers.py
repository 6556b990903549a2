"""Security headers: a strict CSP for the page, no caching of authenticated answers, nosniff everywhere.

CSRF is impossible by design rather than defended against: the API authenticates with a bearer token that
the page holds in memory and sends in the Authorization header; there are no cookies, so a request forged by
another site carries no credentials.
"""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_PREFIX = "/keys"
KEYS_API = "/api/user-api-keys"

# An origin a platform may embed the page from: scheme, host and optional port, nothing else (no path,
# wildcard, quote, ';' or ',' can reach the CSP header), or the keyword 'self'.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?(?::[0-9]{1,5})?")


def parse_frame_ancestors(value: str) -> tuple[str, ...]:
    """Space- or comma-separated origins; ValueError names the rule, not the setting's whole value."""
    origins = tuple(o for o in re.split(r"[\s,]+", value.strip()) if o)
    for origin in origins:
        if origin != "'self'" and not _ORIGIN.fullmatch(origin):
            raise ValueError("each frame ancestor is 'self' or an origin like https://platform.example:8443")
    return origins


def page_csp(frame_ancestors: tuple[str, ...]) -> str:
    ancestors = " ".join(frame_ancestors) or "'none'"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "connect-src 'self'",
            "form-action 'none'",  # the form is sent by the script; without it nothing is submitted
            "base-uri 'none'",
            f"frame-ancestors {ancestors}",
            "require-trusted-types-for 'script'",  # no innerHTML-like sink can be used, even by mistake
            "trusted-types 'none'",
        ]
    )


class SecurityHeaders:
    """Pure ASGI middleware adding the headers to every answer (the route's own values win, but for
    Cache-Control on authenticated answers, which is always no-store)."""

    def __init__(self, app: ASGIApp, *, frame_ancestors: tuple[str, ...] = ()) -> None:
        self.app = app
        self.page_headers = {
            "content-security-policy": page_csp(frame_ancestors),
            "cross-origin-opener-policy": "same-origin",
            "cross-origin-resource-policy": "same-origin",
            "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        }
        if not frame_ancestors:
            self.page_headers["x-frame-options"] = "DENY"  # for browsers without frame-ancestors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        is_page = path == PAGE_PREFIX or path.startswith(PAGE_PREFIX + "/")
        authenticated = path.startswith(KEYS_API) or any(
            name == b"authorization" for name, _ in scope.get("headers") or []
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("referrer-policy", "no-referrer")
                if authenticated:
                    headers["cache-control"] = "no-store"
                    headers["pragma"] = "no-cache"
                if is_page:
                    for name, value in self.page_headers.items():
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
