"""Distinct sealed request keys do not grow the inference worker PROCESS's memory (issue 11).

Through the real stack: the producer client seals a key of its own into each prompt, the worker started by
infra/local/services.sh opens it, calls the fake provider with it and answers. The worker's RSS (VmRSS of
/proc/<pid>/status) after the flood stays within BOUND_MB of what it was before, and it holds no SDK client
more than before (gauge byok_inference_sdk_clients): a key sent with a request is used for its call only.
What the bound guards against: an SDK client per key costs 100 KB or more (its pools, SSL context; see
tests/unit/inference/test_inference_request_key_clients.py), 200 MB and more over these keys. What it allows:
the de-duplication memory of answered (tenant, request id) pairs (a few hundred bytes each, by design) and
the allocator's noise. Measured on 2026-11-30: 10,000 keys in 40 s, RSS 163.3 -> 164.4 MB (+1.0 MB), no SDK
client; with an SDK client per key (the old cache) the flood does not even finish in time (each new client
costs ~0.2 s of CPU). bench/inference/bench_request_keys.py runs the same on services of its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .request_keys import measure

pytestmark = pytest.mark.integration

KEYS = 10_000
WARMUP = 1_000
BOUND_MB = 16.0  # RSS growth allowed over KEYS distinct request keys (docs/additions.md)


async def test_distinct_sealed_request_keys_leave_the_worker_process_memory_bounded(services) -> None:
    pid = int((Path(services["E2E_RUN_DIR"]) / "inference.pid").read_text().strip())
    figures = await measure(
        bootstrap=services["BYOK_KAFKA_BOOTSTRAP"],
        keyvault_url=services["BYOK_KEYVAULT_URL"],
        ops_url=services["BYOK_INFERENCE_OPS_URL"],
        pid=pid,
        keys=KEYS,
        warmup=WARMUP,
    )
    print(figures.as_dict())
    assert figures.outcomes == {"completed/request": KEYS}, figures.outcomes
    assert figures.sdk_clients_after == figures.sdk_clients_before, "a request key got an SDK client of its own"
    assert figures.growth_mb < BOUND_MB, figures.as_dict()
