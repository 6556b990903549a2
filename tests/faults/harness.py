"""The fault suite's harness: a supervised pipeline on the real stack, a load, observers and the checks.

A scenario publishes a burst of prompts, injects one fault mid-stream (kill -9 a service, add or kill a
worker, restart a broker, Vault or PostgreSQL) and then checks what reliability.md promises:
  * every request has exactly one final answer after de-duplication by (tenant_id, request_id);
  * no usage event_id is charged twice, and the ledger equals an independent re-pricing of the usage events;
  * duplicate provider calls are at most the prompts that were in flight at the fault;
  * the consumer lag of the inference and billing groups drains to zero.
It returns the figures (in flight, duplicates, time to recover, lag peak) for the printed table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import genai_prices
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from byok_testing.fake_providers.client import FakeProviderControl
from genai_prices import Usage

from infra.local.free_port import free_port

REPO = Path(__file__).resolve().parents[2]
SERVICES_SH = REPO / "infra/local/services.sh"
MODEL = "gpt-4.1-mini"
MARKUP = Decimal("0.2")
GROUPS = ("byok-inference", "byok-billing")
PROVIDER_LATENCY_MS = 200


def run_folder(stack_env: dict[str, str], name: str) -> Path:
    """A fresh folder under the stack's run folder, kept after the run for its logs."""
    folder = Path(stack_env["BYOK_RUN_DIR"]) / "faults" / f"{name}-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    return folder


def read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {k.strip().removeprefix("export "): v.strip().strip("'\"") for k, v in pairs}


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout: float, what: str, every: float = 0.2) -> float:
    """Wait until `condition()` holds; the seconds it took. Fails with `what` after `timeout`."""
    started = time.monotonic()
    while not await condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(every)
    return time.monotonic() - started


class Pipeline:
    """The three services under infra/local/services.sh's supervisor, in a run folder of their own."""

    def __init__(self, stack_env: dict[str, str], run_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.stack_env = stack_env
        self.run_dir = run_dir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BYOK_")}
        self.env.update(
            {
                "BYOK_RUN_DIR": str(run_dir),
                "BYOK_AUTH_JWT_SECRET": "faults-" + uuid.uuid4().hex,
                "BYOK_KEYVAULT_PORT": str(free_port()),
            }
        )
        self.env.update(extra_env or {})
        self.coordinates: dict[str, str] = {}
        self.extra_workers: list[subprocess.Popen[bytes]] = []

    def services(self, command: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SERVICES_SH), command], env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def up(self) -> None:
        done = self.services("up")
        assert done.returncode == 0, f"services did not start:\n{done.stderr[-3000:]}"
        self.coordinates = {**self.stack_env, **read_env(self.run_dir / "services.env")}

    def down(self) -> None:
        for worker in self.extra_workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in self.extra_workers:
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        done = self.services("down")
        assert done.returncode == 0, done.stderr[-3000:]

    @property
    def bootstrap(self) -> str:
        return self.coordinates["BYOK_KAFKA_BOOTSTRAP"]

    def pid(self, name: str) -> int | None:
        try:
            pid = int((self.run_dir / f"{name}.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) else None

    def kill9(self, name: str) -> int:
        pid = self.pid(name)
        assert pid is not None, f"{name} is not running"
        os.kill(pid, signal.SIGKILL)
        return pid

    async def wait_restarted(self, name: str, old_pid: int, url_key: str, timeout: float = 90) -> float:
        """Seconds until the supervisor has started a new `name` process that answers /healthz."""

        async def back() -> bool:
            pid = self.pid(name)
            return pid is not None and pid != old_pid and await http_ok(self.coordinates[url_key] + "/healthz")

        return await wait_for(back, timeout, f"{name} restarted by the supervisor")

    def spawn_worker(self, metrics_port: int) -> subprocess.Popen[bytes]:
        """One more inference worker in the same consumer group, with the supervised worker's environment."""
        pid = self.pid("inference")
        assert pid is not None
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        env = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
        env["BYOK_INFERENCE_METRICS_PORT"] = str(metrics_port)
        log = open(self.run_dir / f"inference-extra-{metrics_port}.log", "ab")
        worker = subprocess.Popen(
            [str(REPO / ".venv/bin/python"), "-m", "byok_inference"], env=env, stdout=log, stderr=log
        )
        self.extra_workers.append(worker)
        return worker

    def fake(self) -> FakeProviderControl:
        return FakeProviderControl(self.coordinates["BYOK_FAKE_PROVIDERS_URL"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


async def http_ok(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as session, session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as r:
            return r.status == 200
    except (aiohttp.ClientError, TimeoutError, OSError):
        return False


async def in_flight(metrics_url: str) -> int:
    """The worker's byok_in_flight gauge (0 when it cannot be read)."""
    try:
        async with aiohttp.ClientSession() as session, session.get(metrics_url + "/metrics") as r:
            text = await r.text()
    except (aiohttp.ClientError, OSError):
        return 0
    for line in text.splitlines():
        if line.startswith("byok_in_flight{") and 'service="inference"' in line:
            return int(float(line.rsplit(" ", 1)[1]))
    return 0


async def partitions_of(bootstrap: str, topics: tuple[str, ...]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return sorted(TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"])


class Tail:
    """Every record of some topics from their end at start(): arrival times and bodies of one tenant."""

    def __init__(self, bootstrap: str, topics: tuple[str, ...], tenant_id: str) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
        self._bootstrap = bootstrap
        self._topics = topics
        self._tenant = tenant_id
        self.records: dict[str, list[tuple[float, dict[str, Any]]]] = {t: [] for t in topics}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        partitions = await partitions_of(self._bootstrap, self._topics)
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=200)
            except Exception:
                await asyncio.sleep(0.5)
                continue
            now = time.monotonic()
            for tp, records in batches.items():
                for record in records:
                    try:
                        body = json.loads(record.value)
                    except ValueError:
                        continue
                    if isinstance(body, dict) and body.get("tenant_id") == self._tenant:
                        self.records[tp.topic].append((now, body))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()


class LagSampler:
    """Summed consumer lag of the inference and billing groups, sampled every `every` seconds."""

    def __init__(self, bootstrap: str, every: float = 0.5) -> None:
        self._bootstrap = bootstrap
        self._every = every
        self.samples: list[tuple[float, int]] = []
        self._task: asyncio.Task[None] | None = None

    async def lag(self) -> int:
        return sum((await self.lag_by_partition()).values())

    async def lag_by_partition(self) -> dict[str, int]:
        """'group topic/partition' -> records not yet committed, for the partitions that lag."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, request_timeout_ms=5000)
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, group_id=None, request_timeout_ms=5000)
        await admin.start()
        await consumer.start()
        try:
            lagging = {}
            for group in GROUPS:
                committed = await admin.list_consumer_group_offsets(group)
                if not committed:
                    continue
                ends = await consumer.end_offsets(list(committed))
                for tp, meta in committed.items():
                    if meta.offset >= 0 and ends[tp] > meta.offset:
                        lagging[f"{group} {tp.topic}/{tp.partition}"] = ends[tp] - meta.offset
            return lagging
        finally:
            await consumer.stop()
            await admin.close()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a broker fault: sample again later
                self.samples.append((time.monotonic(), await self.lag()))
            await asyncio.sleep(self._every)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def peak(self) -> int:
        return max((lag for _, lag in self.samples), default=0)


@dataclass
class Figures:
    scenario: str
    prompts: int
    in_flight: int = 0
    duplicate_calls: int = 0
    duplicate_answers: int = 0
    recover_seconds: float = 0.0
    lag_peak: int = 0
    charged: int = 0
    notes: list[str] = field(default_factory=list)

    def row(self) -> str:
        return (
            f"| {self.scenario} | {self.prompts} | {self.in_flight} | {self.duplicate_calls} | "
            f"{self.duplicate_answers} | {self.recover_seconds:.1f} | {self.lag_peak} | {self.charged} | "
            f"{'; '.join(self.notes)} |"
        )


TABLE: list[Figures] = []  # every scenario's figures, printed at the end by conftest.py
HEADER = (
    "| scenario | prompts | in flight at fault | duplicate provider calls | duplicate answers | "
    "time to recover (s) | lag peak | charged | notes |\n|---|---|---|---|---|---|---|---|---|"
)


class Run:
    """One scenario's load and observation: call `await run.start()`, inject the fault, `await run.finish()`."""

    def __init__(self, pipeline: Pipeline, scenario: str, prompts: int = 1200, rate: float = 400.0) -> None:
        self.pipeline = pipeline
        self.tenant_id = f"fault-{scenario}-{uuid.uuid4().hex[:8]}"
        self.figures = Figures(scenario, prompts)
        self.rate = rate
        self.request_ids = [uuid.uuid4().hex for _ in range(prompts)]
        self.tail = Tail(pipeline.bootstrap, ("byok.prompt.responses", "byok.usage.events"), self.tenant_id)
        self.lag = LagSampler(pipeline.bootstrap)
        self._producer = AIOKafkaProducer(
            bootstrap_servers=pipeline.bootstrap, acks="all", enable_idempotence=True, linger_ms=5
        )
        self._load: asyncio.Task[None] | None = None
        self.fault_at = 0.0
        self._fault_wall = 0.0
        self._gauge_read_at: float | None = None

    async def start(self) -> None:
        await self.pipeline.fake().clear_calls()
        await self.tail.start()
        await self.lag.start()
        await self._producer.start()
        self._load = asyncio.create_task(self._publish())

    async def _publish(self) -> None:
        started = time.monotonic()
        for i, request_id in enumerate(self.request_ids):
            body = {
                "schema": "byok.prompt.request/v1",
                "request_id": request_id,
                "tenant_id": self.tenant_id,
                "user_id": "u_fault",
                "model": MODEL,
                "byok_mode": "disabled",
                "max_tokens": 64,
                "messages": [{"role": "user", "content": f"fault {request_id}"}],
                "created_at": datetime.now(UTC).isoformat(),
            }
            while True:
                try:
                    await self._producer.send(
                        "byok.prompt.requests", json.dumps(body).encode(), key=request_id.encode()
                    )
                    break
                except Exception:
                    await asyncio.sleep(0.2)
            delay = started + (i + 1) / self.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)

    async def wait_until_answered(self, fraction: float, timeout: float = 60) -> None:
        target = int(len(self.request_ids) * fraction)

        async def enough() -> bool:
            return len(self._finals()) >= target

        await wait_for(enough, timeout, f"{target} answers", every=0.05)

    async def read_in_flight(self, metrics_url: str) -> None:
        """The worker's in-flight gauge just before the fault; `_check` adds the requests first called between
        this reading and `mark_fault`, so the bound holds however long the reading took."""
        self._gauge_read_at = time.time()
        self.figures.in_flight = await in_flight(metrics_url)

    def mark_fault(self) -> None:
        self.fault_at = time.monotonic()
        self._fault_wall = time.time()

    def _finals(self) -> dict[str, dict[str, Any]]:
        return {
            body["request_id"]: body
            for _, body in self.tail.records["byok.prompt.responses"]
            if body.get("status") in ("completed", "failed")
        }

    async def finish(self, timeout: float = 120, allowed_failures: frozenset[str] | set[str] = frozenset()) -> Figures:
        """Wait for every answer and a drained lag, then check every promise; the figures."""
        assert self._load is not None
        await asyncio.wait_for(self._load, timeout)
        await self._producer.stop()
        wanted = set(self.request_ids)

        async def all_answered() -> bool:
            return wanted <= set(self._finals())

        try:
            await wait_for(all_answered, timeout, "a final answer to every request", every=0.2)

            async def all_billed() -> bool:  # an answered request whose usage event is lost is never charged
                completed = {rid for rid, body in self._finals().items() if body["status"] == "completed"}
                return completed <= {body["request_id"] for body in self._usage().values()}

            await wait_for(all_billed, 30, "a usage event for every completed request", every=0.2)
            await wait_for(self._charged_all, timeout, "every usage event charged in the ledger", every=0.5)

            lagging: dict[str, int] = {}

            async def drained() -> bool:
                nonlocal lagging
                try:
                    lagging = await self.lag.lag_by_partition()
                except KafkaError as exc:  # the group's coordinator is a node still coming back: ask again
                    lagging = {f"(lag unknown: {type(exc).__name__})": -1}
                    return False
                return not lagging

            try:
                await wait_for(drained, timeout, "consumer lag drained to zero", every=0.5)
            except AssertionError as exc:
                ops = self.pipeline.coordinates["BYOK_INFERENCE_OPS_URL"]
                raise AssertionError(f"{exc}: {lagging}; worker in flight: {await in_flight(ops)}") from None
        finally:
            await self.lag.stop()
            await self.tail.stop()
        await self._check(allowed_failures)
        return self.figures

    def _usage(self) -> dict[str, dict[str, Any]]:
        return {body["event_id"]: body for _, body in self.tail.records["byok.usage.events"]}

    def _ledger(self) -> list[tuple[str, Decimal, str, int]]:
        engine = sa.create_engine(self.pipeline.coordinates["BYOK_DATABASE_URL"])
        try:
            with engine.connect() as db:
                rows = db.execute(
                    sa.text("SELECT event_id, charge, request_id FROM charges WHERE tenant_id = :t"),
                    {"t": self.tenant_id},
                ).all()
        finally:
            engine.dispose()
        return [(r[0], Decimal(str(r[1])), r[2], 1) for r in rows]

    async def _charged_all(self) -> bool:
        return set(self._usage()) <= {row[0] for row in await asyncio.to_thread(self._ledger)}

    async def _check(self, allowed_failures: frozenset[str] | set[str]) -> None:
        finals = [body for _, body in self.tail.records["byok.prompt.responses"] if body.get("status") != "delta"]
        per_request = Counter(body["request_id"] for body in finals)
        answers = self._finals()
        assert set(answers) == set(self.request_ids), "a request has no final answer"
        failed = Counter((b.get("error") or {}).get("code") for b in answers.values() if b["status"] != "completed")
        unexpected = {code: n for code, n in failed.items() if code not in allowed_failures}
        assert not unexpected, f"requests failed: {unexpected}"
        self.figures.notes += [f"{n} failed {code}" for code, n in failed.items()]
        self.figures.duplicate_answers = sum(n - 1 for n in per_request.values())

        usage = self._usage()
        ledger = await asyncio.to_thread(self._ledger)
        charged = Counter(row[0] for row in ledger)
        assert all(n == 1 for n in charged.values()), "an event_id is charged twice"
        assert set(charged) == set(usage), "the ledger and the usage events differ"
        self.figures.charged = len(charged)
        for event_id, charge, _, _ in ledger:
            assert charge == reprice(usage[event_id]), f"ledger charge of {event_id} differs from a re-pricing"

        calls = await self.pipeline.fake().calls(contains="fault ")
        called = Counter(
            request_id for call in calls for request_id in [_request_of(call)] if request_id in set(self.request_ids)
        )
        self.figures.duplicate_calls = sum(n - 1 for n in called.values())
        if self._gauge_read_at is not None:
            first_called: dict[str, float] = {}
            for call in calls:
                request_id = _request_of(call)
                if request_id in called:
                    first_called[request_id] = min(call["at"], first_called.get(request_id, call["at"]))
            started = sum(1 for at in first_called.values() if self._gauge_read_at <= at <= self._fault_wall)
            if started:
                self.figures.notes.append(f"in flight: gauge {self.figures.in_flight} + {started} called after it")
                self.figures.in_flight += started
        self.figures.lag_peak = self.lag.peak
        self.figures.recover_seconds = self._longest_gap_after_fault()
        assert self.figures.duplicate_calls <= max(self.figures.in_flight, 0), (
            f"{self.figures.duplicate_calls} duplicate provider calls, {self.figures.in_flight} were in flight"
        )

    def _longest_gap_after_fault(self) -> float:
        """Time to recover: the longest pause in final answers that starts at or after the fault."""
        arrivals = sorted(
            t for t, body in self.tail.records["byok.prompt.responses"] if body.get("status") in ("completed", "failed")
        )
        gaps = [b - a for a, b in zip([self.fault_at, *arrivals], arrivals, strict=False) if b >= self.fault_at]
        return max(gaps, default=0.0)


def _request_of(call: dict[str, Any]) -> str | None:
    text = json.dumps(call)
    at = text.find("fault ")
    return text[at + 6 : at + 38] if at >= 0 else None


def reprice(event: dict[str, Any]) -> Decimal:
    """genai-prices' own calc_price for the usage event at its occurred_at, plus the system-key markup."""
    usage = Usage(
        input_tokens=event["input_tokens"],
        output_tokens=event["output_tokens"],
        cache_read_tokens=event.get("cache_read_tokens", 0),
        cache_write_tokens=event.get("cache_write_tokens", 0),
    )
    occurred = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
    price = genai_prices.calc_price(usage, event["model"], provider_id="openai", genai_request_timestamp=occurred)
    assert event["key_source"] == "system"
    return (price.total_price * (1 + MARKUP)).quantize(Decimal("1e-10"))
