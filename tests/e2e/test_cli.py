"""The `byok` command line against the running services: each command, its output and its exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from byok_testing.waiting import wait_until

pytestmark = pytest.mark.integration

BYOK = str(Path(sys.executable).parent / "byok")


async def byok(services, *argv: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("BYOK_")}
    base.update(
        BYOK_KAFKA_BOOTSTRAP=services["BYOK_KAFKA_BOOTSTRAP"],
        BYOK_KEYVAULT_URL=services["BYOK_KEYVAULT_URL"],
        BYOK_DATABASE_URL=services["BYOK_DATABASE_URL"],
        BYOK_AUTH_JWT_SECRET=services["BYOK_AUTH_JWT_SECRET"],
    )
    base.update(env)
    return await asyncio.to_thread(
        subprocess.run, [BYOK, *argv], input=stdin, env=base, capture_output=True, text=True, timeout=120
    )


async def test_token_keys_add_list_rm(services, tenant) -> None:
    minted = await byok(services, "token", "--tenant", tenant.tenant_id, "--user", tenant.user_id)
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    key = "sk-ant-api03-" + uuid.uuid4().hex * 2

    added = await byok(services, "keys", "add", "anthropic", stdin=key + "\n", BYOK_TOKEN=token)
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("stored user anthropic key ") and "(version 1)" in added.stdout
    rotated = await byok(services, "keys", "add", "anthropic", "--json", stdin=key + "x\n", BYOK_TOKEN=token)
    assert rotated.returncode == 0 and json.loads(rotated.stdout)["action"] == "rotated"
    assert key not in added.stdout + added.stderr + rotated.stdout + rotated.stderr

    listed = await byok(services, "keys", "list", "--token", token)
    assert listed.returncode == 0, listed.stderr
    [line] = [row for row in listed.stdout.splitlines() if row.startswith("anthropic")]
    assert line.split()[:2] == ["anthropic", "user"] and " 2 " in line and "active" in line
    as_json = json.loads((await byok(services, "keys", "list", "--json", BYOK_TOKEN=token)).stdout)
    assert [(k["keyType"], k["version"]) for k in as_json] == [("anthropic", 2)]

    removed = await byok(services, "keys", "rm", "anthropic", BYOK_TOKEN=token)
    assert removed.returncode == 0 and "deleted" in removed.stdout
    again = await byok(services, "keys", "rm", "anthropic", BYOK_TOKEN=token)
    assert again.returncode == 4 and "no user anthropic key" in again.stderr


async def test_keys_errors_have_their_exit_codes(services, tenant) -> None:
    no_token = await byok(services, "keys", "list")
    assert no_token.returncode == 3 and "BYOK_TOKEN" in no_token.stderr
    bad_token = await byok(services, "keys", "list", BYOK_TOKEN="not-a-jwt")
    assert bad_token.returncode == 3 and "401" in bad_token.stderr
    bad_key = await byok(services, "keys", "add", "openai", stdin="sk-short-secret\n", BYOK_TOKEN=tenant.token)
    assert bad_key.returncode == 5 and "invalid_key_format" in bad_key.stderr
    assert "sk-short-secret" not in bad_key.stderr + bad_key.stdout
    empty = await byok(services, "keys", "add", "openai", stdin="", BYOK_TOKEN=tenant.token)
    assert empty.returncode == 2
    unreachable = await byok(services, "keys", "list", BYOK_TOKEN=tenant.token, BYOK_KEYVAULT_URL="http://127.0.0.1:9")
    assert unreachable.returncode == 6 and "cannot reach" in unreachable.stderr
    argv_key = await byok(services, "keys", "add", "openai", "sk-proj-in-argv", BYOK_TOKEN=tenant.token)
    assert argv_key.returncode == 2, "a key is never taken from argv"


async def test_prompt_plain_stream_require_and_key_env(services, tenant, fake) -> None:
    plain = await byok(services, "prompt", "Say hello", "--model", "gpt-4.1", BYOK_TOKEN=tenant.token)
    assert plain.returncode == 0, plain.stderr
    assert "Say hello" in plain.stdout and "key=system" in plain.stderr

    streamed = await byok(
        services,
        "prompt",
        "Tell a story",
        "-m",
        "claude-sonnet-4-5",
        "--stream",
        "--json",
        "--tenant",
        tenant.tenant_id,
    )
    assert streamed.returncode == 0, streamed.stderr
    events = [json.loads(line) for line in streamed.stdout.splitlines()]
    assert [e["status"] for e in events][-1] == "completed" and events[0]["status"] == "delta"
    assert {e["tenant_id"] for e in events} == {tenant.tenant_id}

    refused = await byok(
        services, "prompt", "hi", "-m", "gemini-2.5-flash", "--byok-mode", "require", BYOK_TOKEN=tenant.token
    )
    assert refused.returncode == 1 and "byok_key_required" in refused.stderr

    key = "AIzaSy" + uuid.uuid4().hex[:33]
    with_key = await byok(
        services,
        "prompt",
        "hi",
        "-m",
        "gemini-2.5-flash",
        "--byok-mode",
        "require",
        "--key-env",
        "GEMINI_API_KEY",
        BYOK_TOKEN=tenant.token,
        GEMINI_API_KEY=key,
    )
    assert with_key.returncode == 0, with_key.stderr
    assert "key=request" in with_key.stderr and await fake.calls(api_key=key)
    assert key not in with_key.stdout + with_key.stderr

    missing = await byok(services, "prompt", "hi", "-m", "gpt-4.1", "--key-env", "NOPE_KEY", BYOK_TOKEN=tenant.token)
    assert missing.returncode == 2 and "NOPE_KEY" in missing.stderr
    nobody = await byok(services, "prompt", "hi", "-m", "gpt-4.1")
    assert nobody.returncode == 2 and "--tenant" in nobody.stderr
    no_kafka = await byok(
        services, "prompt", "hi", "-m", "gpt-4.1", "--tenant", "t", "--timeout", "5", BYOK_KAFKA_BOOTSTRAP="127.0.0.1:9"
    )
    assert no_kafka.returncode == 6 and "cannot reach Kafka" in no_kafka.stderr


async def test_prompt_timeout(services, tenant, fake) -> None:
    await fake.add_rules({"action": "ok", "model": "gpt-4.1-nano", "latency_ms": 3000, "times": 1})
    late = await byok(services, "prompt", "hi", "-m", "gpt-4.1-nano", "--timeout", "0.5", BYOK_TOKEN=tenant.token)
    assert late.returncode == 124 and "within 0.5 s" in late.stderr


async def test_usage_and_charges_tail(services, tenant) -> None:
    for model in ("gpt-4.1", "claude-sonnet-4-5"):
        ran = await byok(services, "prompt", "hi", "-m", model, "-q", BYOK_TOKEN=tenant.token)
        assert ran.returncode == 0, ran.stderr

    async def tail(*argv: str) -> subprocess.CompletedProcess[str]:
        return await byok(services, "charges", "tail", "--tenant", tenant.tenant_id, "--since", "10m", *argv)

    async def both_charged() -> subprocess.CompletedProcess[str] | None:  # billing prices them in a second or two
        table = await tail("--no-follow")
        return table if len(table.stdout.splitlines()) >= 3 else None

    table = await wait_until(both_charged, 60, "the two charges are not listed", interval=1)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[:2] == ["billed_at", "tenant_id"] and len(rows) == 2
    assert {r.split()[3] for r in rows} == {"openai", "anthropic"}
    jsonl = await tail("--format", "jsonl", "--limit", "2")
    charges = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert len(charges) == 2 and len({c["event_id"] for c in charges}) == 2
    assert all(c["tenant_id"] == tenant.tenant_id and c["schema"] == "byok.billing.charge/v1" for c in charges)

    usage = await byok(services, "usage", "--tenant", tenant.tenant_id, "--group-by", "provider", "--format", "json")
    assert usage.returncode == 0, usage.stderr
    report = json.loads(usage.stdout)
    text = json.dumps(report)
    assert "openai" in text and "anthropic" in text
    bad = await byok(services, "charges", "tail", "--since", "yesterday")
    assert bad.returncode == 2 and "--since" in bad.stderr


async def test_env_exports_the_running_stack(services) -> None:
    done = await byok(services, "env", "--run-dir", services["E2E_RUN_DIR"])
    assert done.returncode == 0, done.stderr
    exported = dict(line.removeprefix("export ").split("=", 1) for line in done.stdout.splitlines())
    assert exported["BYOK_KAFKA_BOOTSTRAP"] == services["BYOK_KAFKA_BOOTSTRAP"]
    assert exported["BYOK_KEYVAULT_URL"] == services["BYOK_KEYVAULT_URL"]
    minted = await byok(services, "token", "--tenant", "t1", "--user", "u1", BYOK_AUTH_JWT_SECRET="")
    assert minted.returncode == 2 and "BYOK_AUTH_JWT_SECRET" in minted.stderr
