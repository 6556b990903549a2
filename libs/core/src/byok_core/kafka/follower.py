"""The one follower of state topics: reads topics without a consumer group into in-memory state.

Each followed topic starts at a time (e.g. "an hour ago") or at its end, optionally no further back than its
newest `max_records` (so a busy day of history cannot make a start-up read unbounded), and has an
`apply(record)`. catch_up() returns once the topics that ask for it are read up to their end as of the call,
logging its progress; after its timeout it logs what is left and returns (following goes on), so a slow read
never turns a restart into a crash loop. A record that
`apply` cannot take is logged and counted (byok_messages_total outcome "unreadable"; the others: "applied"),
and following goes on: one bad record never stops the state (budget blocks, de-duplication, key eviction)
from updating.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from ..observability import MESSAGES
from .connection import topic_partitions

log = logging.getLogger("byok.kafka.follower")


@dataclass(frozen=True)
class Followed:
    topic: str
    apply: Callable[[Any], None]
    start_ms: Callable[[], int] | None = None  # a timestamp to start from; None: the topic's end
    catch_up: bool = True  # catch_up() waits for this topic
    max_records: int | None = None  # at most this many of the newest records (spread over the partitions)


class StateFollower:
    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        followed: list[Followed],
        *,
        service: str,
        options: dict[str, Any] | None = None,
        find_partitions: Callable[[list[str]], Awaitable[list[TopicPartition]]] | None = None,
    ) -> None:
        """`options`: connection options (aiokafka_options) to look the topics' partitions up with."""
        self._consumer = consumer
        self._find_partitions = find_partitions or (lambda names: topic_partitions(options or {}, names))
        self._followed = {f.topic: f for f in followed}
        self._service = service
        self._seen: dict[TopicPartition, int] = {}
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.bad_records = 0
        # Labelled children resolved once: the responses topic is followed record by record.
        self._applied = {t: MESSAGES.labels(service, t, "applied") for t in self._followed}

    async def start(self) -> None:
        await self._consumer.start()
        partitions = await self._find_partitions(list(self._followed))
        self._consumer.assign(partitions)
        timed = {tp: f.start_ms() for tp in partitions if (f := self._followed[tp.topic]).start_ms is not None}
        by_time = await self._consumer.offsets_for_times(timed) if timed else {}
        ends = await self._consumer.end_offsets(partitions)
        per_topic = Counter(tp.topic for tp in partitions)
        for tp in partitions:
            found = by_time.get(tp)
            start = found.offset if found is not None else ends[tp]
            if (most := self._followed[tp.topic].max_records) is not None:
                start = max(start, ends[tp] - math.ceil(most / per_topic[tp.topic]))
            self._consumer.seek(tp, start)
            self._seen[tp] = start
        self._task = asyncio.create_task(self._run(), name=f"{self._service}-state-follower")

    async def catch_up(self, timeout: float = 60.0, report_every: float = 5.0) -> bool:  # noqa: ASYNC109
        """True once caught up; False (logged) when `timeout` passed first: following goes on regardless."""
        wanted = [tp for tp in self._seen if self._followed[tp.topic].catch_up]
        targets = await self._consumer.end_offsets(wanted) if wanted else {}

        def left() -> int:
            return sum(max(0, end - self._seen.get(tp, 0)) for tp, end in targets.items())

        started, total = time.monotonic(), left()
        while True:
            try:
                async with self._progress:
                    await asyncio.wait_for(self._progress.wait_for(lambda: left() == 0), report_every)
                return True
            except TimeoutError:
                waited = time.monotonic() - started
                progress = {"records_left": left(), "records_at_start": total, "seconds": round(waited, 1)}
                if waited >= timeout:
                    log.warning("state topics not caught up in time; going on while following", extra=progress)
                    return False
                log.info("catching up on state topics", extra=progress)

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
            if not batches:
                # an empty poll means every partition is at its end (or a gap, e.g. transaction markers)
                for tp in list(self._seen):
                    try:
                        self._seen[tp] = max(self._seen[tp], await self._consumer.position(tp))
                    except Exception:
                        log.debug("no position yet", extra={"partition": tp.partition})
            async with self._progress:
                self._progress.notify_all()

    def _apply(self, topic: str, record: Any) -> None:
        try:
            self._followed[topic].apply(record)
            self._applied[topic].inc()
        except Exception as exc:
            self.bad_records += 1
            MESSAGES.labels(self._service, topic, "unreadable").inc()
            log.warning(
                "skipping a state record that cannot be applied",
                extra={"topic": topic, "offset": getattr(record, "offset", -1), "error": type(exc).__name__},
            )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()
