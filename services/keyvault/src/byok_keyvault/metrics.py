"""Prometheus metrics of the key-vault service (the shared ones live in byok_core.observability)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("byok_keyvault_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
HTTP_SECONDS = Histogram(
    "byok_keyvault_http_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
KEY_CHANGES = Counter("byok_keyvault_key_changes_total", "Keys stored, rotated, deleted", ["type", "scope"])
EVENTS_PUBLISHED = Counter("byok_keyvault_events_published_total", "Key events delivered to Kafka", ["path"])
PUBLISH_FAILURES = Counter("byok_keyvault_publish_failures_total", "Key event deliveries that failed (retried)")
OUTBOX_PENDING = Gauge("byok_keyvault_outbox_pending", "Key events waiting in the outbox", ["state"])
