"""A valid byok.usage/v1 event as a dict, for the billing tests (unit and integration) to vary."""

from __future__ import annotations

from typing import Any


def usage_event(event_id: Any = "e1", tenant: str = "acme", **changes: Any) -> dict[str, Any]:
    """Anthropic, user key, 1200 input tokens (1000 cache reads), 300 output; `field=...` drops a field."""
    event: dict[str, Any] = {
        "schema": "byok.usage/v1",
        "event_id": event_id,
        "request_id": f"r-{event_id}" if isinstance(event_id, str) else "r-none",
        "tenant_id": tenant,
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
    event.update(changes)
    return {k: v for k, v in event.items() if v is not ...}
