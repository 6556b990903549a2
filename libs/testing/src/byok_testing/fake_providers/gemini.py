"""The fake Gemini generateContent API (camelCase JSON, as google-genai sends it): checks and answers."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any

from .common import BadRequest, Turn, chunks, reasoning_tokens, reply_text, wanted_tool_call

REPLY_NAME = "gemini"


def _get(obj: dict[str, Any], camel: str) -> Any:
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return obj.get(camel, obj.get(snake))


def read_turn(body: dict[str, Any]) -> Turn:
    turn = Turn()
    contents = body.get("contents") or []
    if not contents:
        raise BadRequest("contents is not specified")
    seen: list[str] = []
    config = _get(body, "generationConfig") or {}
    system = _get(body, "systemInstruction") or {}
    seen += [p.get("text", "") for p in system.get("parts", [])]
    signatures = 0
    for c in contents:
        if c.get("role") not in ("user", "model"):
            raise BadRequest(f"Please use a valid role: user, model. (got {c.get('role')!r})")
        for p in c.get("parts") or []:
            if "text" in p:
                seen.append(p["text"])
                if c["role"] == "user":
                    turn.prompt, turn.after_tool_result = p["text"], False
            elif _get(p, "inlineData") is not None:
                blob = _get(p, "inlineData")
                try:
                    base64.b64decode(blob.get("data", ""), validate=True)
                except (binascii.Error, ValueError):
                    raise BadRequest(
                        "Invalid value at 'contents.parts.inline_data.data': base64 decoding failed"
                    ) from None
                if not _get(blob, "mimeType"):
                    raise BadRequest("inline_data.mime_type is required")
                turn.images += 1
            elif _get(p, "fileData") is not None:
                raise BadRequest("Invalid or unsupported file uri")  # only uploaded files: no web URLs
            elif _get(p, "functionCall") is not None:
                if c["role"] != "model" or not _get(p, "functionCall").get("name"):
                    raise BadRequest("function_call: a name, in a model turn")
                signatures += 1 if _get(p, "thoughtSignature") else 0
            elif _get(p, "functionResponse") is not None:
                fr = _get(p, "functionResponse")
                if not fr.get("name") or not isinstance(fr.get("response"), dict):
                    raise BadRequest("function_response: name and a response object are required")
                text = json.dumps(fr["response"])
                seen.append(text)
                turn.prompt, turn.after_tool_result = text, True
                turn.tool_results += 1
            else:
                raise BadRequest("Unknown part")
    turn.chars = sum(len(t) for t in seen)
    for tool in body.get("tools") or []:
        for d in _get(tool, "functionDeclarations") or []:
            turn.tools.append(
                {"name": d.get("name"), "parameters": _get(d, "parametersJsonSchema") or d.get("parameters")}
            )
    calling = _get(_get(body, "toolConfig") or {}, "functionCallingConfig") or {}
    mode = calling.get("mode")
    if mode == "ANY":
        allowed = _get(calling, "allowedFunctionNames") or []
        turn.forced_tool = allowed[0] if allowed else (turn.tools[0]["name"] if turn.tools else None)
    elif mode == "NONE":
        turn.tools_off = True
    thinking = _get(config, "thinkingConfig") or {}
    if _get(thinking, "thinkingBudget"):
        turn.reasoning = str(_get(thinking, "thinkingBudget"))
    elif _get(thinking, "thinkingLevel"):
        turn.reasoning = str(_get(thinking, "thinkingLevel")).lower()
    turn.signatures_returned = signatures
    return turn


def _parts(turn: Turn) -> tuple[list[dict[str, Any]], str]:
    wanted = wanted_tool_call(turn)
    if wanted:
        name, arguments = wanted
        part: dict[str, Any] = {"functionCall": {"name": name, "args": arguments}}
        if turn.reasoning:
            part["thoughtSignature"] = base64.b64encode(b"sig-" + uuid.uuid4().bytes).decode()
        return [part], json.dumps(arguments)
    text = reply_text(REPLY_NAME, turn)
    return [{"text": text}], text


def _usage(turn: Turn, n: dict[str, int]) -> dict[str, Any]:
    thoughts = reasoning_tokens(turn.reasoning)
    usage = {
        "promptTokenCount": n["total_input"],
        "candidatesTokenCount": n["output"],
        "totalTokenCount": n["total_input"] + n["output"] + thoughts,
        "cachedContentTokenCount": n["cache_read"],
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return usage


def answer(model: str, turn: Turn, numbers: Any) -> dict[str, Any]:
    parts, text = _parts(turn)
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": _usage(turn, numbers(text)),
        "modelVersion": model,
        "responseId": uuid.uuid4().hex[:20],
    }


def stream_lines(model: str, turn: Turn, numbers: Any) -> list[str]:
    parts, text = _parts(turn)
    usage = _usage(turn, numbers(text))
    response_id = uuid.uuid4().hex[:20]
    pieces = [[p] for p in parts] if "functionCall" in parts[0] else [[{"text": c}] for c in chunks(text)]
    frames = []
    for i, piece in enumerate(pieces):
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": piece}, "index": 0}
        last = i == len(pieces) - 1
        if last:
            candidate["finishReason"] = "STOP"
        frames.append(
            {
                "candidates": [candidate],
                "modelVersion": model,
                "responseId": response_id,
                "usageMetadata": usage if last else {"promptTokenCount": usage["promptTokenCount"]},
            }
        )
    return [f"data: {json.dumps(f)}\r\n\r\n" for f in frames]
