"""A fake of the Anthropic, OpenAI, Gemini and OpenRouter HTTP APIs, as their official SDKs call them.

Paths (base URLs to give the SDKs, relative to http://host:port):
    Anthropic   POST /v1/messages                                  base_url  http://host:port
    OpenAI      POST /v1/chat/completions                          base_url  http://host:port/v1
    OpenRouter  POST /api/v1/chat/completions                      base_url  http://host:port/api/v1
    Gemini      POST /{v1,v1beta}/models/{model}:generateContent  base_url http://host:port
                POST /{v1,v1beta}/models/{model}:streamGenerateContent?alt=sse
Control (for tests in another process):
    POST /_control/rules {"rules": [Rule...], "replace": false}     DELETE /_control/rules
    POST /_control/latency {"ms": 500}     GET /_calls?contains=&api_key=     DELETE /_calls
The key each call carried is recorded (x-api-key, Authorization: Bearer, x-goog-api-key or ?key=).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from aiohttp import web

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


def _usage_numbers(prompt_chars: int, output_text: str) -> dict[str, int]:
    """Deterministic token counts: a quarter of a long prompt is a cache read, an eighth a write."""
    total_input = max(1, prompt_chars // 4)
    cache_read = total_input // 4 if total_input >= 8 else 0
    cache_write = total_input // 8 if total_input >= 8 else 0
    return {
        "total_input": total_input,
        "cache_read": cache_read,
        "cache_write": cache_write,
        "output": max(1, len(output_text.split())),
    }


def _reply_text(provider: str, prompt: str) -> str:
    return f"fake {provider} reply to: {prompt[:120]}"


class FakeProviderServer:
    def __init__(self) -> None:
        self.book = RuleBook()
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        r = self.app.router
        r.add_post("/v1/messages", self._anthropic)
        r.add_post("/v1/chat/completions", self._openai)
        r.add_post("/api/v1/chat/completions", self._openrouter)
        r.add_post("/{version}/models/{target}", self._gemini)
        r.add_post("/_control/rules", self._add_rules)
        r.add_delete("/_control/rules", self._clear_rules)
        r.add_post("/_control/latency", self._set_latency)
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
        self, request: web.Request, provider: str, model: str, stream: bool, prompt: str
    ) -> tuple[str, float | None, Call]:
        api_key, header = _key_of(request)
        action, latency_ms, retry_after = self.book.decide(provider, model, api_key)
        call = Call(provider, request.path, model, api_key, header, stream, prompt)
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

    # Anthropic Messages ----------------------------------------------------------------------------

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        model = body.get("model", "")
        messages = body.get("messages", [])
        prompt = _text_of(messages[-1].get("content")) if messages else ""
        chars = sum(len(_text_of(m.get("content"))) for m in messages) + len(_text_of(body.get("system")))
        stream = bool(body.get("stream"))
        action, retry_after, call = await self._gate(request, "anthropic", model, stream, prompt)
        error = {
            "401": (401, "authentication_error", "invalid x-api-key"),
            "invalid_key": (401, "authentication_error", "invalid x-api-key"),
            "403": (403, "permission_error", "forbidden"),
            "429": (429, "rate_limit_error", "rate limited"),
            "500": (500, "api_error", "internal server error"),
        }.get(action)
        if error:
            call.status = error[0]
            return web.json_response(
                {"type": "error", "error": {"type": error[1], "message": error[2]}},
                status=error[0],
                headers=self._retry_headers(retry_after),
            )
        text = _reply_text("anthropic", prompt)
        n = _usage_numbers(chars, text)
        usage_in = {
            "input_tokens": n["total_input"] - n["cache_read"] - n["cache_write"],
            "cache_creation_input_tokens": n["cache_write"],
            "cache_read_input_tokens": n["cache_read"],
        }
        message_id = "msg_" + uuid.uuid4().hex[:24]
        if not stream:
            return web.json_response(
                {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {**usage_in, "output_tokens": n["output"]},
                }
            )
        events: list[tuple[str, dict[str, Any]]] = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": message_id,
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {**usage_in, "output_tokens": 1},
                    },
                },
            ),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
        ]
        for chunk in _chunks(text):
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": chunk},
                    },
                )
            )
        events += [
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": n["output"]},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return await _sse(request, [f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events])

    # OpenAI Chat Completions and OpenRouter --------------------------------------------------------

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        return await self._chat(request, "openai")

    async def _openrouter(self, request: web.Request) -> web.StreamResponse:
        return await self._chat(request, "openrouter")

    async def _chat(self, request: web.Request, provider: str) -> web.StreamResponse:
        body = await request.json()
        model = body.get("model", "")
        messages = body.get("messages", [])
        prompt = _text_of(messages[-1].get("content")) if messages else ""
        chars = sum(len(_text_of(m.get("content"))) for m in messages)
        stream = bool(body.get("stream"))
        action, retry_after, call = await self._gate(request, provider, model, stream, prompt)
        error = {
            "401": (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided"),
            "invalid_key": (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided"),
            "403": (403, "permission_error", "forbidden", "forbidden"),
            "429": (429, "rate_limit_exceeded", "rate_limit_exceeded", "Rate limit reached"),
            "500": (500, "server_error", "server_error", "The server had an error"),
        }.get(action)
        if error:
            call.status = error[0]
            return web.json_response(
                {"error": {"message": error[3], "type": error[1], "param": None, "code": error[2]}},
                status=error[0],
                headers=self._retry_headers(retry_after),
            )
        text = _reply_text(provider, prompt)
        n = _usage_numbers(chars, text)
        details: dict[str, int] = {"cached_tokens": n["cache_read"]}
        if provider == "openrouter":
            details["cache_write_tokens"] = n["cache_write"]
        usage = {
            "prompt_tokens": n["total_input"],
            "completion_tokens": n["output"],
            "total_tokens": n["total_input"] + n["output"],
            "prompt_tokens_details": details,
            "completion_tokens_details": {"reasoning_tokens": 0},
        }
        completion_id = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())
        if not stream:
            return web.json_response(
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text, "refusal": None},
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                    "system_fingerprint": "fp_fake",
                }
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        base = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_fake",
        }
        frames = [
            {
                **base,
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
            }
        ]
        frames += [
            {**base, "choices": [{"index": 0, "delta": {"content": c}, "finish_reason": None}]} for c in _chunks(text)
        ]
        frames.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if include_usage:
            frames.append({**base, "choices": [], "usage": usage})
        lines = [f"data: {json.dumps(f)}\n\n" for f in frames] + ["data: [DONE]\n\n"]
        return await _sse(request, lines)

    # Gemini generateContent / streamGenerateContent ------------------------------------------------

    async def _gemini(self, request: web.Request) -> web.StreamResponse:
        target = request.match_info["target"]
        model, _, method = target.partition(":")
        if method not in ("generateContent", "streamGenerateContent"):
            raise web.HTTPNotFound()
        body = await request.json()
        contents = body.get("contents", [])
        texts = [p.get("text", "") for c in contents for p in c.get("parts", [])]
        system = body.get("systemInstruction") or body.get("system_instruction") or {}
        chars = sum(len(t) for t in texts) + sum(len(p.get("text", "")) for p in system.get("parts", []))
        prompt = texts[-1] if texts else ""
        stream = method == "streamGenerateContent"
        action, retry_after, call = await self._gate(request, "gemini", model, stream, prompt)
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
        if error:
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
        text = _reply_text("gemini", prompt)
        n = _usage_numbers(chars, text)
        usage = {
            "promptTokenCount": n["total_input"],
            "candidatesTokenCount": n["output"],
            "totalTokenCount": n["total_input"] + n["output"],
            "cachedContentTokenCount": n["cache_read"],
        }
        response_id = uuid.uuid4().hex[:20]
        if not stream:
            return web.json_response(
                {
                    "candidates": [
                        {
                            "content": {"role": "model", "parts": [{"text": text}]},
                            "finishReason": "STOP",
                            "index": 0,
                        }
                    ],
                    "usageMetadata": usage,
                    "modelVersion": model,
                    "responseId": response_id,
                }
            )
        chunks = _chunks(text)
        frames = []
        for i, chunk in enumerate(chunks):
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": chunk}]}, "index": 0}
            last = i == len(chunks) - 1
            if last:
                candidate["finishReason"] = "STOP"
            frames.append(
                {
                    "candidates": [candidate],
                    "modelVersion": model,
                    "responseId": response_id,
                    "usageMetadata": usage if last else {"promptTokenCount": n["total_input"]},
                }
            )
        return await _sse(request, [f"data: {json.dumps(f)}\r\n\r\n" for f in frames])


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def _chunks(text: str, size: int = 3) -> list[str]:
    words = text.split(" ")
    return [" ".join(words[i : i + size]) + (" " if i + size < len(words) else "") for i in range(0, len(words), size)]


async def _sse(request: web.Request, lines: list[str]) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    for line in lines:
        await response.write(line.encode())
    await response.write_eof()
    return response
