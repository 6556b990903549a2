"""bootstrap() hands the prompt consumer its own fetch batching and leaves the state follower's alone."""

from __future__ import annotations

from byok_core.settings import KafkaSettings
from byok_inference.config import InferenceSettings
from byok_inference.main import bootstrap


def fetch_of(consumer: object) -> tuple[int, int]:
    return consumer._fetch_min_bytes, consumer._fetch_max_wait_ms  # type: ignore[attr-defined]


async def test_the_prompt_consumer_batches_as_told_and_the_follower_keeps_its_own() -> None:
    kafka = KafkaSettings(bootstrap="127.0.0.1:9")  # never connected: the clients are only built
    default = bootstrap(InferenceSettings(kafka=kafka, key_store="env", preload_providers=[]))
    assert fetch_of(default.loop._consumer) == (1, 100)
    tuned = bootstrap(
        InferenceSettings(
            kafka=kafka, key_store="env", preload_providers=[], prompt_fetch_min_bytes=1500, prompt_fetch_max_wait_ms=5
        )
    )
    assert fetch_of(tuned.loop._consumer) == (1500, 5)
    assert fetch_of(tuned.follower._consumer) == (64 * 1024, 100)
    for worker in (default, tuned):
        await worker.gateway.aclose()
