"""What the worker keeps in memory from the state topics (read by byok_core.kafka.StateFollower):

byok.prompt.responses  from `dedupe_window` ago (at most its newest `catch_up_records`): final answers
                       (header byok-status completed/failed)
                       mark request ids answered, so a redelivered or duplicated request is not re-run;
byok.billing.alerts    from the start of the month: hard budget alerts block tenants;
byok.keys.events       from now: a key event evicts the cached key of its place (within ~0.2 s).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from byok_core.kafka import Followed
from byok_events import BudgetAlert, KeyEvent, topics
from byok_events.validation import loads_json

from ..adapters.answered import AnsweredLru
from ..adapters.budgets import BudgetBlocks
from ..adapters.kafka_publisher import STATUS_HEADER, TENANT_HEADER

_FINAL = (b"completed", b"failed")


def _month_start_ms() -> int:
    start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(start.timestamp() * 1000)


def state_topics(
    *,
    answered: AnsweredLru,
    budgets: BudgetBlocks,
    evict: Callable[[str, str | None, str, str], None],
    dedupe_window: float,
    catch_up_records: int | None = None,
) -> list[Followed]:
    def on_response(record: Any) -> None:
        headers = dict(record.headers or ())
        status, tenant = headers.get(STATUS_HEADER), headers.get(TENANT_HEADER)
        if status is None or tenant is None:  # written without our headers: read the body
            body = loads_json(record.value)
            status = str(body.get("status", "")).encode()
            tenant = str(body.get("tenant_id", "")).encode()
        if status in _FINAL and record.key:
            # answered = (tenant_id, request_id): another tenant's request id is not this one
            answered.add(tenant.decode(), record.key.decode())

    def on_alert(record: Any) -> None:
        budgets.apply(BudgetAlert.model_validate_json(record.value))

    def on_key_event(record: Any) -> None:
        event = KeyEvent.model_validate_json(record.value)
        evict(event.tenant_id, event.user_id, event.scope, event.provider.value)

    return [
        Followed(
            topics.PROMPT_RESPONSES,
            on_response,
            start_ms=lambda: int((time.time() - dedupe_window) * 1000),
            max_records=catch_up_records,
        ),
        Followed(topics.BILLING_ALERTS, on_alert, start_ms=_month_start_ms),
        Followed(topics.KEY_EVENTS, on_key_event, start_ms=None, catch_up=False),
    ]
