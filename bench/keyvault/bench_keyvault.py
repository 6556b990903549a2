"""Benchmark of the key-vault service against the real Vault and Kafka of the running stack.

Starts `python -m byok_keyvault` (a separate process, as in production) on a free port with the stack's
coordinates ($BYOK_RUN_DIR/stack.env, default .run/stack.env), then measures with N concurrent clients:
  list  : GET  /api/user-api-keys   (a user holding 3 keys: 1 Vault LIST + 3 Vault reads per call)
  store : POST /api/user-api-keys   (rotation: Vault read + check-and-set write + Kafka event, acks=all)
Prints requests/s, p50, p99 (ms) for each.

    uv run python bench/keyvault/bench_keyvault.py [--clients 16] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import jwt

REPO = Path(__file__).resolve().parents[2]
SECRET = "bench-secret-" + secrets.token_hex(16)


def stack_env() -> dict[str, str]:
    path = Path(os.environ.get("BYOK_RUN_DIR", REPO / ".run")) / "stack.env"
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.removeprefix("export ").partition("=")
            values[key.strip()] = value.strip().strip("'\"")
    return values


def token(user: str, tenant: str) -> str:
    now = int(time.time())
    claims = {"sub": user, "tenant": tenant, "role": "member", "iat": now, "exp": now + 3600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def anthropic_key() -> str:
    return "sk-ant-api03-" + secrets.token_urlsafe(72)


def start_service(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "byok_keyvault"], env=env, stderr=log, stdout=log)


async def wait_ready(url: str, proc: subprocess.Popen, within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"the service exited with {proc.returncode}")
            try:
                async with session.get(url + "/healthz") as r:
                    if r.status == 200 and (await r.json()).get("kafka"):
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the service did not become ready")


async def run_phase(name: str, url: str, clients: int, seconds: float, make_request) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client(index: int) -> None:
            nonlocal errors
            while time.monotonic() < stop_at:
                method, path, headers, body = make_request(index)
                started = time.perf_counter()
                async with session.request(method, url + path, headers=headers, json=body) as r:
                    await r.read()
                    if r.status >= 300:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        began = time.monotonic()
        await asyncio.gather(*(client(i) for i in range(clients)))
        elapsed = time.monotonic() - began
    latencies.sort()
    result = {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "errors": errors,
    }
    print(
        f"{name:6s} clients={clients:3d} requests={result['requests']:6d} rps={result['rps']:8.1f} "
        f"p50={result['p50_ms']:7.2f} ms p99={result['p99_ms']:7.2f} ms errors={errors}",
        flush=True,
    )
    return result


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    env = stack_env()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = tempfile.mkdtemp(prefix="kv-bench-")
    child_env = {
        **os.environ,
        "BYOK_KAFKA_BOOTSTRAP": env["BYOK_KAFKA_BOOTSTRAP"],
        "BYOK_VAULT_ADDR": env["BYOK_VAULT_ADDR"],
        "BYOK_VAULT_TOKEN": env["BYOK_VAULT_TOKEN_KEYVAULT"],
        "BYOK_AUTH_JWT_SECRET": SECRET,
        "BYOK_KEYVAULT_PORT": str(port),
        "BYOK_KEYVAULT_OUTBOX_PATH": f"{tmp}/outbox.sqlite3",
        "BYOK_KEYVAULT_CONSUMER_GROUP": f"byok-keyvault-bench-{uuid.uuid4().hex[:8]}",
        "BYOK_LOG_LEVEL": "INFO",
    }
    log_path = Path(tmp) / "service.log"
    proc = start_service(child_env, log_path)
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(url, proc)
        tenant = f"bench-{uuid.uuid4().hex[:8]}"
        users = [f"u{i}" for i in range(args.clients)]
        headers = {u: {"authorization": "Bearer " + token(u, tenant)} for u in users}
        async with aiohttp.ClientSession() as session:  # every user holds 3 keys
            for u in users:
                for key_type, key in (
                    ("anthropic", anthropic_key()),
                    ("openai", "sk-proj-" + secrets.token_urlsafe(96)),
                    ("openrouter", "sk-or-v1-" + secrets.token_hex(32)),
                ):
                    async with session.post(
                        url + "/api/user-api-keys",
                        headers=headers[u],
                        json={"keyType": key_type, "apiKey": key},
                    ) as r:
                        assert r.status == 201, await r.text()
        print(f"key-vault service pid={proc.pid}, Vault {env['BYOK_VAULT_ADDR']}, Kafka {env['BYOK_KAFKA_BOOTSTRAP']}")
        await run_phase(
            "list",
            url,
            args.clients,
            args.seconds,
            lambda i: ("GET", "/api/user-api-keys", headers[users[i]], None),
        )
        await run_phase(
            "store",
            url,
            args.clients,
            args.seconds,
            lambda i: (
                "POST",
                "/api/user-api-keys",
                headers[users[i]],
                {"keyType": "anthropic", "apiKey": anthropic_key()},
            ),
        )
    finally:
        proc.terminate()  # SIGTERM: graceful shutdown
        code = proc.wait(timeout=30)
        print(f"service stopped with exit code {code} (log: {log_path})")


if __name__ == "__main__":
    asyncio.run(main())
