"""Named regressions: each record or body here once crashed a consumer or the HTTP API (issue 9)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from byok_events import ErrorCode
from byok_inference.entrypoints.prompts import PromptRecordHandler
from fakes.inference import make_harness

DEEP = b"[" * 100_000 + b"]" * 100_000


@dataclass
class Record:
    value: bytes | None
    key: bytes | None = b"k"
    topic: str = "byok.prompt.requests"
    partition: int = 0
    offset: int = 7
    headers: tuple = ()


def request(**fields: object) -> dict[str, object]:
    return {
        "schema": "byok.prompt.request/v1",
        "request_id": "r1",
        "tenant_id": "t1",
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "hi"}],
        **fields,
    }


async def test_regression_deeply_nested_prompt_request_is_a_dead_letter_not_a_recursion_error() -> None:
    h = make_harness()
    await PromptRecordHandler(h.deps)(Record(b'{"request_id": "r1", "x": ' + DEEP + b"}"))
    [(letter, _)] = h.publisher.dead_letters
    assert letter.reason.startswith("invalid_request: not JSON")


async def test_regression_overflowing_created_at_is_refused_by_name() -> None:
    h = make_harness()
    for i, stamp in enumerate(("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00")):
        await PromptRecordHandler(h.deps)(Record(json.dumps(request(request_id=f"r{i}", created_at=stamp)).encode()))
    reasons = [letter.reason for letter, _ in h.publisher.dead_letters]
    assert [r.startswith("invalid_request: wrong schema: created_at:") for r in reasons] == [True, True]
    assert [r.error.code for r in h.publisher.responses] == [ErrorCode.INVALID_REQUEST] * 2  # type: ignore[union-attr]


async def test_regression_nul_in_request_id_is_a_dead_letter_without_an_invalid_response() -> None:
    # The failed answer once re-used the unreadable request_id and raised a ValidationError of its own.
    h = make_harness()
    await PromptRecordHandler(h.deps)(Record(json.dumps(request(request_id="r\x00", messages=[])).encode()))
    [(letter, _)] = h.publisher.dead_letters
    assert "request_id" in letter.reason and h.publisher.responses == []


async def test_regression_unreadable_tenant_still_gets_a_failed_answer() -> None:
    h = make_harness()
    await PromptRecordHandler(h.deps)(Record(json.dumps(request(tenant_id="t\u200b1")).encode()))
    [(letter, _)] = h.publisher.dead_letters
    assert "tenant_id" in letter.reason
    [failed] = h.publisher.responses
    assert (failed.request_id, failed.tenant_id, failed.status) == ("r1", "", "failed")


async def test_regression_sdk_refused_model_names_never_reach_a_provider() -> None:
    h = make_harness()
    h.keys.put("system", "*", None, "gemini", "sys-key")
    for i, model in enumerate(("gemini-2.5-flash?x=1", "gemini-2.5-flash&a", "gemini/../x", "gemini-2.5 flash")):
        await PromptRecordHandler(h.deps)(Record(json.dumps(request(request_id=f"m{i}", model=model)).encode()))
    assert len(h.publisher.dead_letters) == 4 and h.providers.calls == []
    assert all("model" in letter.reason for letter, _ in h.publisher.dead_letters)
