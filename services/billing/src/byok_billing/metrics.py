"""Prometheus metrics of the billing consumer (besides byok_core.observability's shared ones)."""

from prometheus_client import Counter, Histogram

SERVICE = "billing"

BATCH_SECONDS = Histogram(
    "byok_billing_batch_seconds",
    "Time from a polled batch to its committed offsets",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCH_ERRORS = Counter("byok_billing_batch_errors_total", "Batches that failed and will be retried")
ALERTS = Counter("byok_billing_alerts_total", "Budget alerts published", ["kind", "threshold"])
