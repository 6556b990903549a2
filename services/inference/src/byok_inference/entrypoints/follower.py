"""Follows the topics whose state the worker keeps in memory, without a consumer group:

  byok.prompt.responses  from `dedupe_window` ago: final answers (header byok-status completed/failed)
                         mark request ids answered, so a redelivered or duplicated request is not re-run;
  byok.billing.alerts    from the start of the month: hard budget alerts block tenants;
  byok.keys.events       from now: a key event evicts the cached key of its place (within ~0.2 s).
catch_up() returns once the first two topics are read up to their end as of the call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from byok_events import BudgetAlert, KeyEvent, topics
from byok_events.validation import loads_json
from pydantic import ValidationError

from ..adapters.answered import AnsweredLru
from ..adapters.budgets import BudgetBlocks
from ..adapters.kafka_publisher import STATUS_HEADER, TENANT_HEADER

log = logging.getLogger("byok.inference.follower")

_FINAL = (b"completed", b"failed")


class StateFollower:
    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        *,
        answered: AnsweredLru,
        budgets: BudgetBlocks,
        evict: Callable[[str, str | None, str, str], None],
        dedupe_window: float = 3600.0,
    ) -> None:
        self._consumer = consumer
        self._answered = answered
        self._budgets = budgets
        self._evict = evict
        self._window = dedupe_window
        self._seen: dict[TopicPartition, int] = {}
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        partitions: list[TopicPartition] = []
        cluster = await self._consumer._client.fetch_all_metadata()
        for topic in (topics.PROMPT_RESPONSES, topics.BILLING_ALERTS, topics.KEY_EVENTS):
            ids = cluster.partitions_for_topic(topic)
            if not ids:
                raise RuntimeError(f"topic {topic} does not exist")
            partitions += [TopicPartition(topic, p) for p in sorted(ids)]
        self._consumer.assign(partitions)
        now_ms = int(time.time() * 1000)
        month_start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        starts = {
            topics.PROMPT_RESPONSES: now_ms - int(self._window * 1000),
            topics.BILLING_ALERTS: int(month_start.timestamp() * 1000),
        }
        by_time = await self._consumer.offsets_for_times(
            {tp: starts[tp.topic] for tp in partitions if tp.topic in starts}
        )
        ends = await self._consumer.end_offsets(partitions)
        for tp in partitions:
            found = by_time.get(tp)
            start = found.offset if found is not None else ends[tp]
            if tp.topic == topics.KEY_EVENTS:
                start = ends[tp]
            self._consumer.seek(tp, start)
            self._seen[tp] = start
        self._task = asyncio.create_task(self._run(), name="state-follower")

    async def catch_up(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        targets = {
            tp: end
            for tp, end in (await self._consumer.end_offsets(list(self._seen))).items()
            if tp.topic != topics.KEY_EVENTS
        }
        async with self._progress:
            await asyncio.wait_for(
                self._progress.wait_for(lambda: all(self._seen.get(tp, 0) >= end for tp, end in targets.items())),
                timeout,
            )

    async def _run(self) -> None:
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=200, max_records=5000)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("following state topics failed; retrying")
                await asyncio.sleep(1)
                continue
            for tp, records in batches.items():
                for record in records:
                    self._apply(tp.topic, record)
                if records:
                    self._seen[tp] = records[-1].offset + 1
            async with self._progress:
                self._progress.notify_all()
            if not batches:
                # an empty poll means every partition is at its end (or a gap, e.g. transaction markers)
                for tp in list(self._seen):
                    try:
                        self._seen[tp] = max(self._seen[tp], await self._consumer.position(tp))
                    except Exception:
                        log.debug("no position yet", extra={"partition": tp.partition})

    def _apply(self, topic: str, record: object) -> None:
        try:
            if topic == topics.PROMPT_RESPONSES:
                headers = dict(record.headers or ())  # type: ignore[attr-defined]
                status, tenant = headers.get(STATUS_HEADER), headers.get(TENANT_HEADER)
                if status is None or tenant is None:  # written without our headers: read the body
                    body = loads_json(record.value)  # type: ignore[attr-defined]
                    status = str(body.get("status", "")).encode()
                    tenant = str(body.get("tenant_id", "")).encode()
                if status in _FINAL and record.key:  # type: ignore[attr-defined]
                    # answered = (tenant_id, request_id): another tenant's request id is not this one
                    self._answered.add(tenant.decode(), record.key.decode())  # type: ignore[attr-defined]
            elif topic == topics.BILLING_ALERTS:
                self._budgets.apply(BudgetAlert.model_validate_json(record.value))  # type: ignore[attr-defined]
            elif topic == topics.KEY_EVENTS:
                event = KeyEvent.model_validate_json(record.value)  # type: ignore[attr-defined]
                self._evict(event.tenant_id, event.user_id, event.scope, event.provider.value)
        except (ValidationError, ValueError, UnicodeDecodeError, AttributeError, TypeError):
            log.debug("ignoring an unreadable record", extra={"topic": topic})

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()
