"""The topics whose state services follow: byok.keys.events (key-vault's key.invalid consumer and the
inference worker's key-cache follower), byok.billing.alerts and byok.prompt.responses (the worker's
follower). No record may stop a follower or a consumer; only valid events change state."""

from __future__ import annotations

import asyncio
from typing import Any

from byok_core.kafka import StateFollower, make_broker
from byok_core.settings import KafkaSettings
from byok_events import BudgetAlert, DeadLetter, KeyEvent, PromptResponse, topics
from byok_events.keys import INFERENCE_PRODUCER, PRODUCER_HEADER
from byok_inference.adapters.answered import AnsweredLru
from byok_inference.adapters.budgets import BudgetBlocks
from byok_inference.adapters.kafka_publisher import STATUS_HEADER, TENANT_HEADER
from byok_inference.entrypoints.state_topics import state_topics
from byok_keyvault.domain.key_invalid import refusal
from byok_keyvault.entrypoints.kafka import register_key_event_subscriber
from faststream.kafka import TestKafkaBroker
from fuzz_strategies import records, response_headers, response_keys
from fuzz_support import FUZZ, Record, accepted, cases, check_dead_letter, report
from hypothesis import given, settings
from hypothesis import strategies as st

CASES = cases(5_000)


class CountingBudgets(BudgetBlocks):
    def __init__(self) -> None:
        super().__init__()
        self.applied: list[BudgetAlert] = []

    def apply(self, alert: BudgetAlert) -> None:
        self.applied.append(alert)
        super().apply(alert)


def follower() -> tuple[StateFollower, AnsweredLru, CountingBudgets, list[tuple[Any, ...]]]:
    answered, budgets, evicted = AnsweredLru(), CountingBudgets(), []
    followed = state_topics(
        answered=answered, budgets=budgets, evict=lambda *place: evicted.append(place), dedupe_window=3600
    )
    # _apply, the per-record path, does not touch the consumer
    state = StateFollower(None, followed, service="inference")  # type: ignore[arg-type]
    return state, answered, budgets, evicted


def test_fuzz_key_events_in_the_inference_follower() -> None:
    state, _, _, evicted = follower()
    seen = {"n": 0, "valid": 0}

    @settings(FUZZ, max_examples=CASES)
    @given(records(KeyEvent))
    def one(raw: bytes) -> None:
        seen["n"] += 1
        before = len(evicted)
        state._apply(topics.KEY_EVENTS, Record(raw, topic=topics.KEY_EVENTS))
        event = accepted(KeyEvent, raw)
        if event is None:
            assert len(evicted) == before
        else:
            seen["valid"] += 1
            assert evicted[before:] == [(event.tenant_id, event.user_id, event.scope, event.provider.value)]

    one()
    report(topics.KEY_EVENTS, seen, "inference follower")
    assert seen["n"] >= CASES and seen["valid"] > CASES // 10


def test_fuzz_budget_alerts_in_the_inference_follower() -> None:
    state, _, budgets, _ = follower()
    seen = {"n": 0, "valid": 0}

    @settings(FUZZ, max_examples=CASES)
    @given(records(BudgetAlert))
    def one(raw: bytes) -> None:
        seen["n"] += 1
        before = len(budgets.applied)
        state._apply(topics.BILLING_ALERTS, Record(raw, topic=topics.BILLING_ALERTS))
        alert = accepted(BudgetAlert, raw)
        assert len(budgets.applied) == before + (alert is not None)
        seen["valid"] += alert is not None

    one()
    report(topics.BILLING_ALERTS, seen, "inference follower")
    assert seen["n"] >= CASES and seen["valid"] > CASES // 10


def test_fuzz_responses_in_the_inference_follower() -> None:
    state, answered, _, _ = follower()
    seen = {"n": 0, "marked": 0}

    @settings(FUZZ, max_examples=CASES)
    @given(records(PromptResponse), response_headers(), response_keys())
    def one(raw: bytes, headers: tuple[tuple[str, bytes], ...], key: bytes | None) -> None:
        seen["n"] += 1
        state._apply(topics.PROMPT_RESPONSES, Record(raw, key=key, headers=headers, topic=topics.PROMPT_RESPONSES))
        status, tenant = dict(headers).get(STATUS_HEADER), dict(headers).get(TENANT_HEADER)
        if status in (b"completed", b"failed") and tenant is not None and key:
            try:
                name = (tenant.decode(), key.decode())
            except UnicodeDecodeError:
                return
            assert name in answered
            seen["marked"] += 1

    one()
    report(topics.PROMPT_RESPONSES, seen, "inference follower")
    assert seen["n"] >= CASES and seen["marked"] > 0


class RecordingStore:
    """The key store's mark_invalid as the Vault adapter does it: the key's path first (which refuses ids
    that are not path segments), then the write."""

    def __init__(self) -> None:
        self.marked: list[tuple[str, int]] = []

    async def mark_invalid(self, ref: Any, version: int) -> bool:
        self.marked.append((ref.path, version))
        return True


def test_fuzz_key_events_in_the_keyvault_consumer() -> None:
    store = RecordingStore()
    broker = make_broker(KafkaSettings())
    register_key_event_subscriber(broker, store, group_id="byok-keyvault-fuzz", retry_delay=0)  # type: ignore[arg-type]
    letters: list[DeadLetter] = []

    @broker.subscriber(topics.DLQ, group_id="dlq-reader")
    async def on_dlq(body: dict[str, Any]) -> None:
        letters.append(DeadLetter.model_validate(body))

    loop = asyncio.new_event_loop()
    test_broker = TestKafkaBroker(broker)
    patched = loop.run_until_complete(test_broker.__aenter__())
    seen = {"n": 0, "marked": 0, "dead": 0}

    @settings(FUZZ, max_examples=CASES)
    @given(records(KeyEvent), st.booleans())
    def one(raw: bytes, from_worker: bool) -> None:
        seen["n"] += 1
        marked, dead = len(store.marked), len(letters)
        headers = {PRODUCER_HEADER: INFERENCE_PRODUCER} if from_worker else {}
        loop.run_until_complete(patched.publish(raw, topics.KEY_EVENTS, key=b"t", headers=headers))
        event = accepted(KeyEvent, raw)
        new_marks, new_letters = store.marked[marked:], letters[dead:]
        for letter in new_letters:
            check_dead_letter(letter, raw=raw)
        wire_headers = [(k, v.encode()) for k, v in headers.items()]
        usable = event is not None and event.type == "key.invalid" and refusal(event, wire_headers) is None
        if not usable:
            assert new_marks == []
        else:
            assert len(new_marks) + len(new_letters) == 1  # marked, or refused as a path at once
        assert len(new_letters) <= 1
        seen["marked"] += len(new_marks)
        seen["dead"] += len(new_letters)

    try:
        one()
    finally:
        loop.run_until_complete(test_broker.__aexit__(None, None, None))
        loop.close()
    report(topics.KEY_EVENTS, seen, "key-vault consumer")
    assert seen["n"] >= CASES and seen["marked"] > 0
