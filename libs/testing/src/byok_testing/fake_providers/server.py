"""A fake of the Anthropic, OpenAI, Gemini and OpenRouter HTTP APIs, as their official SDKs call them.

Paths (base URLs to give the SDKs, relative to http://host:port):
    Anthropic   POST /v1/messages                                  base_url  http://host:port
    OpenAI      POST /v1/chat/completions                          base_url  http://host:port/v1
    OpenRouter  POST /api/v1/chat/completions                      base_url  http://host:port/api/v1
    Gemini      POST /{v1,v1beta}/models/{model}:generateContent  base_url http://host:port
                POST /{v1,v1beta}/models/{model}:streamGenerateContent?alt=sse
Key checks (what a `validate: live` asks; rules match them by api_key and provider, model ""):
    GET /{v1,v1beta}/models: Gemini when the key is in x-goog-api-key, Anthropic when an anthropic-version
    header is sent, else OpenAI.     OpenRouter  GET /api/v1/key
Control (for tests in another process):
    POST /_control/rules {"rules": [Rule...], "replace": false}     DELETE /_control/rules
    POST /_control/latency {"ms": 500}     GET /_calls?contains=&api_key=     DELETE /_calls
The key each call carried is recorded (x-api-key, Authorization: Bearer, x-goog-api-key or ?key=), and
what the request asked (features: images, tools, tool results, reasoning, cache breakpoint).
Requests are checked as the real APIs check them (a wrong shape is answered 400 in the provider's error
format); tools, images, cache breakpoints and reasoning are answered in each provider's wire format, plain
and streamed (per-provider modules anthropic.py, openai_chat.py, gemini.py). With tools offered, the fake
model asks for the first (or the forced) tool until a tool result comes back, then answers in text.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from . import anthropic, gemini, openai_chat
from .common import BadRequest, PromptCache, Turn, sse, usage_numbers
from .rules import Call, Rule, RuleBook

_JSON = "application/json"


def _key_of(request: web.Request) -> tuple[str | None, str | None]:
    if value := request.headers.get("x-api-key"):
        return value, "x-api-key"
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), "authorization"
    if value := request.headers.get("x-goog-api-key"):
        return value, "x-goog-api-key"
    if value := request.query.get("key"):
        return value, "query"
    return None, None


class FakeProviderServer:
    def __init__(self) -> None:
        self.book = RuleBook()
        self.cache = PromptCache()
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        r = self.app.router
        r.add_post("/v1/messages", self._anthropic)
        r.add_post("/v1/chat/completions", self._openai)
        r.add_post("/api/v1/chat/completions", self._openrouter)
        r.add_post("/{version}/models/{target}", self._gemini)
        r.add_post("/_control/rules", self._add_rules)
        r.add_delete("/_control/rules", self._clear_rules)
        r.add_post("/_control/latency", self._set_latency)
        r.add_get("/api/v1/key", self._openrouter_key)
        r.add_get("/{version}/models", self._list_models)
        r.add_get("/_calls", self._get_calls)
        r.add_delete("/_calls", self._clear_calls)
        r.add_get("/_health", self._health)

    # control ---------------------------------------------------------------------------------------

    async def _add_rules(self, request: web.Request) -> web.Response:
        body = await request.json()
        rules = [Rule(**r) for r in body.get("rules", [])]
        if body.get("replace"):
            self.book.rules = rules
        else:
            self.book.rules.extend(rules)
        return web.json_response({"rules": len(self.book.rules)})

    async def _clear_rules(self, _: web.Request) -> web.Response:
        self.book.rules.clear()
        self.book.default_latency_ms = 0.0
        return web.json_response({"rules": 0})

    async def _set_latency(self, request: web.Request) -> web.Response:
        self.book.default_latency_ms = float((await request.json())["ms"])
        return web.json_response({"ms": self.book.default_latency_ms})

    async def _get_calls(self, request: web.Request) -> web.Response:
        calls = self.book.find(request.query.get("contains"), request.query.get("api_key"))
        return web.json_response({"calls": [c.to_json() for c in calls]})

    async def _clear_calls(self, _: web.Request) -> web.Response:
        self.book.calls.clear()
        return web.json_response({"calls": 0})

    async def _health(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "calls": len(self.book.calls)})

    # common ----------------------------------------------------------------------------------------

    async def _gate(
        self, request: web.Request, provider: str, model: str, stream: bool, turn: Turn | None
    ) -> tuple[str, float | None, Call]:
        api_key, header = _key_of(request)
        action, latency_ms, retry_after = self.book.decide(provider, model, api_key)
        prompt = turn.prompt if turn is not None else ""
        features = turn.features() if turn is not None else {}
        call = Call(provider, request.path, model, api_key, header, stream, prompt, features=features)
        self.book.record(call)
        if action == "timeout":
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                if request.transport is None or request.transport.is_closing():
                    break
            raise web.HTTPGatewayTimeout()
        if latency_ms > 0:
            await asyncio.sleep(latency_ms / 1000)
        return action, retry_after, call

    @staticmethod
    def _retry_headers(retry_after: float | None) -> dict[str, str]:
        return {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}

    def _numbers(self, turn: Turn, provider: str) -> Any:
        return lambda text: usage_numbers(turn, text, self.cache, provider)

    @staticmethod
    def _bad_request(call: Call, body: dict[str, Any]) -> web.Response:
        call.status = 400
        return web.json_response(body, status=400)

    # Anthropic Messages ----------------------------------------------------------------------------

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        model = body.get("model", "")
        stream = bool(body.get("stream"))
        try:
            turn: Turn | None = anthropic.read_turn(body)
            problem = None
        except BadRequest as exc:
            turn, problem = None, str(exc)
        action, retry_after, call = await self._gate(request, "anthropic", model, stream, turn)
        if problem is not None or turn is None:
            return self._bad_request(
                call, {"type": "error", "error": {"type": "invalid_request_error", "message": problem}}
            )
        if error := self._anthropic_error(action, retry_after, call):
            return error
        numbers = self._numbers(turn, "anthropic")
        if not stream:
            return web.json_response(anthropic.answer(body, turn, numbers))
        return await sse(request, anthropic.stream_lines(body, turn, numbers))

    # OpenAI Chat Completions and OpenRouter --------------------------------------------------------

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        return await self._chat(request, "openai")

    async def _openrouter(self, request: web.Request) -> web.StreamResponse:
        return await self._chat(request, "openrouter")

    async def _chat(self, request: web.Request, provider: str) -> web.StreamResponse:
        body = await request.json()
        model = body.get("model", "")
        stream = bool(body.get("stream"))
        try:
            turn: Turn | None = openai_chat.read_turn(body, provider)
            problem = None
        except BadRequest as exc:
            turn, problem = None, str(exc)
        action, retry_after, call = await self._gate(request, provider, model, stream, turn)
        if problem is not None or turn is None:
            return self._bad_request(
                call, {"error": {"message": problem, "type": "invalid_request_error", "param": None, "code": None}}
            )
        if action == "no_endpoint" and provider == "openrouter":
            return self._no_endpoint(call, turn)
        if error := self._chat_error(action, retry_after, call):
            return error
        numbers = self._numbers(turn, provider)
        if not stream:
            return web.json_response(openai_chat.answer(body, turn, provider, numbers))
        return await sse(request, openai_chat.stream_lines(body, turn, provider, numbers))

    # Gemini generateContent / streamGenerateContent ------------------------------------------------

    async def _gemini(self, request: web.Request) -> web.StreamResponse:
        target = request.match_info["target"]
        model, _, method = target.partition(":")
        if method not in ("generateContent", "streamGenerateContent"):
            raise web.HTTPNotFound()
        body = await request.json()
        stream = method == "streamGenerateContent"
        try:
            turn: Turn | None = gemini.read_turn(body)
            problem = None
        except BadRequest as exc:
            turn, problem = None, str(exc)
        action, retry_after, call = await self._gate(request, "gemini", model, stream, turn)
        if problem is not None or turn is None:
            return self._bad_request(call, {"error": {"code": 400, "message": problem, "status": "INVALID_ARGUMENT"}})
        if error := self._gemini_error(action, retry_after, call):
            return error
        numbers = self._numbers(turn, "gemini")
        if not stream:
            return web.json_response(gemini.answer(model, turn, numbers))
        return await sse(request, gemini.stream_lines(model, turn, numbers))

    # Error answers in each provider's format -------------------------------------------------------

    def _anthropic_error(self, action: str, retry_after: float | None, call: Call) -> web.Response | None:
        error = {
            "401": (401, "authentication_error", "invalid x-api-key"),
            "invalid_key": (401, "authentication_error", "invalid x-api-key"),
            "403": (403, "permission_error", "Your API key does not have permission to use the specified resource."),
            "429": (429, "rate_limit_error", "rate limited"),
            "500": (500, "api_error", "internal server error"),
        }.get(action)
        if not error:
            return None
        call.status = error[0]
        return web.json_response(
            {"type": "error", "error": {"type": error[1], "message": error[2]}},
            status=error[0],
            headers=self._retry_headers(retry_after),
        )

    @staticmethod
    def _no_endpoint(call: Call, turn: Turn) -> web.Response:
        """OpenRouter's answer when no endpoint of the model can do what the request asks (HTTP 404)."""
        feature = "tool use" if turn.tools else "image input" if turn.images else "the requested parameters"
        call.status = 404
        message = (
            f"No endpoints found that support {feature}. To learn more about provider routing, visit: "
            "https://openrouter.ai/docs/provider-routing"
        )
        return web.json_response({"error": {"message": message, "code": 404}}, status=404)

    def _chat_error(self, action: str, retry_after: float | None, call: Call) -> web.Response | None:
        error = {
            "401": (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided"),
            "invalid_key": (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided"),
            "403": (403, "permission_error", "model_not_found", "You do not have access to this model"),
            "429": (429, "rate_limit_exceeded", "rate_limit_exceeded", "Rate limit reached"),
            "500": (500, "server_error", "server_error", "The server had an error"),
        }.get(action)
        if not error:
            return None
        call.status = error[0]
        return web.json_response(
            {"error": {"message": error[3], "type": error[1], "param": None, "code": error[2]}},
            status=error[0],
            headers=self._retry_headers(retry_after),
        )

    def _gemini_error(self, action: str, retry_after: float | None, call: Call) -> web.Response | None:
        error = {
            "invalid_key": (
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                "API_KEY_INVALID",
            ),
            "401": (401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", None),
            "403": (403, "PERMISSION_DENIED", "Permission denied.", None),
            "429": (429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", None),
            "500": (500, "INTERNAL", "An internal error has occurred.", None),
        }.get(action)
        if not error:
            return None
        call.status = error[0]
        err: dict[str, Any] = {"code": error[0], "message": error[2], "status": error[1]}
        if error[3]:
            err["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": error[3],
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                }
            ]
        return web.json_response({"error": err}, status=error[0], headers=self._retry_headers(retry_after))

    # Key checks (the cheapest authenticated call of each API) --------------------------------------

    async def _list_models(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("x-goog-api-key") or request.query.get("key"):
            return await self._gemini_models(request)
        provider = "anthropic" if request.headers.get("anthropic-version") else "openai"
        action, retry_after, call = await self._gate(request, provider, "", False, None)
        if provider == "anthropic":
            if error := self._anthropic_error(action, retry_after, call):
                return error
            return web.json_response({"data": [], "has_more": False, "first_id": None, "last_id": None})
        if error := self._chat_error(action, retry_after, call):
            return error
        return web.json_response({"object": "list", "data": []})

    async def _openrouter_key(self, request: web.Request) -> web.StreamResponse:
        action, retry_after, call = await self._gate(request, "openrouter", "", False, None)
        if error := self._chat_error(action, retry_after, call):
            return error
        return web.json_response({"data": {"label": "fake", "usage": 0, "limit": None, "is_free_tier": False}})

    async def _gemini_models(self, request: web.Request) -> web.StreamResponse:
        action, retry_after, call = await self._gate(request, "gemini", "", False, None)
        if error := self._gemini_error(action, retry_after, call):
            return error
        return web.json_response({"models": []})
