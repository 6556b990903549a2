"""Who may spend a key, against the real Kafka and Vault: the user's token on stored keys, de-duplication per
(tenant_id, request_id), and no unpriced model on the platform's key. The token never leaks (canary)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import hvac
import jwt
import pytest
from aiokafka import AIOKafkaProducer
from byok_core.auth import AuthSettings
from byok_core.vault import VaultClient
from byok_core.vault.key_codec import org_key_path, user_key_path
from byok_events import topics
from byok_inference.main import Worker
from byok_testing.fake_providers import RunningFakeProviders
from byok_testing.topics import TopicTail
from byok_testing.waiting import wait_until
from pydantic import SecretStr
from support.inference import (
    RUN,
    SYSTEM_KEYS,
    answered,
    expected_system_key,
    finals,
    prompt,
    put_key,
    start_worker,
    stop_worker,
    worker_settings,
)

pytestmark = pytest.mark.integration

SECRET = "itest-user-token-secret-" + uuid.uuid4().hex


def user_token(sub: str, tenant: str, *, ttl: int = 600, secret: str = SECRET) -> str:
    now = int(time.time())
    return jwt.encode(
        {"sub": sub, "tenant": tenant, "role": "member", "iat": now, "exp": now + ttl}, secret, algorithm="HS256"
    )


class RawLogs(logging.Handler):
    """Every log record as emitted, message, arguments and extra fields included (before any redaction)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(text + " " + " ".join(f"{k}={v}" for k, v in vars(record).items()))


@pytest.fixture(scope="module")
def logs() -> Iterator[RawLogs]:
    handler, root = RawLogs(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="module")
async def worker(
    stack_env: dict[str, str], fake_providers: RunningFakeProviders, logs: RawLogs
) -> AsyncIterator[Worker]:
    settings = worker_settings(
        stack_env,
        fake_providers,
        f"itest-{RUN}-trust",
        SYSTEM_KEYS,
        user_auth="required",
        auth=AuthSettings(jwt_secret=SecretStr(SECRET)),
    )
    w, task = await start_worker(settings)
    yield w
    await stop_worker(w, task)


async def send_with(producer: AIOKafkaProducer, body: dict[str, Any], token: str | None) -> None:
    headers = [("byok-user-token", token.encode())] if token is not None else None
    await producer.send_and_wait(
        topics.PROMPT_REQUESTS, json.dumps(body).encode(), key=body["request_id"].encode(), headers=headers
    )


async def test_a_stored_key_is_spent_only_with_its_users_token(
    fake_providers: RunningFakeProviders,
    vault_root: VaultClient,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    usages: TopicTail,
    worker: Worker,
) -> None:
    tenant = f"auth{RUN}"
    user_key, org_key = f"user-key-{RUN}", f"org-key-{RUN}"
    await put_key(vault_root, user_key_path(tenant, "u1", "openai"), user_key)
    await put_key(vault_root, org_key_path(tenant, "anthropic"), org_key)
    cases = {
        # request id suffix: (model, token, expected status, expected key)
        "none": ("gpt-4.1", None, "unauthorized", None),
        "valid": ("gpt-4.1", user_token("u1", tenant), "completed", user_key),
        "other-user": ("gpt-4.1", user_token("u2", tenant), "unauthorized", None),
        "other-tenant": ("gpt-4.1", user_token("u1", tenant + "x"), "unauthorized", None),
        "forged": ("gpt-4.1", user_token("u1", tenant, secret="not-the-secret-0123456789abcdef"), "unauthorized", None),
        "expired": ("gpt-4.1", user_token("u1", tenant, ttl=-60), "unauthorized", None),
        "org-none": ("claude-sonnet-4-5", None, "unauthorized", None),
        "org-valid": ("claude-sonnet-4-5", user_token("u1", tenant), "completed", org_key),
        # no stored key for this provider: the system key needs no token
        "system": (
            "gemini-2.5-flash",
            None,
            "completed",
            await expected_system_key(vault_root, "gemini", SYSTEM_KEYS["gemini"]),
        ),
    }
    try:
        for suffix, (model, token, _, _) in cases.items():
            await send_with(producer, prompt(f"{RUN}-auth-{suffix}", tenant, model), token)
        await responses.until(lambda _: answered(responses, [f"{RUN}-auth-{s}" for s in cases]), timeout=60)
        for suffix, (_, _, expected, key) in cases.items():
            rid = f"{RUN}-auth-{suffix}"
            [final] = finals(responses, rid)
            calls = fake_providers.server.book.find(contains=f"<{rid}>")
            if expected == "completed":
                assert final["status"] == "completed", (suffix, final)
                assert [c.api_key for c in calls] == [key], suffix
            else:
                assert final["status"] == "failed" and final["error"]["code"] == "unauthorized", (suffix, final)
                assert calls == [], f"{suffix}: no provider call, no fallback to the system key"
        paid = {f"{RUN}-auth-valid", f"{RUN}-auth-org-valid", f"{RUN}-auth-system"}
        await usages.until(lambda values: paid <= {u["request_id"] for u in values})
        charged = {u["request_id"] for u in usages.values() if u["tenant_id"] == tenant}
        assert charged == paid
    finally:
        await vault_root.destroy(user_key_path(tenant, "u1", "openai"))
        await vault_root.destroy(org_key_path(tenant, "anthropic"))


async def test_without_a_token_a_deleted_or_rejected_stored_key_does_not_block_the_system_key(
    stack_env: dict[str, str],
    fake_providers: RunningFakeProviders,
    vault_root: VaultClient,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    worker: Worker,
) -> None:
    """Such a key would not have been used (it counts as absent), so the prompt needs no token: the worker
    learns this from Vault's metadata alone."""
    tenant = f"gone{RUN}"
    deleted, rejected = user_key_path(tenant, "u1", "openai"), org_key_path(tenant, "openai")
    await put_key(vault_root, deleted, f"deleted-{RUN}")
    await put_key(vault_root, rejected, f"rejected-{RUN}")
    root = hvac.Client(url=stack_env["BYOK_VAULT_ADDR"], token=stack_env["BYOK_VAULT_ROOT_TOKEN"])
    root.secrets.kv.v2.delete_latest_version_of_secret(path=deleted, mount_point=vault_root.kv_mount)
    await vault_root.set_custom_metadata(rejected, {"invalid_version": "1"})
    rid = f"{RUN}-gone"
    try:
        await send_with(producer, prompt(rid, tenant, "gpt-4.1"), None)
        await responses.until(lambda _: bool(finals(responses, rid)))
        [final] = finals(responses, rid)
        assert final["status"] == "completed" and final["key_source"] == "system", final
        assert [c.api_key for c in fake_providers.server.book.find(contains=f"<{rid}>")] == [
            await expected_system_key(vault_root, "openai", SYSTEM_KEYS["openai"])
        ]
    finally:
        await vault_root.destroy(deleted)
        await vault_root.destroy(rejected)


async def test_tenant_b_reusing_tenant_as_request_id_is_answered(
    fake_providers: RunningFakeProviders,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    usages: TopicTail,
    worker: Worker,
) -> None:
    rid = f"{RUN}-shared-id"
    tenant_a, tenant_b = f"ta{RUN}", f"tb{RUN}"
    await send_with(producer, prompt(rid, tenant_a, "gpt-4.1", byok_mode="disabled"), None)
    await responses.until(lambda _: len(finals(responses, rid)) == 1)
    await send_with(producer, prompt(rid, tenant_b, "gpt-4.1", byok_mode="disabled"), None)
    await send_with(producer, prompt(rid, tenant_a, "gpt-4.1", byok_mode="disabled"), None)  # A's duplicate
    await responses.until(lambda _: len(finals(responses, rid)) >= 2)
    await asyncio.sleep(1.5)  # time enough for A's duplicate to be answered, were it not dropped
    answered = sorted((f["tenant_id"], f["status"]) for f in finals(responses, rid))
    assert answered == [(tenant_a, "completed"), (tenant_b, "completed")], "B answered once, A's duplicate dropped"
    assert len(fake_providers.server.book.find(contains=f"<{rid}>")) == 2
    events = [u for u in usages.values() if u["request_id"] == rid]
    assert sorted(u["tenant_id"] for u in events) == [tenant_a, tenant_b]
    assert len({u["event_id"] for u in events}) == 2, "two usage events that billing charges separately"


async def test_an_unpriced_model_on_the_system_key_fails_before_any_provider_call(
    fake_providers: RunningFakeProviders,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    usages: TopicTail,
    worker: Worker,
) -> None:
    tenant = f"price{RUN}"
    unpriced, priced = f"{RUN}-unpriced", f"{RUN}-priced"
    await send_with(producer, prompt(unpriced, tenant, "gpt-unpriced-9000", byok_mode="disabled"), None)
    await send_with(producer, prompt(priced, tenant, "gpt-4.1", byok_mode="disabled"), None)
    await responses.until(lambda _: bool(finals(responses, unpriced) and finals(responses, priced)))
    [final] = finals(responses, unpriced)
    assert final["status"] == "failed" and final["error"]["code"] == "model_not_priced", final
    assert final["key_source"] == "system"
    assert fake_providers.server.book.find(contains=f"<{unpriced}>") == []
    assert finals(responses, priced)[0]["status"] == "completed"
    assert await usages.absent_for(0.5, lambda u: u["request_id"] == unpriced) == []


async def test_the_user_token_appears_in_no_log_topic_or_dead_letter(
    kafka_bootstrap: str,
    fake_providers: RunningFakeProviders,
    vault_root: VaultClient,
    producer: AIOKafkaProducer,
    responses: TopicTail,
    logs: RawLogs,
    worker: Worker,
) -> None:
    """Canary tokens (valid, another user's, expired, and one on a record that goes to the DLQ) are found
    nowhere but in the request records that carried them. Positive control: the request topic's headers."""
    tenant = f"canary{RUN}"
    await put_key(vault_root, user_key_path(tenant, "u1", "openai"), f"canary-user-key-{RUN}")
    everything = await TopicTail(kafka_bootstrap, *topics.ALL_TOPICS).start()
    try:
        tokens = {
            "valid": user_token("u1", tenant),
            "other": user_token("u2", tenant),
            "expired": user_token("u1", tenant, ttl=-60),
        }
        for name, token in tokens.items():
            await send_with(producer, prompt(f"{RUN}-canary-{name}", tenant, "gpt-4.1"), token)
        garbage = json.dumps(
            {"schema": "byok.prompt.request/v1", "request_id": f"{RUN}-canary-dlq", "tenant_id": tenant}
        )
        tokens["dlq"] = user_token("u1", tenant, ttl=300)
        await producer.send_and_wait(
            topics.PROMPT_REQUESTS,
            garbage.encode(),
            key=f"{RUN}-canary-dlq".encode(),
            headers=[("byok-user-token", tokens["dlq"].encode())],
        )
        rids = [f"{RUN}-canary-{n}" for n in ("valid", "other", "expired", "dlq")]

        def written(topic: str, rid: str) -> bool:
            return any(
                r.topic == topic and rid.encode() in (r.key or b"") + (r.value or b"") for r in everything.records
            )

        await responses.until(lambda _: answered(responses, rids), timeout=60)
        assert [finals(responses, r)[0]["status"] for r in rids] == ["completed", "failed", "failed", "failed"]
        # the last of what the worker writes: the valid request's usage event and the garbage's dead letter
        await wait_until(
            lambda: written(topics.USAGE_EVENTS, rids[0]) and written(topics.DLQ, rids[3]),
            30,
            "no usage event for the valid request or no dead letter for the garbage",
        )
        records = [
            found
            for r in await everything.caught_up()
            for found in [
                (r.topic, r.value or b""),
                (r.topic, r.key or b""),
                *((r.topic + " header " + k, v) for k, v in r.headers or ()),
            ]
        ]
        # signatures are the secret-bearing part; the whole token is looked for too
        needles = [t.encode() for t in tokens.values()] + [t.rsplit(".", 1)[1].encode() for t in tokens.values()]
        carried = [b for where, b in records if where.startswith(topics.PROMPT_REQUESTS + " header")]
        assert all(any(n in b for b in carried) for n in needles), "positive control: the requests carry them"
        assert any(where == topics.DLQ for where, _ in records), "the garbage record reached the DLQ"
        leaks = [w for w, b in records if not w.startswith(topics.PROMPT_REQUESTS) and any(n in b for n in needles)]
        assert leaks == [], f"a user token in {leaks}"
        text = "\n".join(logs.lines)
        assert "user token refused" in text and "user token of another tenant or user" in text, "logs captured"
        assert not any(n.decode() in text for n in needles), "a user token in a log record"
    finally:
        await everything.stop()
        await vault_root.destroy(user_key_path(tenant, "u1", "openai"))
