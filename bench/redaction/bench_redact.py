"""ns per call of byok_core.logging.redact on typical log lines and dead-letter payloads.

.venv/bin/python bench/redaction/bench_redact.py
"""

from __future__ import annotations

import json
import re
import timeit

from byok_core.logging import redact

# The redaction before issue 9 (one regex; it missed escaped, encoded and several token forms), for comparison.
_BEFORE = re.compile(
    r"sk-ant-[A-Za-z0-9_\-]{8,}|sk-or-v1-[A-Za-z0-9_\-]{8,}|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}"
    r"|AIza[0-9A-Za-z_\-]{20,}|hv[sbr]\.[A-Za-z0-9_\-]{16,}|(?i:bearer)\s+[A-Za-z0-9_\-\.=]{8,}"
    r"|byok-seal-v1\.[A-Za-z0-9_\-\.]{16,}"
)


def before(text: str) -> str:
    return _BEFORE.sub("[REDACTED]", text)


LOG_LINE = json.dumps(
    {
        "ts": "2026-11-30T08:00:00.123456Z",
        "level": "info",
        "logger": "byok.inference",
        "msg": "provider call completed",
        "request_id": "7f0c9a1e-2b3c-4d5e-8f90-123456789abc",
        "tenant_id": "acme",
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "latency_ms": 812.4,
    }
)
HTTP_LINE = '{"ts": "2026-11-30T08:00:00Z", "level": "info", "logger": "byok.keyvault.http", "msg": "POST /api/user-api-keys -> 201 in 12.3 ms", "request_id": "0b8e2f0c-5a1d-4e7b-9c3a-6d2f1e0a9b8c"}'  # noqa: E501
PAYLOAD = json.dumps(
    {
        "schema": "byok.usage/v1",
        "event_id": "0b8e2f0c-5a1d-4e7b-9c3a-6d2f1e0a9b8c",
        "request_id": "r-1",
        "tenant_id": "acme",
        "user_id": "u_42",
        "provider": "anthropic",
        "model": "claude-sonnet-4-5",
        "route": "direct",
        "key_source": "user",
        "byok": True,
        "input_tokens": 1200,
        "output_tokens": 300,
        "cache_read_tokens": 1000,
        "cache_write_tokens": 0,
        "occurred_at": "2026-11-27T15:00:01Z",
    }
)
WITH_KEY = LOG_LINE[:-1] + ', "error": "AuthenticationError for key sk-ant-api03-' + "Zq7_xY-9" * 12 + '"}'


def main() -> None:
    for name, text in (
        ("log line", LOG_LINE),
        ("http line", HTTP_LINE),
        ("usage payload", PAYLOAD),
        ("line with a key", WITH_KEY),
    ):
        runs = 20_000
        now = min(timeit.repeat(lambda t=text: redact(t), number=runs, repeat=7)) / runs
        old = min(timeit.repeat(lambda t=text: before(t), number=runs, repeat=7)) / runs
        print(f"redact, {name} ({len(text)} chars): {now * 1e9:,.0f} ns per call (before issue 9: {old * 1e9:,.0f})")


if __name__ == "__main__":
    main()
