"""Faults of what the services stand on: a broker and the controller quorum leader of a three-broker cluster
killed and restarted mid-stream, and Vault (durable: sealed on restart, unsealed by the stack's script)
restarted mid-stream. Same load and checks as test_faults.py; figures into the same table.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .harness import PROVIDER_LATENCY_MS, REPO, TABLE, Pipeline, Run, free_port, read_env, run_folder

pytestmark = pytest.mark.integration

KAFKA_SH = REPO / "infra/kafka/kafka.sh"
VAULT_SH = REPO / "infra/vault/vault.sh"


def script(run_dir: Path, *command: str, env: dict[str, str] | None = None) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BYOK_")}
    done = subprocess.run(
        [str(c) for c in command],
        env={**clean, "BYOK_RUN_DIR": str(run_dir), **(env or {})},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def write_stack_env(run_dir: Path, values: dict[str, str]) -> None:
    (run_dir / "stack.env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    (run_dir / "stack.env").chmod(0o600)


async def pipeline_on(stack: dict[str, str], run_dir: Path, extra: dict[str, str]) -> Pipeline:
    services_dir = run_dir / "services"
    services_dir.mkdir()
    write_stack_env(services_dir, stack)
    pipeline = Pipeline(stack, services_dir, {"BYOK_INFERENCE_MAX_IN_FLIGHT": "256", **extra})
    await asyncio.to_thread(pipeline.up)
    await pipeline.fake().set_latency(PROVIDER_LATENCY_MS)
    return pipeline


@pytest.fixture(scope="module")
async def cluster(stack_env: dict[str, str]) -> AsyncIterator[tuple[Pipeline, Path]]:
    """A three-node KRaft cluster (every node broker and controller; RF 3, min.insync.replicas 2) of its own,
    with the main stack's Vault and PostgreSQL."""
    run_dir = run_folder(stack_env, "faults-cluster")
    try:
        await asyncio.to_thread(script, run_dir, KAFKA_SH, "start", "--brokers", "3")
        await asyncio.to_thread(script, run_dir, KAFKA_SH, "create-topics")
        bootstrap = read_env(run_dir / "kafka.env")["BYOK_KAFKA_BOOTSTRAP"]
        pipeline = await pipeline_on({**stack_env, "BYOK_KAFKA_BOOTSTRAP": bootstrap}, run_dir, {})
        try:
            yield pipeline, run_dir
        finally:
            await asyncio.to_thread(pipeline.down)
    finally:
        await asyncio.to_thread(script, run_dir, KAFKA_SH, "stop")


def node_pid(run_dir: Path, node: int) -> int:
    return int((run_dir / "kafka" / f"{node}.pid").read_text().strip())


def quorum_leader(run_dir: Path) -> int:
    bootstrap = read_env(run_dir / "kafka.env")["BYOK_KAFKA_BOOTSTRAP"]
    out = script(
        run_dir,
        KAFKA_SH,
        "tool",
        "org.apache.kafka.tools.MetadataQuorumCommand",
        "--bootstrap-server",
        bootstrap,
        "describe",
        "--status",
    )
    found = re.search(r"LeaderId:\s+(\d+)", out)
    assert found, out
    return int(found.group(1))


async def kill_node_and_restart(cluster: tuple[Pipeline, Path], node: int | None, scenario: str) -> None:
    pipeline, run_dir = cluster
    run = Run(pipeline, scenario)
    await run.start()
    await run.wait_until_answered(0.2)
    victim = node if node is not None else await asyncio.to_thread(quorum_leader, run_dir)
    run.mark_fault()
    os.kill(node_pid(run_dir, victim), signal.SIGKILL)
    run.figures.notes.append(f"node {victim} killed")
    await run.wait_until_answered(0.6, timeout=90)  # the cluster serves on two nodes
    await asyncio.to_thread(script, run_dir, KAFKA_SH, "start", "--brokers", "3")  # starts the missing node
    TABLE.append(await run.finish())
    assert await asyncio.to_thread(quorum_leader, run_dir) in (1, 2, 3), "the quorum has no leader after the restart"


async def test_a_broker_killed_and_restarted_mid_stream(cluster: tuple[Pipeline, Path]) -> None:
    pipeline, run_dir = cluster
    leader = await asyncio.to_thread(quorum_leader, run_dir)
    not_leader = next(n for n in (1, 2, 3) if n != leader)
    await kill_node_and_restart(cluster, not_leader, "cluster: broker killed, restarted")


async def test_the_controller_quorum_leader_killed_mid_stream(cluster: tuple[Pipeline, Path]) -> None:
    await kill_node_and_restart(cluster, None, "cluster: quorum leader killed")


@pytest.fixture
async def durable_vault(stack_env: dict[str, str]) -> AsyncIterator[tuple[Pipeline, Path, dict[str, str]]]:
    """A durable Vault of its own (file storage; a restart comes back sealed and is unsealed by vault.sh),
    bootstrapped by the stack's script, with the main stack's Kafka and PostgreSQL."""
    run_dir = run_folder(stack_env, "faults-vault")
    port = {"BYOK_VAULT_PORT": str(free_port())}
    try:
        await asyncio.to_thread(script, run_dir, VAULT_SH, "start-durable", env=port)
        await asyncio.to_thread(script, run_dir, VAULT_SH, "bootstrap")
        vault = {k: v for k, v in read_env(run_dir / "vault.env").items() if k != "BYOK_VAULT_ROOT_TOKEN"}
        stack = {k: v for k, v in stack_env.items() if not k.startswith("BYOK_VAULT_")} | vault
        # Keys are re-read from Vault every second, so the restart is felt by the worker (its reads fail), not
        # hidden by a fresh cache entry.
        pipeline = await pipeline_on(stack, run_dir, {"BYOK_INFERENCE_KEY_CACHE_TTL_SECONDS": "1"})
        try:
            yield pipeline, run_dir, port
        finally:
            await asyncio.to_thread(pipeline.down)
    finally:
        await asyncio.to_thread(script, run_dir, VAULT_SH, "stop")


async def test_vault_restarted_sealed_then_unsealed_mid_stream(
    durable_vault: tuple[Pipeline, Path, dict[str, str]],
) -> None:
    pipeline, run_dir, port = durable_vault
    run = Run(pipeline, "Vault restart (durable)")
    await run.start()
    await run.wait_until_answered(0.2)
    run.mark_fault()
    await asyncio.to_thread(script, run_dir, VAULT_SH, "stop")
    await asyncio.sleep(1)  # the outage itself: Vault stays down for a second before it is started again
    await asyncio.to_thread(script, run_dir, VAULT_SH, "start-durable", env=port)
    # The worker read the platform's key before the outage; while Vault is down or sealed it keeps using that
    # last-known key (BYOK_INFERENCE_KEY_STALE_IF_UNAVAILABLE_SECONDS), so no prompt fails. A key it never read
    # would be answered key_store_unavailable (never a silent fallback to another key).
    figures = await run.finish()
    TABLE.append(figures)
