"""Every component killed under load, on the real stack: nothing lost, nothing billed twice.

Each scenario publishes 1,200 prompts at 400/s to the supervised pipeline (fake provider at 200 ms, so
hundreds are in flight in the worker and the rest wait in Kafka), injects one fault mid-stream and checks
the promises of docs/reliability.md (harness.Run.finish). The figures are printed as a table at the end
(tests/faults/conftest.py) and appended to $BYOK_RUN_DIR/faults.md.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .harness import (
    PROVIDER_LATENCY_MS,
    REPO,
    TABLE,
    Figures,
    Pipeline,
    Run,
    free_port,
    http_ok,
    run_folder,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def pipeline(stack_env: dict[str, str]) -> AsyncIterator[Pipeline]:
    run_dir = run_folder(stack_env, "faults-run")
    shutil.copy(Path(stack_env["BYOK_RUN_DIR"]) / "stack.env", run_dir / "stack.env")
    running = Pipeline(stack_env, run_dir, {"BYOK_INFERENCE_MAX_IN_FLIGHT": "256"})
    await asyncio.to_thread(running.up)
    try:
        await running.fake().set_latency(PROVIDER_LATENCY_MS)
        yield running
    finally:
        await asyncio.to_thread(running.down)


async def kill_and_restart(pipeline: Pipeline, name: str, url_key: str, scenario: str) -> Figures:
    run = Run(pipeline, scenario)
    await run.start()
    await run.wait_until_answered(0.15)
    await run.read_in_flight(pipeline.coordinates["BYOK_INFERENCE_OPS_URL"])
    run.mark_fault()
    old = pipeline.kill9(name)
    await pipeline.wait_restarted(name, old, url_key)
    figures = await run.finish()
    TABLE.append(figures)
    return figures


async def test_kill9_of_the_inference_worker_mid_stream(pipeline: Pipeline) -> None:
    figures = await kill_and_restart(pipeline, "inference", "BYOK_INFERENCE_OPS_URL", "kill -9 inference")
    assert figures.in_flight > 0, "the fault did not hit work in flight"


async def test_kill9_of_billing_mid_stream(pipeline: Pipeline) -> None:
    figures = await kill_and_restart(pipeline, "billing", "BYOK_BILLING_OPS_URL", "kill -9 billing")
    assert figures.duplicate_calls == 0


async def test_kill9_of_the_keyvault_service_mid_stream(pipeline: Pipeline) -> None:
    figures = await kill_and_restart(pipeline, "keyvault", "BYOK_KEYVAULT_URL", "kill -9 keyvault")
    assert figures.duplicate_calls == 0


async def test_two_then_three_workers_one_added_one_killed(pipeline: Pipeline) -> None:
    second_port, third_port = free_port(), free_port()
    second = pipeline.spawn_worker(second_port)

    async def second_ready() -> bool:
        return await http_ok(f"http://127.0.0.1:{second_port}/healthz")

    await wait_for(second_ready, 60, "the second worker")
    run = Run(pipeline, "workers 2 -> 3, one killed", prompts=1500)
    await run.start()
    await run.wait_until_answered(0.2)
    pipeline.spawn_worker(third_port)  # a rebalance with work in flight
    await run.wait_until_answered(0.45)
    await run.read_in_flight(f"http://127.0.0.1:{second_port}")
    run.mark_fault()
    second.kill()
    figures = await run.finish()
    TABLE.append(figures)


async def test_postgresql_restarted_mid_stream(pipeline: Pipeline) -> None:
    env = {**os.environ, "BYOK_RUN_DIR": pipeline.stack_env["BYOK_RUN_DIR"]}
    run = Run(pipeline, "PostgreSQL restart")
    await run.start()
    await run.wait_until_answered(0.2)
    run.mark_fault()
    done = await asyncio.to_thread(
        subprocess.run,
        [str(REPO / "infra/postgres/pg.sh"), "restart"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = await run.finish()
    TABLE.append(figures)


def test_the_supervisor_counts_the_restarts_it_made(pipeline: Pipeline) -> None:
    """After the kill -9 scenarios, the supervisor's status shows a restart of each service killed."""
    status = pipeline.services("status").stdout
    for name in ("inference", "billing", "keyvault"):
        assert re.search(rf"^{name}: running .*restarts: [1-9]", status, re.M), status
