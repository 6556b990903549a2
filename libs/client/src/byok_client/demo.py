"""`make run`: a demo round trip through the running stack and services.

Stores a user key through the key-vault API, sends three prompts (a stored user key, the platform's
system key, a sealed request key), then runs a tool-calling round trip (the model asks for a tool, the
demo runs it and sends the result back, the model finishes), and prints each response and the priced
charge billing made of it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import jwt
from aiokafka import AIOKafkaConsumer
from byok_events import Charge, topics

from .client import ByokClient
from .config import KafkaConfig

RUN_DIR = Path(os.environ.get("BYOK_RUN_DIR", Path.cwd() / ".run"))


def _env_file(name: str) -> dict[str, str]:
    path = RUN_DIR / name
    if not path.exists():
        sys.exit(f"{path} is missing: start the stack and services first (make up)")
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def _kafka(stack: dict[str, str], principal: str) -> KafkaConfig:
    """The stack's Kafka as this principal (.run/clients/<principal>.env when the stack writes one)."""
    values = dict(stack)
    if (RUN_DIR / "clients" / f"{principal}.env").exists():
        values.update(_env_file(f"clients/{principal}.env"))
    return KafkaConfig.from_env(values)


def _token(secret: str, tenant: str, user: str, role: str = "member") -> str:
    now = int(time.time())
    claims = {"sub": user, "tenant": tenant, "role": role, "iat": now, "exp": now + 600}
    return jwt.encode(claims, secret, algorithm="HS256")


async def _charges(kafka: KafkaConfig, tenant: str, wanted: int, ready: asyncio.Event) -> list[Charge]:
    consumer = AIOKafkaConsumer(
        topics.BILLING_CHARGES,
        **kafka.aiokafka_options(),
        group_id=f"analyst-demo-{uuid.uuid4().hex[:8]}",  # SASL mode: the analyst may use only groups named analyst*
        auto_offset_reset="latest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[Charge] = []
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        for tp in consumer.assignment():
            await consumer.position(tp)
        ready.set()
        while len(found) < wanted:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    charge = Charge.model_validate(json.loads(record.value))
                    if charge.tenant_id == tenant:
                        found.append(charge)
    finally:
        await consumer.stop()
    return found


def _coordinates() -> tuple[str, str, KafkaConfig, KafkaConfig]:
    """(key-vault URL, JWT secret, producer and analyst Kafka settings): from the environment when it
    names them (docker compose's demo profile: the producer's login in BYOK_KAFKA_*, the analyst's password
    in the file BYOK_DEMO_ANALYST_PASSWORD_FILE), else from the local stack's .run/ files."""
    if os.environ.get("BYOK_KEYVAULT_URL") and os.environ.get("BYOK_AUTH_JWT_SECRET"):
        kafka, analyst = KafkaConfig.from_env(), KafkaConfig.from_env()
        if os.environ.get("BYOK_DEMO_ANALYST_PASSWORD_FILE"):
            as_analyst = {"BYOK_KAFKA_SASL_USERNAME": "analyst", "BYOK_KAFKA_SASL_PASSWORD": ""}
            as_analyst["BYOK_KAFKA_SASL_PASSWORD_FILE"] = os.environ["BYOK_DEMO_ANALYST_PASSWORD_FILE"]
            analyst = KafkaConfig.from_env({**os.environ, **as_analyst})
        return os.environ["BYOK_KEYVAULT_URL"], os.environ["BYOK_AUTH_JWT_SECRET"], kafka, analyst
    stack, services = _env_file("stack.env"), _env_file("services.env")
    return (
        services["BYOK_KEYVAULT_URL"],
        services["BYOK_AUTH_JWT_SECRET"],
        _kafka(stack, "producer"),
        _kafka(stack, "analyst"),
    )


async def main() -> None:
    keyvault, secret, kafka, analyst = _coordinates()
    tenant, user = f"demo-{uuid.uuid4().hex[:6]}", "u_42"
    token = _token(secret, tenant, user)

    print(f"tenant {tenant}, user {user}")
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        body = {"keyType": "anthropic", "apiKey": "sk-ant-api03-demo-user-key-" + uuid.uuid4().hex, "scope": "user"}
        async with http.post(f"{keyvault}/api/user-api-keys", json=body) as answer:
            stored = await answer.json()
            print(f"stored the user's Anthropic key: HTTP {answer.status} {stored}")

    ready = asyncio.Event()
    charges_task = asyncio.create_task(_charges(analyst, tenant, 5, ready))
    await asyncio.wait_for(ready.wait(), 30)

    prompts = [
        ("user key", {"model": "claude-sonnet-4-5"}, None),
        ("system key", {"model": "gpt-4.1"}, None),
        ("sealed request key", {"model": "gemini-2.5-flash"}, {"gemini": "AIzaSy" + uuid.uuid4().hex[:33]}),
    ]
    async with ByokClient(kafka=kafka, keyvault_url=keyvault, user_token=token) as client:
        waiters = []
        for label, fields, request_keys in prompts:
            request = {
                "tenant_id": tenant,
                "user_id": user,
                "messages": [{"role": "user", "content": "Say hello"}],
                **fields,
            }
            waiters.append((label, await client.submit(request, user_api_keys=request_keys)))
        for label, waiter in waiters:
            response = await asyncio.wait_for(waiter, 60)
            print(
                f"\n[{label}] {response.status}: provider={response.provider} model={response.model} "
                f"route={response.route} key_source={response.key_source}"
            )
            print(f"  output: {response.output_text!r}")
            print(f"  usage: {response.usage.model_dump() if response.usage else None}  error: {response.error}")

        await _tool_round_trip(client, tenant, user)

    charges = await asyncio.wait_for(charges_task, 60)
    print("\npriced charges (byok.billing.charges):")
    for charge in sorted(charges, key=lambda c: c.key_source):
        print(
            f"  {charge.provider:10} {charge.model:22} key_source={charge.key_source:7} "
            f"provider_cost=${charge.provider_cost:f} markup_rate={charge.markup_rate:f} charge=${charge.charge:f} "
            f"priced={charge.priced}"
        )


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def get_weather(city: str) -> dict[str, object]:
    """The demo's tool: what an agent would run on its side when the model asks for it."""
    return {"city": city, "sky": "clear", "celsius": 19}


async def _tool_round_trip(client: ByokClient, tenant: str, user: str) -> None:
    messages: list[dict[str, object]] = [{"role": "user", "content": "What is the weather in Lisbon?"}]
    options = {"tenant_id": tenant, "user_id": user, "tools": [WEATHER_TOOL]}
    print("\n[tool round trip] 1. the model is offered get_weather")
    first = await client.complete("claude-sonnet-4-5", messages, **options)
    if not first.tool_calls:
        print(f"  unexpected answer: {first.finish_reason} {first.output_text!r}")
        return
    call = first.tool_calls[0]
    print(f"  finish_reason={first.finish_reason}: it asks for {call.function.name}({call.function.arguments})")
    result = get_weather(**json.loads(call.function.arguments))
    print(f"2. the producer runs the tool and answers: {result}")
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)},
    ]
    second = await client.complete("claude-sonnet-4-5", messages, **options)
    print(f"3. the model finishes: finish_reason={second.finish_reason} output: {second.output_text!r}")


if __name__ == "__main__":
    asyncio.run(main())
