"""The producer client's and the CLI's parts that need no broker: settings, routing of replies, sealing cache,
de-duplication, key selection, the local-stack export lines."""

from __future__ import annotations

import asyncio
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from byok_cli.charges import SeenEvents, parse_since
from byok_cli.errors import CliError
from byok_cli.local_env import exports
from byok_cli.prompt import key_from_env, provider_of_model
from byok_client import KafkaConfig, PublicSealingKey, SealingKeyUnavailable
from byok_client.client import _messages
from byok_client.replies import ReplyReader
from byok_client.sealing import SealingKeyCache
from byok_events import PromptResponse, utc_now
from byok_sealing import generate_keypair, open_sealed


def test_kafka_config_from_the_contract_variables() -> None:
    config = KafkaConfig.from_env(
        {
            "BYOK_KAFKA_BOOTSTRAP": "k1:9093,k2:9093",
            "BYOK_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "BYOK_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "BYOK_KAFKA_SASL_USERNAME": "producer",
            "BYOK_KAFKA_SASL_PASSWORD": "s3cret-pw",
        }
    )
    options = config.aiokafka_options()
    assert options["bootstrap_servers"] == "k1:9093,k2:9093"
    assert (options["sasl_mechanism"], options["sasl_plain_username"]) == ("SCRAM-SHA-512", "producer")
    assert options["sasl_plain_password"] == "s3cret-pw" and "s3cret-pw" not in repr(config)
    assert KafkaConfig.from_env({}).bootstrap == "127.0.0.1:9092"
    with pytest.raises(ValueError):
        KafkaConfig(security_protocol="SASL_NOPE")


def test_the_sasl_password_may_come_from_a_file(tmp_path) -> None:
    """docker compose hands each principal its password in a volume of its own (BYOK_KAFKA_SASL_PASSWORD_FILE)."""
    from byok_core.settings import KafkaSettings

    (tmp_path / "password").write_text("from-the-file\n")
    env = {"BYOK_KAFKA_SASL_USERNAME": "producer", "BYOK_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "password")}
    assert KafkaConfig.from_env(env).sasl_password == "from-the-file"
    assert KafkaConfig.from_env(env | {"BYOK_KAFKA_SASL_PASSWORD": "given"}).sasl_password == "given"
    settings = KafkaSettings(sasl_password_file=str(tmp_path / "password"))
    assert settings.sasl_password is not None and settings.sasl_password.get_secret_value() == "from-the-file"
    assert "from-the-file" not in repr(settings)


def test_a_string_is_one_user_message_and_dicts_pass_through() -> None:
    assert _messages("hi") == [{"role": "user", "content": "hi"}]
    tool = {"role": "tool", "tool_call_id": "c1", "content": "42"}
    image = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}
    assert _messages([tool, image]) == [tool, image]


@dataclass
class Record:
    key: bytes | None
    value: bytes


async def test_replies_reach_only_the_request_waiting_for_them() -> None:
    reader = ReplyReader(KafkaConfig())
    queue = reader.watch("acme", "r1")

    def answer(tenant: str, request_id: str, status: str = "completed") -> bytes:
        return PromptResponse(request_id=request_id, tenant_id=tenant, status=status).to_bytes()  # type: ignore[arg-type]

    reader._route(Record(b"r1", answer("other-tenant", "r1")))  # same request id, another tenant
    reader._route(Record(b"r2", answer("acme", "r2")))  # nobody waits for it
    reader._route(Record(b"r1", b"{not json"))
    reader._route(Record(None, answer("acme", "r1")))
    reader._route(Record(b"\xff\xfe", b"{}"))
    assert queue.empty()
    reader._route(Record(b"r1", answer("acme", "r1", "delta")))
    reader._route(Record(b"r1", answer("acme", "r1")))
    assert [queue.get_nowait().status for _ in range(2)] == ["delta", "completed"]
    reader.forget("r1")
    reader._route(Record(b"r1", answer("acme", "r1")))  # a duplicate after the answer is dropped
    assert queue.empty() and reader._watching == {}
    await reader._consumer.stop()


async def test_the_sealing_key_is_fetched_once_and_seals_for_the_worker() -> None:
    pair = generate_keypair()
    cache = SealingKeyCache(None, key=pair.public)
    at = utc_now()
    sealed = await cache.seal_all({"openai": "sk-proj-abc"}, tenant_id="acme", request_id="r1", created_at=at)
    assert "sk-proj-abc" not in sealed["openai"]
    opened = open_sealed(
        sealed["openai"],
        private_keys={pair.kid: pair.private_key},
        tenant_id="acme",
        request_id="r1",
        provider="openai",
        created_at=at,
    )
    assert opened == "sk-proj-abc"
    # the request's created_at as the event carries it (a string) seals the same instant
    as_text = await cache.seal_all({"gemini": "AIza-x"}, tenant_id="acme", request_id="r1", created_at=at.isoformat())
    keys = {pair.kid: pair.private_key}
    assert (
        open_sealed(
            as_text["gemini"], private_keys=keys, tenant_id="acme", request_id="r1", provider="gemini", created_at=at
        )
        == "AIza-x"
    )
    with pytest.raises(SealingKeyUnavailable):
        await SealingKeyCache(None).current()
    with pytest.raises(SealingKeyUnavailable) as down:
        await SealingKeyCache("http://127.0.0.1:9", ttl=1).current()
    assert "127.0.0.1:9" in str(down.value)
    assert isinstance(pair.public, PublicSealingKey)


def test_charges_are_shown_once_per_event_id_with_bounded_memory() -> None:
    seen = SeenEvents(size=3)
    assert [seen.first_time(e) for e in ("a", "b", "a", "c", "d", "e")] == [True, True, False, True, True, True]
    assert len(seen._ids) == 3
    assert seen.first_time("b") is True  # forgotten: the oldest ids go first
    assert parse_since("15m") == 900 and parse_since("2h") == 7200 and parse_since("7d") == 604800
    for bad in ("", "yesterday", "1.5h", "-1h"):
        with pytest.raises(CliError):
            parse_since(bad)


def test_which_provider_a_key_from_the_environment_is_for(monkeypatch) -> None:
    assert [
        provider_of_model(m)
        for m in (
            "claude-sonnet-4-5",
            "gpt-4.1",
            "o3-mini",
            "gemini-2.5-flash",
            "openrouter/meta-llama/llama-3",
            "mistral-large",
        )
    ] == ["anthropic", "openai", "openai", "gemini", "openrouter", None]
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-x")
    monkeypatch.setenv("MY_KEY", "sk-ant-x")
    assert key_from_env("OPENROUTER_API_KEY", "claude-sonnet-4-5") == {"openrouter": "sk-or-v1-x"}
    assert key_from_env("MY_KEY", "claude-sonnet-4-5") == {"anthropic": "sk-ant-x"}
    with pytest.raises(CliError) as unknown:
        key_from_env("MY_KEY", "mistral-large")
    assert "sk-ant-x" not in str(unknown.value)
    with pytest.raises(CliError):
        key_from_env("UNSET_VARIABLE_X", "gpt-4.1")


def test_local_env_exports_are_quoted_data_never_shell(tmp_path: Path) -> None:
    (tmp_path / "clients").mkdir()
    (tmp_path / "stack.env").write_text(
        "# comment\nBYOK_KAFKA_BOOTSTRAP=127.0.0.1:1\nBYOK_STACK_STARTED=kafka postgres vault\n"
        "BYOK_DATABASE_URL=postgresql://u:p@h/db\n"
    )
    (tmp_path / "services.env").write_text("BYOK_KEYVAULT_URL=http://127.0.0.1:2\nBYOK_AUTH_JWT_SECRET=a b$(touch x)\n")
    (tmp_path / "clients" / "analyst.env").write_text("BYOK_KAFKA_SASL_USERNAME=analyst\nBYOK_KAFKA_BOOTSTRAP=h:3\n")
    text = exports(str(tmp_path), "analyst")
    assert "BYOK_STACK_STARTED" not in text
    script = text + '\nprintf "%s|%s|%s" "$BYOK_KAFKA_BOOTSTRAP" "$BYOK_KAFKA_SASL_USERNAME" "$BYOK_AUTH_JWT_SECRET"'
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert done.stdout == "h:3|analyst|a b$(touch x)" and not (tmp_path / "x").exists()
    assert shlex.split(text.splitlines()[0])[0] == "export"
    with pytest.raises(CliError):
        exports(str(tmp_path / "missing"), "producer")


def test_the_cli_answers_bad_arguments_with_exit_code_2() -> None:
    byok = str(Path(sys.executable).parent / "byok")
    done = subprocess.run([byok, "keys", "add", "not-a-provider"], capture_output=True, text=True)
    assert done.returncode == 2 and "invalid choice" in done.stderr
    done = subprocess.run([byok, "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "Exit codes" in done.stdout


def test_the_light_client_does_not_import_faststream_hvac_or_byok_core() -> None:
    code = "import sys, byok_client; print(sorted(m for m in ('faststream', 'hvac', 'byok_core') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    import importlib.metadata

    requires = {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0] for r in importlib.metadata.requires("byok-client") or []}
    assert "byok-sealing" in requires and not requires & {"byok-core", "faststream", "hvac"}, requires


async def test_sync_wrapper_refuses_use_outside_with() -> None:
    from byok_client import ByokClientSync

    with pytest.raises(RuntimeError):
        ByokClientSync(kafka="127.0.0.1:9").client  # noqa: B018
    await asyncio.sleep(0)


def test_the_compose_demo_sends_as_producer_and_reads_charges_as_analyst(tmp_path, monkeypatch) -> None:
    from byok_client import demo

    (tmp_path / "producer").write_text("producer-pw\n")
    (tmp_path / "analyst").write_text("analyst-pw\n")
    for name, value in {
        "BYOK_KEYVAULT_URL": "http://keyvault:8080",
        "BYOK_AUTH_JWT_SECRET": "s" * 40,
        "BYOK_KAFKA_BOOTSTRAP": "kafka:9092",
        "BYOK_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "BYOK_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "BYOK_KAFKA_SASL_USERNAME": "producer",
        "BYOK_KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "producer"),
        "BYOK_DEMO_ANALYST_PASSWORD_FILE": str(tmp_path / "analyst"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("BYOK_KAFKA_SASL_PASSWORD", raising=False)
    _, _, producer, analyst = demo._coordinates()
    assert (producer.sasl_username, producer.sasl_password) == ("producer", "producer-pw")
    assert (analyst.sasl_username, analyst.sasl_password) == ("analyst", "analyst-pw")
    assert analyst.bootstrap == producer.bootstrap == "kafka:9092"
