"""byok.prompt.requests through the inference worker's record handler (parse, validate, handle, dead letter).

Every record ends as exactly one of: a response (completed/failed), a recognised duplicate, or one dead
letter (plus a failed answer when its request_id is readable). Which one is decided by the model itself.
"""

from __future__ import annotations

import asyncio

from byok_events import PromptRequest, topics
from byok_inference.entrypoints.prompts import Limits, PromptRecordHandler
from fakes.inference import make_harness
from fuzz_strategies import records
from fuzz_support import FUZZ, Record, accepted, cases, check_dead_letter, report
from hypothesis import given, settings

CASES = cases(5_000)
LIMITS = Limits(max_request_bytes=512 * 1024, max_dlq_payload_chars=64 * 1024)


def test_fuzz_prompt_requests() -> None:
    harness = make_harness()
    for provider in ("anthropic", "openai", "gemini", "openrouter"):
        harness.keys.put("system", "*", None, provider, f"system-{provider}-key")
    handler = PromptRecordHandler(harness.deps, LIMITS)
    loop = asyncio.new_event_loop()
    seen = {"n": 0, "valid": 0, "dead": 0}

    @settings(FUZZ, max_examples=CASES)
    @given(records(PromptRequest))
    def one(raw: bytes) -> None:
        seen["n"] += 1
        letters, answers = len(harness.publisher.dead_letters), len(harness.publisher.responses)
        answered_before = {(r.tenant_id, r.request_id) for r in harness.publisher.responses}
        loop.run_until_complete(handler(Record(raw, topic=topics.PROMPT_REQUESTS, offset=seen["n"])))
        new_letters = harness.publisher.dead_letters[letters:]
        new_answers = harness.publisher.responses[answers:]
        request = accepted(PromptRequest, raw, LIMITS.max_request_bytes)
        if request is not None:
            seen["valid"] += 1
            assert new_letters == []
            finals = [r for r in new_answers if r.status != "delta"]
            name = (request.tenant_id, request.request_id)
            duplicate = name in answered_before or name in harness.deps.answered
            assert len(finals) == 1 or (not finals and duplicate)
            assert all(r.request_id == request.request_id for r in new_answers)
        else:
            seen["dead"] += 1
            assert len(new_letters) == 1
            check_dead_letter(new_letters[0][0], LIMITS.max_dlq_payload_chars, raw)
            assert len(new_answers) <= 1 and all(r.status == "failed" for r in new_answers)

    try:
        one()
    finally:
        loop.close()
    report(topics.PROMPT_REQUESTS, seen)
    assert seen["n"] >= CASES and seen["valid"] > CASES // 10 and seen["dead"] > CASES // 10
