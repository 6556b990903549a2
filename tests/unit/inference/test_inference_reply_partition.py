"""The request's reply_partition: every response event of the request goes to that partition."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from byok_events import PromptRequest, Provider
from byok_inference.entrypoints.prompts import PromptRecordHandler
from byok_inference.handlers import handle_prompt
from fakes.inference import make_harness
from pydantic import ValidationError


@dataclass
class Record:
    value: bytes
    key: bytes = b"r1"
    topic: str = "byok.prompt.requests"
    partition: int = 0
    offset: int = 1


def _request(**extra: object) -> PromptRequest:
    return PromptRequest(
        request_id="r1",
        tenant_id="t1",
        user_id="u1",
        model="gpt-4.1",
        messages=[{"role": "user", "content": "hi"}],
        **extra,
    )


async def test_completed_and_deltas_go_to_the_reply_partition() -> None:
    h = make_harness()
    h.keys.put("system", "*", None, Provider.OPENAI.value, "sk-system")
    await handle_prompt(_request(reply_partition=7, stream=True), h.deps)
    statuses = [r.status for r in h.publisher.responses]
    assert statuses.count("delta") >= 2 and statuses[-1] == "completed", statuses
    assert h.publisher.reply_partitions == [7] * len(statuses)


async def test_failed_goes_to_the_reply_partition() -> None:
    h = make_harness()  # no key at all: no_key_available
    await handle_prompt(_request(reply_partition=3), h.deps)
    [failed] = h.publisher.responses
    assert failed.status == "failed" and h.publisher.reply_partitions == [3]


async def test_without_reply_partition_the_key_decides() -> None:
    h = make_harness()
    await handle_prompt(_request(), h.deps)
    assert h.publisher.reply_partitions == [None]


async def test_an_invalid_request_is_answered_on_its_reply_partition() -> None:
    h = make_harness()
    body = {
        "schema": "byok.prompt.request/v1",
        "request_id": "r1",
        "tenant_id": "t1",
        "model": "gpt-4.1",
        "messages": [],
        "reply_partition": 5,
    }
    await PromptRecordHandler(h.deps)(Record(json.dumps(body).encode()))
    [failed] = h.publisher.responses
    assert failed.error is not None and failed.error.code == "invalid_request"
    assert h.publisher.reply_partitions == [5]


@pytest.mark.parametrize("bad", [-1, 100_001, "3", 1.5, True])
async def test_a_hostile_reply_partition_is_refused_or_ignored(bad: object) -> None:
    with pytest.raises(ValidationError):
        PromptRequest.model_validate_json(json.dumps({**_request().model_dump(mode="json"), "reply_partition": bad}))
    h = make_harness()
    body = {
        "schema": "byok.prompt.request/v1",
        "request_id": "r1",
        "tenant_id": "t1",
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "hi"}],
        "reply_partition": bad,
    }
    await PromptRecordHandler(h.deps)(Record(json.dumps(body).encode()))
    assert h.publisher.reply_partitions == [None]  # refused as invalid_request, answered by key
