"""byok.prompt.requests records: parse and validate, then call the handler. Bad records go to the DLQ.

An invalid record (not JSON, wrong schema, larger than max_request_bytes) gets a DLQ entry, and a
`failed` response with code invalid_request when a request_id can be read from it. So does a valid one
the handler fails on unexpectedly (an SDK refusing an argument, say): whatever a record holds, it ends
answered or dead-lettered. Only PublishFailed (Kafka refusing our writes) goes up to the runner, which
stops. Dead letters come from the shared factory (redacted, cut at max_dlq_payload_chars).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from byok_core.kafka import DeadLetters, PublishFailed, failure_reason, record_key
from byok_core.logging import log_context
from byok_core.observability import HANDLE_SECONDS, MESSAGES
from byok_events import ErrorCode, PromptRequest, PromptResponse, ResponseError, topics
from byok_events.validation import field_errors, is_valid_id, loads_json
from pydantic import ValidationError

from ..adapters.user_tokens import token_of
from ..handlers import Deps, handle_prompt

log = logging.getLogger("byok.inference")
SERVICE = "inference"


@dataclass(frozen=True)
class Limits:
    max_request_bytes: int = 512 * 1024
    max_dlq_payload_chars: int = 256 * 1024


_OUTCOMES = ("ok", "duplicate", "invalid", "error")


class PromptRecordHandler:
    def __init__(self, deps: Deps, limits: Limits | None = None) -> None:
        self._deps = deps
        self._limits = limits or Limits()
        self._dead_letters = DeadLetters(max_payload_chars=self._limits.max_dlq_payload_chars)
        # Labelled metric children resolved once: `.labels()` per message is a measurable cost.
        self._outcomes = {o: MESSAGES.labels(SERVICE, topics.PROMPT_REQUESTS, o) for o in _OUTCOMES}
        self._handle_seconds = HANDLE_SECONDS.labels(SERVICE, topics.PROMPT_REQUESTS)

    async def __call__(self, record: Any) -> None:
        started = time.perf_counter()
        outcome = "ok"
        try:
            request = await self._parse(record)
            if request is None:
                outcome = "invalid"
                return
            with log_context(request_id=request.request_id, tenant_id=request.tenant_id):
                try:
                    ran = await handle_prompt(request, self._deps, token_of(getattr(record, "headers", None)))
                except PublishFailed:
                    raise
                except Exception as exc:
                    log.warning("handling a request failed", extra={"error": type(exc).__name__})
                    await self._reject(
                        record,
                        failure_reason(exc),
                        {
                            "request_id": request.request_id,
                            "tenant_id": request.tenant_id,
                            "reply_partition": request.reply_partition,
                        },
                    )
                    outcome = "invalid"
                    return
                outcome = "ok" if ran else "duplicate"
        except Exception:
            outcome = "error"
            raise
        finally:
            self._outcomes[outcome].inc()
            self._handle_seconds.observe(time.perf_counter() - started)

    async def _parse(self, record: Any) -> PromptRequest | None:
        raw: bytes = record.value or b""
        if len(raw) <= self._limits.max_request_bytes:
            try:
                # The common case in one pass: pydantic parses and validates the bytes (no json.loads).
                return PromptRequest.model_validate_json(raw)
            except Exception:  # noqa: S110 - fall through: work out why, for the DLQ entry
                pass
        data: Any = None
        try:
            data = loads_json(raw, max_bytes=max(len(raw), 1))  # the size is judged below, with its own reason
        except ValueError:
            await self._reject(record, "not JSON", None)
            return None
        if len(raw) > self._limits.max_request_bytes:
            await self._reject(record, f"record larger than {self._limits.max_request_bytes} bytes", data)
            return None
        try:
            return PromptRequest.model_validate(data)
        except ValidationError as exc:
            await self._reject(record, f"wrong schema: {field_errors(exc)}", data)
        except Exception as exc:
            await self._reject(record, f"wrong schema: {failure_reason(exc)}", data)
        return None

    async def _reject(self, record: Any, why: str, data: Any) -> None:
        letter = self._dead_letters.build(record, "invalid_request: " + why)
        reason = letter.reason
        request_id = data.get("request_id") if isinstance(data, dict) else None
        tenant_id = data.get("tenant_id") if isinstance(data, dict) else None
        log.warning(
            "invalid request sent to the DLQ",
            extra={"reason": reason[:200], "offset": record.offset, "partition": record.partition},
        )
        await self._deps.publisher.dead_letter(letter, record_key(record))
        if is_valid_id(request_id):
            tenant = tenant_id if is_valid_id(tenant_id) else ""
            if not self._deps.answered.claim(tenant, request_id):
                return
            answered = False
            try:
                await self._deps.publisher.response(
                    PromptResponse(
                        request_id=request_id,
                        tenant_id=tenant,
                        status="failed",
                        error=ResponseError(code=ErrorCode.INVALID_REQUEST, message=reason[:500]),
                    ),
                    partition=_reply_partition(data),
                )
                answered = True
            finally:
                self._deps.answered.finish(tenant, request_id, answered)


def _reply_partition(data: dict[str, Any]) -> int | None:
    """The reply partition of a request refused as invalid, so its producer still hears of it."""
    value = data.get("reply_partition")
    return value if type(value) is int and 0 <= value <= 100_000 else None
