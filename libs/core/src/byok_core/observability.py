"""/healthz and Prometheus /metrics for services without an HTTP API of their own, plus shared metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

MESSAGES = Counter("byok_messages_total", "Messages handled", ["service", "topic", "outcome"])
HANDLE_SECONDS = Histogram(
    "byok_handle_seconds",
    "Time to handle one message",
    ["service", "topic"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CONSUMER_LAG = Gauge(
    "byok_consumer_lag", "Records behind the partition's high watermark", ["service", "topic", "partition"]
)
IN_FLIGHT = Gauge("byok_in_flight", "Messages being processed", ["service"])

HealthCheck = Callable[[], Awaitable[bool]]

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    """An HTTP method as a metric label: one of a fixed list, `other` for the rest (made-up methods
    would otherwise make a new time series each)."""
    return method if method in HTTP_METHODS else "other"


async def record_consumer_lag(service: str, consumer: object) -> None:
    """Set byok_consumer_lag from an aiokafka consumer's assignment (highwater minus position)."""
    for tp in consumer.assignment():  # type: ignore[attr-defined]
        highwater = consumer.highwater(tp)  # type: ignore[attr-defined]
        if highwater is None:
            continue
        try:
            position = await consumer.position(tp)  # type: ignore[attr-defined]
        except Exception:  # noqa: S112 - a partition being revoked has no position; skip it
            continue
        CONSUMER_LAG.labels(service, tp.topic, str(tp.partition)).set(max(0, highwater - position))


class OpsServer:
    """A tiny aiohttp server: GET /healthz (200 or 503 from the check) and GET /metrics."""

    def __init__(self, host: str, port: int, health: HealthCheck) -> None:
        self._host, self._port, self._health = host, port, health
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, _: web.Request) -> web.Response:
        ok = await self._health()
        return web.json_response({"status": "ok" if ok else "unhealthy"}, status=200 if ok else 503)

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})
