"""kill -9 the worker with hundreds of requests in flight, restart it: every request gets its final answer
(exactly one after de-duplication by request_id) and no usage event_id appears twice."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata
from byok_core.kafka import topic_partitions
from byok_testing.fake_providers import Rule, RunningFakeProviders
from byok_testing.topics import TopicTail
from byok_testing.waiting import wait_until
from support.inference import RUN, answered, finals, prompt, send

pytestmark = pytest.mark.integration

N = 400
MODEL = "o4-mini"  # a priced model: the platform's key never runs an unpriced one (model_not_priced)
SYSTEM_KEY = f"crash-{RUN}"  # this run's calls are told apart by their key


async def park_group_at_end(bootstrap: str, group: str) -> None:
    """Commit the end offsets for a fresh group, so the worker starts there and nothing is skipped."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = await topic_partitions({"bootstrap_servers": bootstrap}, ["byok.prompt.requests"])
        ends = await consumer.end_offsets(parts)
        consumer.assign(parts)
        await consumer.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
    finally:
        await consumer.stop()


def spawn(stack_env: dict[str, str], fake: RunningFakeProviders, group: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **fake.env,
        "BYOK_KAFKA_BOOTSTRAP": stack_env["BYOK_KAFKA_BOOTSTRAP"],
        # a delivery test: keys come from the worker's env (key store "env"); Vault is exercised elsewhere
        "BYOK_INFERENCE_KEY_STORE": "env",
        "BYOK_SYSTEM_OPENAI_API_KEY": SYSTEM_KEY,
        "BYOK_INFERENCE_GROUP_ID": group,
        "BYOK_INFERENCE_METRICS_PORT": str(port),
        "BYOK_INFERENCE_DEDUPE_WINDOW_SECONDS": "600",
        "BYOK_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "byok_inference"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(Path(tempfile.gettempdir()) / f"byok-inference-crash-{group}.log", "ab"),
    )


async def wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    async with aiohttp.ClientSession() as session:

        async def healthy() -> bool:
            assert process.poll() is None, "the worker exited"
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as r:
                    return r.status == 200
            except aiohttp.ClientError:
                return False

        await wait_until(healthy, timeout, "worker not healthy", interval=0.2)


@pytest.fixture
async def all_usages(kafka_bootstrap: str) -> AsyncIterator[TopicTail]:
    async with TopicTail(kafka_bootstrap, "byok.usage.events", key=f"crash{RUN}") as tail:
        yield tail


async def test_kill_9_with_hundreds_in_flight_loses_nothing(
    stack_env: dict[str, str],
    kafka_bootstrap: str,
    fake_providers: RunningFakeProviders,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    all_usages: TopicTail,
) -> None:
    group, port = f"itest-{RUN}-crash", 19000 + int(RUN[:4], 16) % 1000
    await park_group_at_end(kafka_bootstrap, group)
    fake_providers.server.book.rules.append(Rule(api_key=SYSTEM_KEY, latency_ms=2000))
    first = spawn(stack_env, fake_providers, group, port)
    second = None
    try:
        await wait_healthy(port, first)
        rids = [f"{RUN}-crash-{i}" for i in range(N)]
        await send(producer, [prompt(rid, f"crash{RUN}", MODEL, byok_mode="disabled") for rid in rids])
        book = fake_providers.server.book

        def calls() -> int:
            return len(book.find(contains=f"{RUN}-crash-"))

        await wait_until(lambda: calls() >= 200, 30, lambda: f"only {calls()} provider calls started")
        in_flight_at_kill = len(fake_providers.server.book.find(contains=f"{RUN}-crash-")) - sum(
            1 for rid in rids if finals(responses, rid)
        )
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert in_flight_at_kill >= 100, in_flight_at_kill
        second = spawn(stack_env, fake_providers, group, port)
        await responses.until(lambda _: answered(responses, rids), timeout=120)
        await all_usages.wait_for(count=N, settle=1.0)  # and 1 s more, for a duplicate to show
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(30)
    calls = len(fake_providers.server.book.find(contains=f"{RUN}-crash-"))
    print(f"in flight at kill: {in_flight_at_kill}; provider calls: {calls} for {N} requests")
    by_rid = collections.Counter(v["request_id"] for v in responses.values() if v["status"] != "delta")
    assert set(by_rid) == set(rids)
    assert all(finals(responses, rid)[0]["status"] == "completed" for rid in rids)
    event_ids = collections.Counter(u["event_id"] for u in all_usages.values())
    assert len(event_ids) == N and max(event_ids.values()) == 1, event_ids.most_common(3)
    assert second is not None and second.returncode == 0  # SIGTERM: graceful drain, exit 0
