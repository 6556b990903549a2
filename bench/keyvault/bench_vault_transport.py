"""Which transport for Vault KV v2: byok_core.vault.VaultClient (aiohttp) or hvac (requests) in threads.

Against the running stack's Vault ($BYOK_RUN_DIR/stack.env): N reads of one secret with C in flight, for
each transport; prints calls/s and this process's CPU per call (what the services pay per Vault call).

    uv run python bench/keyvault/bench_vault_transport.py [--calls 3000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import hvac
from byok_core.settings import VaultSettings
from byok_core.vault import VaultClient

REPO = Path(__file__).resolve().parents[2]


def stack_env() -> dict[str, str]:
    path = Path(os.environ.get("BYOK_RUN_DIR", REPO / ".run")) / "stack.env"
    pairs = (line.partition("=") for line in path.read_text().splitlines() if "=" in line and line[0] != "#")
    return {k.strip(): v.strip() for k, _, v in pairs}


async def measure(name: str, calls: int, concurrency: int, read: Callable[[], Awaitable[object]]) -> None:
    for _ in range(50):  # warm up connections and threads
        await read()
    queue = iter(range(calls))

    async def worker() -> None:
        for _ in queue:
            await read()

    began, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    print(
        f"{name:28s} calls={calls} in_flight={concurrency:3d} {calls / elapsed:8.0f} calls/s "
        f"cpu={cpu * 1000 / calls:5.2f} ms/call",
        flush=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    env = stack_env()
    addr, token = env["BYOK_VAULT_ADDR"], env["BYOK_VAULT_ROOT_TOKEN"]
    path = f"bench/transport-{uuid.uuid4().hex[:8]}"
    sync = hvac.Client(url=addr, token=token)
    sync.secrets.kv.v2.create_or_update_secret(path=path, secret={"api_key": "x" * 64}, mount_point="byok")
    try:

        async def hvac_read() -> object:
            return await asyncio.to_thread(
                sync.secrets.kv.v2.read_secret_version, path=path, mount_point="byok", raise_on_deleted_version=True
            )

        await measure("hvac (requests) in threads", args.calls, args.concurrency, hvac_read)
        async with VaultClient(VaultSettings(addr=addr, token=token)) as client:
            await measure("VaultClient (aiohttp)", args.calls, args.concurrency, lambda: client.read(path))
    finally:
        sync.secrets.kv.v2.delete_metadata_and_all_versions(path=path, mount_point="byok")


if __name__ == "__main__":
    asyncio.run(main())
