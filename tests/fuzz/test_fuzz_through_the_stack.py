"""Hostile records through the real stack: the three services as processes (infra/local/services.sh, fake
providers), real Kafka, Vault and PostgreSQL.

For every consumed topic, N hostile records (drawn with fixed seeds from the strategies of fuzz_strategies.py;
N = 300 x BYOK_FUZZ_SCALE) are written, each followed on the same partition by a valid record that must be
answered (prompts), charged (usage events) or applied (key events, budget alerts, responses). Then:
  * every valid follower is answered / charged / applied within a bounded time;
  * every record the contract refuses has its dead letter (from the shared factory: redacted, cut, no key),
    and no valid record has one; a hostile record the contract accepts is handled like any other;
  * nothing is charged twice;
  * the services never stopped: the same processes, never restarted, /healthz ok.
Accepted hostile records that would act on someone else's state are moved to tenants of this run (a hard
budget alert, a key.invalid, a request id that another run may already have answered).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
import sqlalchemy as sa
from byok_events import BudgetAlert, DeadLetter, KeyEvent, PromptRequest, PromptResponse, UsageEvent, topics
from byok_events.keys import INFERENCE_PRODUCER, PRODUCER_HEADER, key_invalid_event_id
from byok_inference.adapters.kafka_publisher import STATUS_HEADER, TENANT_HEADER
from faults.harness import Pipeline
from fuzz_stack import BROKER_MAX_RECORD, Alive, Counters, Plan, Sent, Tail, draw, wait_until, write
from fuzz_strategies import CORPUS, records, response_headers, response_keys
from fuzz_support import SCALE, accepted, cases, check_dead_letter, report
from hypothesis import strategies as st

pytestmark = pytest.mark.integration

N = cases(300)
RUN = "fz" + uuid.uuid4().hex[:10]
PROMPT_LIMIT = 512 * 1024  # the worker's max_request_bytes (default)
DLQ_PAYLOAD = 256 * 1024  # every service's dead-letter payload limit (default)
WAIT = 60 + 60 * SCALE  # seconds for the services to answer a burst
MODEL = "gpt-4.1-mini"
WHERE = "through the stack"


@dataclass
class Stack:
    pipeline: Pipeline
    tail: Tail
    alive: Alive

    @property
    def bootstrap(self) -> str:
        return self.pipeline.bootstrap

    def url(self, name: str) -> str:
        return self.pipeline.coordinates[name]

    def partitions(self, topic: str) -> int:
        return self.tail.partition_counts[topic]

    def dead_letters(self) -> dict[tuple[str, int, int], list[DeadLetter]]:
        """(source topic, partition, offset) -> the dead letters written for that record."""
        found: dict[tuple[str, int, int], list[DeadLetter]] = {}
        for body in self.tail.bodies(topics.DLQ):
            letter = DeadLetter.model_validate(body)
            found.setdefault((letter.source_topic, letter.partition, letter.offset), []).append(letter)
        return found

    def finals(self) -> Counter[tuple[str, str]]:
        """(tenant_id, request_id) -> final answers (completed or failed) on byok.prompt.responses."""
        return Counter(
            (b["tenant_id"], b["request_id"])
            for b in self.tail.bodies(topics.PROMPT_RESPONSES)
            if b.get("status") in ("completed", "failed")
            and isinstance(b.get("tenant_id"), str)
            and isinstance(b.get("request_id"), str)
        )


@pytest.fixture(scope="module")
async def stack(stack_env: dict[str, str]) -> AsyncIterator[Stack]:
    run_dir = Path(stack_env["BYOK_RUN_DIR"]) / "fuzz" / f"stack-{uuid.uuid4().hex[:6]}"
    run_dir.mkdir(parents=True)
    shutil.copy(Path(stack_env["BYOK_RUN_DIR"]) / "stack.env", run_dir / "stack.env")
    pipeline = Pipeline(stack_env, run_dir)
    await asyncio.to_thread(pipeline.up)
    tail = Tail(pipeline.bootstrap, (topics.DLQ, topics.PROMPT_RESPONSES, topics.BILLING_CHARGES, topics.USAGE_EVENTS))
    try:
        await tail.start()
        urls = {
            "keyvault": pipeline.coordinates["BYOK_KEYVAULT_URL"],
            "inference": pipeline.coordinates["BYOK_INFERENCE_OPS_URL"],
            "billing": pipeline.coordinates["BYOK_BILLING_OPS_URL"],
        }
        yield Stack(pipeline, tail, Alive(run_dir, urls).start())
    finally:
        await tail.stop()
        await asyncio.to_thread(pipeline.down)


def _dump(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _edited(raw: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes | None:
    """An accepted record with some fields changed (None when the standard parser cannot read it back)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    edit(data)
    return _dump(data)


def hostile(
    topic: str,
    model: type[Any],
    values: list[bytes],
    rename: Callable[[int, Any], Callable[[dict[str, Any]], None] | None],
    max_bytes: int | None = None,
) -> tuple[list[tuple[bytes, Any]], int]:
    """(raw, verdict) of each drawn record that Kafka can carry; accepted ones renamed where `rename` says.
    Also the number left out as larger than the broker takes."""
    out, too_big = [], 0
    for i, raw in enumerate(values):
        if len(raw) > BROKER_MAX_RECORD:
            too_big += 1
            continue
        verdict = accepted(model, raw, max_bytes)
        edit = rename(i, verdict) if verdict is not None else None
        if edit is not None:
            edited = _edited(raw, edit)
            if edited is None:
                continue
            raw, verdict = edited, accepted(model, edited, max_bytes)
        out.append((raw, verdict))
    return out, too_big


def plan_of(
    stack: Stack,
    topic: str,
    bad: list[tuple[bytes, Any]],
    follower: Callable[[int], tuple[bytes, bytes | None, list[tuple[str, bytes]]]],
    headers: Callable[[int], list[tuple[str, bytes]]] = lambda i: [],
    keys: Callable[[int], bytes | None] = lambda i: None,
) -> Plan:
    plan = Plan(topic, stack.partitions(topic))
    for i, (raw, verdict) in enumerate(bad[:N]):
        partition = i % plan.partitions
        value, key, follower_headers = follower(i)
        plan.pair(
            Sent(topic, partition, raw, keys(i), headers(i), False, verdict),
            Sent(topic, partition, value, key, follower_headers, True),
        )
    assert len(plan.hostile) == N, f"only {len(plan.hostile)} hostile records of {N} drawn"
    return plan


def check_letters(stack: Stack, plan: Plan, accepted_may_be_refused: bool = False) -> int:
    """Every refused record has its dead letter(s), from the shared factory; no valid record has one (with
    `accepted_may_be_refused`, a hostile record the models accept may have one: the key-vault service refuses
    a key.invalid not shaped as the worker writes it)."""
    letters = stack.dead_letters()
    for record in plan.refused:
        found = letters.get((record.topic, record.partition, record.offset))
        assert found, f"no dead letter for a refused record at {record.partition}/{record.offset}"
        for letter in found:
            check_dead_letter(letter, DLQ_PAYLOAD, record.value)
    for record in plan.accepted if accepted_may_be_refused else ():
        for letter in letters.get((record.topic, record.partition, record.offset), ()):
            check_dead_letter(letter, DLQ_PAYLOAD, record.value)
    valid = plan.followers + ([] if accepted_may_be_refused else plan.accepted)
    lettered = [r for r in valid if (r.topic, r.partition, r.offset) in letters]
    assert not lettered, f"{len(lettered)} valid records were dead-lettered, e.g. {lettered[0].value[:300]!r}"
    return len(plan.refused)


def now() -> str:
    return datetime.now(UTC).isoformat()


def prompt(tenant_id: str, request_id: str, text: str) -> bytes:
    return _dump(
        {
            "schema": "byok.prompt.request/v1",
            "request_id": request_id,
            "tenant_id": tenant_id,
            "user_id": "u_fuzz",
            "model": MODEL,
            "byok_mode": "disabled",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": text}],
            "created_at": now(),
        }
    )


async def send_prompts(stack: Stack, names: list[tuple[str, str]], text: str) -> None:
    plan = Plan(topics.PROMPT_REQUESTS, stack.partitions(topics.PROMPT_REQUESTS))
    plan.records = [
        Sent(plan.topic, i % plan.partitions, prompt(t, r, f"{text} {i}"), r.encode(), [], True)
        for i, (t, r) in enumerate(names)
    ]
    await write(stack.bootstrap, plan)


def seeded(name: str) -> int:
    return sum(name.encode())  # a fixed seed per topic: the same hostile records every run


async def test_prompt_requests_through_the_stack(stack: Stack) -> None:
    started = time.monotonic()
    tenant = RUN + "-p"

    def rename(i: int, request: PromptRequest) -> Callable[[dict[str, Any]], None]:
        return lambda data: data.update(request_id=f"{RUN}-h{i}")  # new to the de-duplication of any worker

    bad, too_big = hostile(
        topics.PROMPT_REQUESTS,
        PromptRequest,
        [*CORPUS, *draw(records(PromptRequest), N + N // 4, seeded(topics.PROMPT_REQUESTS))],
        rename,
        PROMPT_LIMIT,
    )
    plan = plan_of(
        stack,
        topics.PROMPT_REQUESTS,
        bad,
        lambda i: (prompt(tenant, f"{RUN}-p{i}", f"fuzz follower {i}"), f"{RUN}-p{i}".encode(), []),
    )
    await write(stack.bootstrap, plan)
    followers = [(tenant, f"{RUN}-p{i}") for i in range(N)]
    accepted_names = [(r.expected.tenant_id, r.expected.request_id) for r in plan.accepted]
    refused = {(r.partition, r.offset) for r in plan.refused}

    def done() -> bool:
        finals, letters = stack.finals(), stack.dead_letters()
        lettered = {(p, o) for t, p, o in letters if t == topics.PROMPT_REQUESTS}
        return all(finals[n] for n in followers + accepted_names) and refused <= lettered

    answered_in = await wait_until(done, WAIT, "an answer to every valid prompt and a dead letter for every bad one")
    finals = stack.finals()
    assert all(finals[n] == 1 for n in followers + accepted_names), "a request answered more than once"
    statuses = Counter(
        b["status"]
        for b in stack.tail.bodies(topics.PROMPT_RESPONSES)
        if (b.get("tenant_id"), b.get("request_id")) in set(followers) and b["status"] != "delta"
    )
    assert statuses == {"completed": N}, statuses
    dead = check_letters(stack, plan)
    await stack.alive.check()
    report(
        topics.PROMPT_REQUESTS,
        {
            "hostile": N,
            "refused": dead,
            "accepted": len(accepted_names),
            "valid followers answered": N,
            "too big for Kafka": too_big,
            "answered in s": round(answered_in, 1),
            "s": round(time.monotonic() - started, 1),
        },
        WHERE,
    )


def ledger(url: str, event_ids: list[str]) -> Counter[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as db:
            query = sa.text("SELECT event_id FROM charges WHERE event_id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            )
            return Counter(row[0] for row in db.execute(query, {"ids": event_ids}))
    finally:
        engine.dispose()


def usage(tenant_id: str, event_id: str) -> bytes:
    return UsageEvent(
        event_id=event_id,
        request_id=event_id,
        tenant_id=tenant_id,
        user_id="u_fuzz",
        provider="openai",
        model=MODEL,
        key_source="system",
        byok=False,
        input_tokens=100,
        output_tokens=10,
        occurred_at=datetime.now(UTC),
    ).to_bytes()


async def test_usage_events_through_the_stack(stack: Stack) -> None:
    started = time.monotonic()
    tenant = RUN + "-u"
    bad, too_big = hostile(
        topics.USAGE_EVENTS,
        UsageEvent,
        [*CORPUS, *draw(records(UsageEvent), N + N // 4, seeded(topics.USAGE_EVENTS))],
        lambda i, event: None,  # event ids of this run (a replaced one may repeat: charged once, ever)
    )
    plan = plan_of(stack, topics.USAGE_EVENTS, bad, lambda i: (usage(tenant, f"{RUN}-u{i}"), tenant.encode(), []))
    await write(stack.bootstrap, plan)
    followers = [f"{RUN}-u{i}" for i in range(N)]
    to_charge = sorted(set(followers) | {r.expected.event_id for r in plan.accepted})
    url = stack.url("BYOK_DATABASE_URL")

    async def charged() -> bool:
        return set(await asyncio.to_thread(ledger, url, to_charge)) == set(to_charge)

    charged_in = await wait_until(charged, WAIT, "a ledger row for every valid usage event")
    await wait_until(
        lambda: {b.get("event_id") for b in stack.tail.bodies(topics.BILLING_CHARGES)} >= set(followers),
        WAIT,
        "a charge record for every valid follower",
    )
    await wait_until(
        lambda: {(p, o) for t, p, o in stack.dead_letters() if t == topics.USAGE_EVENTS}
        >= {(r.partition, r.offset) for r in plan.refused},
        WAIT,
        "a dead letter for every refused usage record",
    )
    rows = await asyncio.to_thread(ledger, url, to_charge)
    assert all(n == 1 for n in rows.values()), "an event_id has two ledger rows"
    charges = Counter(b.get("event_id") for b in stack.tail.bodies(topics.BILLING_CHARGES))
    twice = [e for e in followers if charges[e] != 1]
    assert not twice, f"{len(twice)} events published as charges more than once, e.g. {twice[0]}"
    dead = check_letters(stack, plan)
    await stack.alive.check()
    report(
        topics.USAGE_EVENTS,
        {
            "hostile": N,
            "refused": dead,
            "accepted": len(plan.accepted),
            "valid followers charged": N,
            "too big for Kafka": too_big,
            "charged in s": round(charged_in, 1),
            "s": round(time.monotonic() - started, 1),
        },
        WHERE,
    )


def token(secret: str, tenant_id: str, user_id: str) -> str:
    at = int(time.time())
    claims = {"sub": user_id, "tenant": tenant_id, "role": "member", "iat": at, "exp": at + 900}
    return jwt.encode(claims, secret, algorithm="HS256")


async def for_each_user(
    users: list[str], call: Callable[[aiohttp.ClientSession, str], Any], concurrency: int = 16
) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as http:

        async def one(user: str) -> Any:
            async with gate:
                return await call(http, user)

        return await asyncio.gather(*(one(u) for u in users))


async def test_key_events_through_the_stack(stack: Stack) -> None:
    """byok.keys.events: the key-vault service's key.invalid consumer marks each stored key named by a valid
    follower invalid, and the inference worker's follower applies every valid record and skips the others."""
    started = time.monotonic()
    tenant, secret, keyvault = RUN + "-k", stack.url("BYOK_AUTH_JWT_SECRET"), stack.url("BYOK_KEYVAULT_URL")
    users = [f"u{i}" for i in range(N)]
    inference = await Counters(stack.url("BYOK_INFERENCE_OPS_URL")).start()
    vault_counters = await Counters(keyvault).start()

    async def store(http: aiohttp.ClientSession, user: str) -> dict[str, Any]:
        body = {"keyType": "openai", "apiKey": f"sk-proj-FUZZ{uuid.uuid4().hex}{user}stored", "scope": "user"}
        headers = {"Authorization": f"Bearer {token(secret, tenant, user)}"}
        async with http.post(f"{keyvault}/api/user-api-keys", json=body, headers=headers) as answer:
            assert answer.status == 201, await answer.text()
            return dict(await answer.json())

    stored = await for_each_user(users, store)

    def invalid(i: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        request_id = f"{RUN}-k{i}"
        event = {
            "schema": "byok.key.event/v1",
            "event_id": key_invalid_event_id(tenant, request_id),
            "type": "key.invalid",
            "tenant_id": tenant,
            "user_id": users[i],
            "scope": "user",
            "provider": "openai",
            "fingerprint": stored[i]["fingerprint"],
            "version": stored[i]["version"],
            "request_id": request_id,
            "at": now(),
        }
        return _dump(event), tenant.encode(), [(PRODUCER_HEADER, INFERENCE_PRODUCER.encode())]

    def rename(i: int, event: KeyEvent) -> Callable[[dict[str, Any]], None] | None:
        if event.type != "key.invalid":
            return None

        def edit(data: dict[str, Any]) -> None:  # marks no key of a tenant outside this run
            request_id = data.get("request_id")
            derived = isinstance(request_id, str) and data["event_id"] == key_invalid_event_id(
                str(data["tenant_id"]), request_id
            )
            data["tenant_id"] = f"{RUN}-kh{i}"
            if derived:
                data["event_id"] = key_invalid_event_id(data["tenant_id"], request_id)

        return edit

    bad, too_big = hostile(
        topics.KEY_EVENTS, KeyEvent, [*CORPUS, *draw(records(KeyEvent), N + N // 4, seeded(topics.KEY_EVENTS))], rename
    )
    worker_header = [(PRODUCER_HEADER, INFERENCE_PRODUCER.encode())]
    plan = plan_of(stack, topics.KEY_EVENTS, bad, invalid, headers=lambda i: worker_header if i % 2 else [])
    await write(stack.bootstrap, plan)
    written = time.monotonic()

    async def status(http: aiohttp.ClientSession, user: str) -> str:
        headers = {"Authorization": f"Bearer {token(secret, tenant, user)}"}
        async with http.get(f"{keyvault}/api/user-api-keys", headers=headers) as answer:
            assert answer.status == 200
            return str((await answer.json())["keys"][0]["status"])

    async def consumed() -> bool:  # the key-vault's counters first: polling 300 users would slow it down
        outcomes = ("ok", "ignored", "invalid", "refused", "dlq")
        return sum([await vault_counters.delta("keyvault", topics.KEY_EVENTS, o) for o in outcomes]) >= 3 * N

    await wait_until(consumed, WAIT, "the key-vault's consumer reading every key event")

    async def all_marked() -> bool:
        return set(await for_each_user(users, status)) == {"invalid"}

    await wait_until(all_marked, WAIT, "every key named by a valid key.invalid marked invalid")
    applied_in = time.monotonic() - written

    async def followed() -> bool:
        seen = [await inference.delta("inference", topics.KEY_EVENTS, o) for o in ("applied", "unreadable")]
        return sum(seen) >= N + 2 * N  # the key.stored events, then the plan

    await wait_until(followed, WAIT, "the worker's follower reading every key event")
    await wait_until(
        lambda: {(p, o) for t, p, o in stack.dead_letters() if t == topics.KEY_EVENTS}
        >= {(r.partition, r.offset) for r in plan.refused},
        WAIT,
        "a dead letter for every refused key event",
    )
    assert await inference.delta("inference", topics.KEY_EVENTS, "unreadable") == len(plan.refused)
    assert await inference.delta("inference", topics.KEY_EVENTS, "applied") >= N + N + len(plan.accepted)
    assert await vault_counters.delta("keyvault", topics.KEY_EVENTS, "invalid") == len(plan.refused)
    dead = check_letters(stack, plan, accepted_may_be_refused=True)
    await stack.alive.check()
    report(
        topics.KEY_EVENTS,
        {
            "hostile": N,
            "refused": dead,
            "accepted": len(plan.accepted),
            "valid followers applied": N,
            "too big for Kafka": too_big,
            "applied in s": round(applied_in, 1),
            "s": round(time.monotonic() - started, 1),
        },
        WHERE + " (key-vault consumer, inference follower)",
    )


async def settled(counts: Counters, topic: str) -> None:
    """Until the worker's follower has read nothing new on `topic` for half a second."""
    last = -1
    while (seen := await counts.delta("inference", topic, "applied")) != last:
        last = seen
        await asyncio.sleep(0.5)


async def test_budget_alerts_through_the_stack(stack: Stack) -> None:
    """byok.billing.alerts: the worker's follower skips the bad alerts and still blocks each tenant a valid
    hard alert names: a prompt of that tenant fails with budget_exceeded."""
    started = time.monotonic()
    inference = await Counters(stack.url("BYOK_INFERENCE_OPS_URL")).start()
    period = datetime.now(UTC).strftime("%Y-%m")

    def alert(i: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        tenant = f"{RUN}-b{i}"
        event = BudgetAlert(
            event_id=f"{RUN}-b{i}",
            tenant_id=tenant,
            period=period,
            kind="hard",
            measure="platform_charge",
            threshold="1.0",
            budget="1",
            spent="1",
        )
        return event.to_bytes(), tenant.encode(), []

    def rename(i: int, event: BudgetAlert) -> Callable[[dict[str, Any]], None] | None:
        blocks = event.kind == "hard" and event.threshold == "1.0" and event.measure == "platform_charge"
        return (lambda data: data.update(tenant_id=f"{RUN}-bh{i}")) if blocks else None  # blocks no real tenant

    bad, too_big = hostile(
        topics.BILLING_ALERTS,
        BudgetAlert,
        [*CORPUS, *draw(records(BudgetAlert), N + N // 4, seeded(topics.BILLING_ALERTS))],
        rename,
    )
    plan = plan_of(stack, topics.BILLING_ALERTS, bad, alert)
    await write(stack.bootstrap, plan)

    async def followed() -> bool:
        seen = [await inference.delta("inference", topics.BILLING_ALERTS, o) for o in ("applied", "unreadable")]
        return sum(seen) >= 2 * N

    await wait_until(followed, WAIT, "the worker's follower reading every alert")
    assert await inference.delta("inference", topics.BILLING_ALERTS, "unreadable") == len(plan.refused)
    assert await inference.delta("inference", topics.BILLING_ALERTS, "applied") >= N + len(plan.accepted)

    names = [(f"{RUN}-b{i}", f"{RUN}-bp{i}") for i in range(N)]
    await send_prompts(stack, names, "blocked")

    def answered() -> bool:
        finals = stack.finals()
        return all(finals[n] for n in names)

    applied_in = await wait_until(answered, WAIT, "an answer to every prompt of a blocked tenant")
    codes = Counter(
        (b.get("error") or {}).get("code")
        for b in stack.tail.bodies(topics.PROMPT_RESPONSES)
        if (b.get("tenant_id"), b.get("request_id")) in set(names) and b.get("status") != "delta"
    )
    assert codes == {"budget_exceeded": N}, codes
    await stack.alive.check()
    report(
        topics.BILLING_ALERTS,
        {
            "hostile": N,
            "refused (skipped)": len(plan.refused),
            "accepted": len(plan.accepted),
            "valid followers applied": N,
            "too big for Kafka": too_big,
            "applied in s": round(applied_in, 1),
            "s": round(time.monotonic() - started, 1),
        },
        WHERE + " (inference follower)",
    )


async def test_responses_through_the_stack(stack: Stack) -> None:
    """byok.prompt.responses: the worker's follower skips the bad records and still marks each request a
    valid final response names as answered: the same request sent afterwards is not run again."""
    started = time.monotonic()
    tenant = RUN + "-r"
    inference = await Counters(stack.url("BYOK_INFERENCE_OPS_URL")).start()

    def response(i: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        request_id = f"{RUN}-r{i}"
        event = PromptResponse(request_id=request_id, tenant_id=tenant, status="completed", output_text="done")
        return event.to_bytes(), request_id.encode(), [(STATUS_HEADER, b"completed"), (TENANT_HEADER, tenant.encode())]

    drawn = [(raw, (), None) for raw in CORPUS]
    drawn += draw(st.tuples(records(PromptResponse), response_headers(), response_keys()), N, seeded("responses"))
    bad = [(raw, accepted(PromptResponse, raw)) for raw, _, _ in drawn]
    too_big = sum(len(raw) > BROKER_MAX_RECORD for raw, _ in bad)
    kept = [i for i, (raw, _) in enumerate(bad) if len(raw) <= BROKER_MAX_RECORD]
    extra = draw(records(PromptResponse), N, seeded("responses") + 1)
    fillers = iter(raw for raw in extra if len(raw) <= BROKER_MAX_RECORD)
    while len(kept) < N:  # a drawn record too big for Kafka: another one, without headers
        bad.append((raw := next(fillers), accepted(PromptResponse, raw)))
        drawn.append((raw, (), None))
        kept.append(len(bad) - 1)
    bad, meta = [bad[i] for i in kept], [drawn[i] for i in kept]
    plan = plan_of(
        stack,
        topics.PROMPT_RESPONSES,
        bad,
        response,
        headers=lambda i: list(meta[i][1]),
        keys=lambda i: meta[i][2],
    )
    await write(stack.bootstrap, plan)

    async def followed() -> bool:
        seen = [await inference.delta("inference", topics.PROMPT_RESPONSES, o) for o in ("applied", "unreadable")]
        return sum(seen) >= 2 * N

    await wait_until(followed, WAIT, "the worker's follower reading every response")
    await settled(inference, topics.PROMPT_RESPONSES)  # the worker's own answers of earlier tests read too
    assert await inference.delta("inference", topics.PROMPT_RESPONSES, "applied") >= N

    names = [(tenant, f"{RUN}-r{i}") for i in range(N)]
    await send_prompts(stack, names, f"{RUN} duplicate")

    async def counted() -> bool:
        return await inference.delta("inference", topics.PROMPT_REQUESTS, "duplicate") >= N

    recognised_in = await wait_until(counted, WAIT, "the worker to recognise every request already answered")
    await asyncio.sleep(1)  # an answer published by mistake would reach the tail by now
    assert await inference.delta("inference", topics.PROMPT_REQUESTS, "duplicate") == N
    finals = stack.finals()
    assert all(finals[n] == 1 for n in names), "a request marked answered was run again"
    assert await stack.pipeline.fake().calls(contains=f"{RUN} duplicate") == []
    await stack.alive.check()
    report(
        topics.PROMPT_RESPONSES,
        {
            "hostile": N,
            "accepted": len(plan.accepted),
            "valid followers applied": N,
            "too big for Kafka (replaced)": too_big,
            "duplicates recognised in s": round(recognised_in, 1),
            "s": round(time.monotonic() - started, 1),
        },
        WHERE + " (inference follower)",
    )
