"""`byok charges tail`: byok.billing.charges for analysts, de-duplicated by event_id, as a table or JSON lines.

Reads without a consumer group (every partition assigned), from the end (default), from a time ago
(--since 1h) or from the beginning; --no-follow stops at the end as of the start, --limit after N charges.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections import OrderedDict
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from byok_client import KafkaConfig
from byok_events import Charge, topics
from pydantic import ValidationError

from .errors import UNREACHABLE, USAGE, CliError, kafka_failure

COLUMNS = ("billed_at", "tenant_id", "user_id", "provider", "model", "key_source", "provider_cost", "charge", "priced")
_WIDTHS = tuple(max(len(c), w) for c, w in zip(COLUMNS, (20, 16, 10, 10, 24, 7, 14, 14, 6), strict=True))
_DURATION = re.compile(r"(\d+)([smhd])")


def parse_since(text: str) -> float:
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise CliError("--since is a duration like 90s, 15m, 2h or 7d", USAGE)
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


class SeenEvents:
    """The last `size` event ids, so a re-published charge is shown once (bounded memory)."""

    def __init__(self, size: int = 100_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def first_time(self, event_id: str) -> bool:
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return False
        self._ids[event_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


def row(charge: Charge) -> str:
    values = (
        charge.billed_at.strftime("%Y-%m-%dT%H:%M:%SZ") if charge.billed_at else "",
        charge.tenant_id,
        charge.user_id or "-",
        str(charge.provider),
        charge.model,
        str(charge.key_source),
        format(charge.provider_cost, "f"),
        format(charge.charge, "f"),
        "yes" if charge.priced else "NO",
    )
    return "  ".join(v.ljust(w) for v, w in zip(values, _WIDTHS, strict=True)).rstrip()


def header() -> str:
    return "  ".join(c.ljust(w) for c, w in zip(COLUMNS, _WIDTHS, strict=True)).rstrip()


async def tail(args: Any) -> int:
    kafka = KafkaConfig.from_env()
    since = parse_since(args.since) if args.since else None
    consumer = AIOKafkaConsumer(
        topics.BILLING_CHARGES, **kafka.aiokafka_options(), group_id=None, enable_auto_commit=False
    )
    try:
        await consumer.start()  # without a group id, every partition of the topic is assigned at start
    except Exception as exc:  # aiokafka raises many kinds: refused or unreachable
        await consumer.stop()
        raise kafka_failure(exc, kafka.bootstrap, kafka.sasl_username) from None
    shown = 0
    try:
        tps = sorted(consumer.assignment())
        if not tps:
            raise CliError(f"topic {topics.BILLING_CHARGES} does not exist or may not be read", UNREACHABLE)
        ends = await consumer.end_offsets(tps)
        if args.from_beginning:
            await consumer.seek_to_beginning(*tps)
        elif since is not None:
            found = await consumer.offsets_for_times({tp: int((time.time() - since) * 1000) for tp in tps})
            for tp in tps:
                consumer.seek(tp, found[tp].offset if found.get(tp) else ends[tp])
        else:
            await consumer.seek_to_end(*tps)
        seen = SeenEvents()
        if args.format == "table":
            print(header(), flush=True)
        while args.limit is None or shown < args.limit:
            if not args.follow and all([await consumer.position(tp) >= ends[tp] for tp in tps]):
                break
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    try:
                        charge = Charge.model_validate_json(record.value or b"")
                    except ValidationError:
                        continue  # not a charge: billing writes none, so someone else did; skip it
                    if args.tenant and charge.tenant_id != args.tenant:
                        continue
                    if not seen.first_time(charge.event_id):
                        continue
                    line = charge.model_dump_json(by_alias=True) if args.format == "jsonl" else row(charge)
                    print(line, flush=True)
                    shown += 1
                    if args.limit is not None and shown >= args.limit:
                        break
                if args.limit is not None and shown >= args.limit:
                    break
    except (asyncio.CancelledError, CliError):
        raise
    except KafkaError as exc:
        raise kafka_failure(exc, kafka.bootstrap, kafka.sasl_username) from None
    finally:
        await consumer.stop()
    if args.format == "table" and not args.follow:
        print(f"{shown} charge(s)", file=sys.stderr)
    return 0
