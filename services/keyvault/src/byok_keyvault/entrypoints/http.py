"""HTTP API: parse, authorise, call a handler, answer. Bodies are never logged nor echoed."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from byok_core.logging import log_context
from byok_core.observability import method_label
from byok_core.sealing_keys import SealingKeyStore
from byok_core.vault import VaultError
from byok_events import Provider
from byok_events.validation import loads_json
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..auth import BearerAuth, Unauthorized
from ..domain.formats import KeyFormatError
from ..domain.models import Principal
from ..domain.models import Scope as KeyScope
from ..handlers import Conflict, Deps, Forbidden, NotFound, delete_key, list_keys, store_key
from ..metrics import HTTP_REQUESTS, HTTP_SECONDS
from ..ports import KeyRejected, KeyStoreUnavailable, ValidationUnavailable
from ..web import mount_keys_page

log = logging.getLogger("byok.keyvault.http")

HealthCheck = Callable[[], Awaitable[dict[str, Any]]]


class StoreKeyBody(BaseModel):
    """The body of POST /api/user-api-keys, as documented (the route checks it field by field, so that
    each refusal keeps its own error code)."""

    keyType: Literal["anthropic", "openai", "gemini", "openrouter"] = Field(description="The provider of the key")
    apiKey: str = Field(min_length=1, max_length=256, description="The provider key; never echoed")
    scope: Literal["user", "org"] = Field("user", description="org needs the admin role")
    validate_: Literal["format", "live"] | None = Field(
        "format", alias="validate", description="live: also ask the provider whether the key works"
    )


STORE_KEY_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": StoreKeyBody.model_json_schema(by_alias=True)}},
    }
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


class BodyLimit:
    """Pure ASGI middleware: reads the body first (at most `limit` bytes) and answers 413 beyond that.

    An oversized body is read and discarded up to `drain_limit` bytes before the 413, so an ordinary client
    that is still sending sees the answer instead of a reset connection; beyond that the connection closes.
    """

    def __init__(self, app: ASGIApp, limit: int, drain_limit: int = 4 * 1024 * 1024) -> None:
        self.app, self.limit, self.drain_limit = app, limit, drain_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and not declared.isdigit():
            await _too_large(scope, receive, send, self.limit)
            return
        too_large = declared is not None and int(declared) > self.limit
        if too_large and int(declared or b"0") > self.drain_limit:
            await _too_large(scope, receive, send, self.limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                too_large, chunks = True, []
                if size > self.drain_limit:
                    break
            elif not too_large:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        if too_large:
            await _too_large(scope, receive, send, self.limit)
            return
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class RequestObserver:
    """Pure ASGI middleware: request id in the log context, one log line and metrics per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")
        if not request_id or len(request_id) > 100 or not request_id.isprintable():
            request_id = str(uuid.uuid4())
        status = 500
        started = time.perf_counter()

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        with log_context(request_id=request_id):
            try:
                await self.app(scope, receive, observed_send)
            finally:
                route = getattr(scope.get("route"), "path", "unmatched")
                elapsed = time.perf_counter() - started
                method = method_label(scope.get("method", ""))
                HTTP_REQUESTS.labels(method, route, str(status)).inc()
                HTTP_SECONDS.labels(method, route).observe(elapsed)
                if route not in ("/metrics", "/healthz"):
                    log.info("%s %s -> %d in %.1f ms", method, route, status, elapsed * 1000)


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    response = error_response(413, "body_too_large", f"request bodies are limited to {limit} bytes")
    response.headers["connection"] = "close"
    await response(scope, receive, send)


def create_app(
    *,
    deps: Deps,
    verifier: BearerAuth,
    sealing: SealingKeyStore,
    health: HealthCheck,
    max_body_bytes: int = 64 * 1024,
    lifespan: Any = None,
    frame_ancestors: tuple[str, ...] = (),
) -> FastAPI:
    # The OpenAPI document is served (for clients and the fuzz tests); the interactive docs pages are not.
    app = FastAPI(title="byok key-vault", docs_url=None, redoc_url=None, openapi_url="/openapi.json", lifespan=lifespan)

    app.add_middleware(BodyLimit, limit=max_body_bytes)  # before anything reads the body
    app.add_middleware(RequestObserver)  # outermost: 413s are logged and counted too

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default answer echoes the input; ours names the fields only
        fields = [".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()]
        return error_response(422, "invalid_request", "invalid request parameters", fields=fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s while handling a request", type(exc).__name__)
        return error_response(500, "internal_error", "internal error")

    async def principal_of(request: Request) -> Principal:
        try:
            return await verifier.principal(request.headers.get("authorization"))
        except Unauthorized as exc:
            raise ApiError(401, "unauthorized", str(exc)) from None

    @app.get("/api/user-api-keys")
    async def list_user_keys(request: Request, scope: str | None = None) -> JSONResponse:
        principal = await principal_of(request)
        wanted = _scope(scope) if scope is not None else None
        with _translate():
            keys = await list_keys(principal, deps, wanted)
        return JSONResponse({"keys": [k.to_api() for k in keys]})

    @app.post("/api/user-api-keys", openapi_extra=STORE_KEY_OPENAPI)
    async def post_user_key(request: Request) -> JSONResponse:
        principal = await principal_of(request)
        body = await _json_object(request)
        provider = _provider(body.get("keyType"))
        api_key = body.get("apiKey")
        if not isinstance(api_key, str):
            raise ApiError(422, "invalid_request", "apiKey must be a string", fields=["apiKey"])
        scope = _scope(body.get("scope", "user"))
        validate = body.get("validate", "format")
        if validate not in ("format", "live", None):
            raise ApiError(422, "invalid_request", "validate must be 'format' or 'live'", fields=["validate"])
        with _translate():
            meta, created = await store_key(principal, provider, scope, api_key, deps, live=validate == "live")
        return JSONResponse(meta.to_api(), status_code=201 if created else 200)

    @app.delete("/api/user-api-keys/{key_type}")
    async def delete_user_key(request: Request, key_type: str, scope: str = "user") -> Response:
        principal = await principal_of(request)
        provider, wanted = _provider(key_type), _scope(scope)
        with _translate():
            await delete_key(principal, provider, wanted, deps)
        return Response(status_code=204)

    @app.get("/api/sealing-key")
    async def sealing_key() -> JSONResponse:
        with _translate():
            public = await sealing.current_public()
            kids = await sealing.public_kids()
        return JSONResponse({**public.to_json(), "kids": kids}, headers={"cache-control": "public, max-age=60"})

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        state = await health()
        return JSONResponse(state, status_code=200 if state.get("status") == "ok" else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    mount_keys_page(app, frame_ancestors=frame_ancestors)
    return app


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = loads_json(raw)  # nesting, NaN, invalid UTF-8: a 400, never a RecursionError (500)
    except ValueError:
        raise ApiError(400, "malformed_json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_request", "the body must be a JSON object")
    return body


def _provider(value: object) -> Provider:
    try:
        return Provider(str(value))
    except ValueError:
        raise ApiError(
            422,
            "unsupported_key_type",
            "keyType must be one of anthropic, openai, gemini, openrouter",
            fields=["keyType"],
        ) from None


def _scope(value: object) -> KeyScope:
    try:
        return KeyScope(str(value)) if isinstance(value, str) else KeyScope("")
    except ValueError:
        raise ApiError(422, "invalid_request", "scope must be 'user' or 'org'", fields=["scope"]) from None


class _translate:
    """Domain and port failures -> HTTP answers (messages are fixed texts, never the key)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            return
        if isinstance(exc, KeyFormatError):
            raise ApiError(422, "invalid_key_format", str(exc), reason=exc.reason) from None
        if isinstance(exc, Forbidden):
            raise ApiError(403, "forbidden", str(exc)) from None
        if isinstance(exc, NotFound):
            raise ApiError(404, "not_found", "no such key") from None
        if isinstance(exc, Conflict):
            raise ApiError(409, "conflict", str(exc)) from None
        if isinstance(exc, KeyRejected):
            raise ApiError(422, "invalid_key", "the provider rejected the key") from None
        if isinstance(exc, ValidationUnavailable):
            raise ApiError(502, "validation_unavailable", "the provider could not be asked; try again") from None
        if isinstance(exc, KeyStoreUnavailable | VaultError | LookupError):
            log.error("key store failure: %s", type(exc).__name__)
            raise ApiError(503, "key_store_unavailable", "the key store is unavailable; try again") from None
