"""Provider SDKs load at their provider's first call, off the event loop, once; a worker carries only the
SDKs of the providers it serves (each costs 20-40 MB of RSS: docs/architecture.md).

Each case runs in a fresh interpreter: this test process has imported every SDK already.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

SDK_MODULES = {"openai": "openai", "anthropic": "anthropic", "gemini": "google.genai"}

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, logging, sys, time
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    logging.getLogger("byok.inference.providers").setLevel(logging.INFO)
    import byok_inference.main  # the whole worker, wired as `python -m byok_inference` imports it
    from byok_events import Provider
    from byok_inference.adapters.providers.gateway import SdkGateway
    from byok_inference.domain.calls import ProviderCall
    from byok_testing.fake_providers import start_fake_providers
    from byok_core.settings import ProviderEndpoints

    SDKS = {"openai": "openai", "anthropic": "anthropic", "gemini": "google.genai"}
    MODELS = {"openai": "gpt-4.1", "anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash",
              "openrouter": "openai/gpt-4.1"}

    def sdks():
        return sorted(name for name, module in SDKS.items() if module in sys.modules)

    async def main(provider_name):
        report = {"at_start": sdks()}
        fake = await start_fake_providers()
        env = fake.env
        gateway = SdkGateway(ProviderEndpoints(
            anthropic_base_url=env["BYOK_ANTHROPIC_BASE_URL"], openai_base_url=env["BYOK_OPENAI_BASE_URL"],
            gemini_base_url=env["BYOK_GEMINI_BASE_URL"], openrouter_base_url=env["BYOK_OPENROUTER_BASE_URL"]))
        provider = Provider(provider_name)
        ticks = 0
        done = asyncio.Event()

        async def ticker():
            nonlocal ticks
            while not done.is_set():
                await asyncio.sleep(0.005)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        await asyncio.sleep(0.02)
        ticks_before = ticks
        call = ProviderCall(provider=provider, model=MODELS[provider_name], api_key="k", max_tokens=16,
                            messages=[{"role": "user", "content": "hello there"}])
        started = time.perf_counter()
        results = await asyncio.gather(*(gateway.complete(call) for _ in range(5)))
        report["first_calls_seconds"] = time.perf_counter() - started
        report["ticks_during_load"] = ticks - ticks_before
        done.set()
        await ticking
        report["texts"] = sorted({r.text for r in results})
        report["after_calls"] = sdks()
        await gateway.aclose()
        await fake.stop()
        print(json.dumps(report))

    asyncio.run(main(sys.argv[1]))
    """
)


def run_fresh(provider: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, provider], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    report["sdk_loads_logged"] = done.stderr.count("provider SDK loaded")
    return report


@pytest.mark.parametrize(
    ("provider", "sdk"),
    [("openai", "openai"), ("openrouter", "openai"), ("anthropic", "anthropic"), ("gemini", "gemini")],
)
def test_a_worker_loads_only_the_sdk_of_the_provider_it_calls(provider: str, sdk: str) -> None:
    report = run_fresh(provider)
    assert report["at_start"] == [], "the worker imported a provider SDK before any call"
    assert report["after_calls"] == [sdk]
    assert report["texts"] == [f"fake {provider} reply to: hello there"]
    assert report["sdk_loads_logged"] == 1, "five concurrent first calls must share one import"


def test_the_event_loop_keeps_running_while_an_sdk_loads() -> None:
    report = run_fresh("anthropic")  # the largest SDK: ~3,000 modules
    # The ticker wakes every 5 ms; an import on the loop would have frozen it for the whole import.
    first_calls_ms = float(report["first_calls_seconds"]) * 1000  # type: ignore[arg-type]
    assert int(report["ticks_during_load"]) >= max(3, first_calls_ms / 5 / 10), report  # type: ignore[call-overload]


def test_the_providers_with_a_system_key_are_preloaded_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from byok_core.settings import SystemKeys
    from byok_events import Provider
    from byok_inference.config import InferenceSettings

    for name in ("ANTHROPIC", "OPENAI", "GEMINI", "OPENROUTER"):
        monkeypatch.delenv(f"BYOK_SYSTEM_{name}_API_KEY", raising=False)
    monkeypatch.delenv("BYOK_INFERENCE_PRELOAD_PROVIDERS", raising=False)
    keys = SystemKeys(openai_api_key="sk-system", gemini_api_key="  ")  # a blank key is no key
    assert InferenceSettings(key_store="env", system_keys=keys).providers_to_preload() == [Provider.OPENAI]
    assert InferenceSettings(key_store="env").providers_to_preload() == []
    assert InferenceSettings(key_store="env", system_keys=keys, preload_providers=[]).providers_to_preload() == []
    monkeypatch.setenv("BYOK_INFERENCE_PRELOAD_PROVIDERS", '["anthropic", "gemini"]')
    told = InferenceSettings(key_store="env", system_keys=keys).providers_to_preload()
    assert told == [Provider.ANTHROPIC, Provider.GEMINI]
