"""Routes of the keys page: the HTML (with the embedding origins filled in), its assets and key formats."""

from __future__ import annotations

import html
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse, Response

from ..domain.formats import _KEY_CHARS as KEY_CHARS  # the same rule the API applies
from ..domain.formats import FORMATS
from .headers import PAGE_PREFIX, SecurityHeaders

_ASSETS = {
    "keys.js": "text/javascript; charset=utf-8",
    "keys.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
# The page and its assets change only with a deployment: browsers may keep them but must revalidate.
_STATIC_CACHE = "no-cache"


def _static(name: str) -> bytes:
    return (resources.files(__package__) / "static" / name).read_bytes()


def render_page(frame_ancestors: tuple[str, ...]) -> bytes:
    """keys.html with the origins that may hand the page a token (the embedding platform's)."""
    origins = " ".join(frame_ancestors)
    template = _static("keys.html").decode()
    return template.replace("{{embed_origins}}", html.escape(origins, quote=True)).encode()


def key_formats() -> dict[str, object]:
    """The format rules of domain/formats.py, so the page checks a key before sending it."""
    return {
        "keyChars": f"^(?:{KEY_CHARS.pattern})$",  # anchored for the browser (JavaScript: $ is the end)
        "providers": {
            provider.value: {
                "prefixes": list(fmt.prefixes),
                "forbiddenPrefixes": list(fmt.forbidden_prefixes),
                "minLength": fmt.min_length,
                "maxLength": fmt.max_length,
                "description": fmt.description,
            }
            for provider, fmt in FORMATS.items()
        },
    }


def mount_keys_page(app: FastAPI, *, frame_ancestors: tuple[str, ...] = ()) -> None:
    """GET /keys and its assets, and the security headers (for the page and the API alike)."""
    page = render_page(frame_ancestors)
    assets = {name: (_static(name), media_type) for name, media_type in _ASSETS.items()}
    formats = key_formats()

    @app.get(PAGE_PREFIX, include_in_schema=False)
    async def keys_page() -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers={"cache-control": _STATIC_CACHE})

    @app.get(PAGE_PREFIX + "/", include_in_schema=False)
    async def keys_page_slash() -> Response:
        return RedirectResponse(PAGE_PREFIX, status_code=308)

    @app.get(PAGE_PREFIX + "/formats.json", include_in_schema=False)
    async def keys_page_formats() -> Response:
        return JSONResponse(formats, headers={"cache-control": _STATIC_CACHE})

    @app.get(PAGE_PREFIX + "/{asset}", include_in_schema=False)
    async def keys_page_asset(asset: str) -> Response:
        found = assets.get(asset)
        if found is None:
            return JSONResponse({"error": {"code": "not_found", "message": "no such file"}}, status_code=404)
        body, media_type = found
        return Response(body, media_type=media_type, headers={"cache-control": _STATIC_CACHE})

    app.add_middleware(SecurityHeaders, frame_ancestors=frame_ancestors)
