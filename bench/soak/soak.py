"""Soak: a steady load on the supervised pipeline for a long time, sampled every 10 s.

  make soak                                   (10 minutes at 70% of what one worker sustains)
  .venv/bin/python bench/soak/soak.py --minutes 10 --fraction 0.7 [--rate N]

Starts the three services with infra/local/services.sh in a run folder of its own (the fake provider at
--latency-ms), measures what one worker sustains (--calibrate-prompts published flat out, the rate at
which they are answered) unless --rate is given, then
publishes at --fraction of it for --minutes. Every --every seconds it samples, per service, RSS and open
file descriptors, the summed consumer lag of the inference and billing groups, and the end-to-end p50/p99
(publish -> final response) of the answers received in that interval, into soak.csv, and plots soak.png.
At the end it prints a summary and exits 1 if the lag did not drain or a service's RSS or fd count grew
without bound (the last third's mean above the middle third's by more than --growth-limit).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tests.faults.harness import LagSampler, Pipeline, partitions_of, read_env  # noqa: E402

SERVICES = ("inference", "billing", "keyvault")


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def proc_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Soak:
    def __init__(self, pipeline: Pipeline, args: argparse.Namespace) -> None:
        self.pipeline, self.args = pipeline, args
        self.tenant = f"soak-{uuid.uuid4().hex[:8]}"
        self.sent: dict[str, float] = {}
        self.latencies: list[float] = []
        self.answered = 0
        self.published = 0
        self.rows: list[dict[str, float]] = []

    async def _publish(self, producer: AIOKafkaProducer, rate: float, seconds: float, count: int = 0) -> None:
        started = time.monotonic()
        i = 0
        while (elapsed := time.monotonic() - started) < seconds or i < count:
            due = min(int(elapsed * rate) + 1, count or sys.maxsize)
            while i < due:
                request_id = f"{self.tenant}-{self.published}"
                self.published += 1
                body = {
                    "schema": "byok.prompt.request/v1",
                    "request_id": request_id,
                    "tenant_id": self.tenant,
                    "user_id": "u_soak",
                    "model": "gpt-4.1-mini",
                    "byok_mode": "disabled",
                    "max_tokens": 64,
                    "messages": [{"role": "user", "content": "soak"}],
                    "created_at": datetime.now(UTC).isoformat(),
                }
                self.sent[request_id] = time.monotonic()
                await producer.send("byok.prompt.requests", json.dumps(body).encode(), key=request_id.encode())
                i += 1
            await asyncio.sleep(0.005)

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            for records in (await consumer.getmany(timeout_ms=200, max_records=10000)).values():
                now = time.monotonic()
                for record in records:
                    if dict(record.headers or ()).get("byok-status") not in (b"completed", b"failed"):
                        continue
                    sent = self.sent.pop(record.key.decode(), None) if record.key else None
                    if sent is not None:
                        self.latencies.append((now - sent) * 1000)
                        self.answered += 1

    async def _sample(self, lag: LagSampler, phase: str) -> None:
        while True:
            await asyncio.sleep(self.args.every)
            window, self.latencies = sorted(self.latencies), []
            row: dict[str, float] = {"t": round(time.monotonic() - self.t0, 1)}
            row["phase"] = phase  # type: ignore[assignment]
            for name in SERVICES:
                pid = self.pipeline.pid(name)
                row[f"{name}_rss_mb"] = round(proc_rss_mb(pid), 1) if pid else 0.0
                row[f"{name}_fds"] = proc_fds(pid) if pid else 0
            try:
                row["lag"] = await lag.lag()
            except Exception:
                row["lag"] = -1
            row["answered"] = self.answered
            row["p50_ms"] = round(statistics.median(window), 1) if window else 0.0
            row["p99_ms"] = round(window[max(0, int(len(window) * 0.99) - 1)], 1) if window else 0.0
            self.rows.append(row)
            print(json.dumps(row), flush=True)

    async def calibrate(self, producer: AIOKafkaProducer) -> float:
        """Prompts/s one worker sustains: --calibrate-prompts published flat out, answered rate until all are."""
        before = self.answered
        started = time.monotonic()
        await self._publish(producer, 1e9, 0.0, count=self.args.calibrate_prompts)
        deadline = started + 300
        while self.answered - before < self.args.calibrate_prompts and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return (self.answered - before) / (time.monotonic() - started)

    async def run(self) -> int:
        bootstrap = self.pipeline.bootstrap
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        await producer.start()
        await consumer.start()
        partitions = await partitions_of(bootstrap, ("byok.prompt.responses",))
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        lag = LagSampler(bootstrap)
        self.t0 = time.monotonic()
        try:
            reader = asyncio.create_task(self._consume(consumer))
            rate = self.args.rate or self.args.fraction * await self.calibrate(producer)
            self.latencies.clear()
            print(f"soak: {rate:.0f} prompts/s for {self.args.minutes} min", flush=True)
            sampler = asyncio.create_task(self._sample(lag, "load"))
            await self._publish(producer, rate, self.args.minutes * 60)
            sampler.cancel()
            drain = asyncio.create_task(self._sample(lag, "drain"))
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and (await lag.lag() > 0 or self.sent):
                await asyncio.sleep(1)
            drain.cancel()
            reader.cancel()
            self.rows.append(
                {
                    "t": round(time.monotonic() - self.t0, 1),
                    "phase": "end",
                    "lag": await lag.lag(),
                    "answered": self.answered,
                }
            )  # type: ignore[dict-item]
        finally:
            await producer.stop()
            await consumer.stop()
        return self.report(rate)

    def report(self, rate: float) -> int:
        out = Path(self.args.out)
        out.mkdir(parents=True, exist_ok=True)
        fields = sorted({k for row in self.rows for k in row}, key=lambda k: (k != "t", k != "phase", k))
        with open(out / "soak.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(self.rows)
        load = [r for r in self.rows if r.get("phase") == "load"]
        failures = []
        summary = {
            "rate": round(rate),
            "minutes": self.args.minutes,
            "answered": self.answered,
            "unanswered": len(self.sent),
            "final_lag": self.rows[-1]["lag"],
        }
        if self.rows[-1]["lag"] != 0 or self.sent:
            failures.append("the lag did not drain / prompts unanswered")
        third = max(1, len(load) // 3)
        for metric in [f"{n}_{m}" for n in SERVICES for m in ("rss_mb", "fds")]:
            middle = statistics.mean(r[metric] for r in load[third : 2 * third] or load)
            last = statistics.mean(r[metric] for r in load[-third:])
            summary[metric] = {
                "first": load[0][metric],
                "middle_mean": round(middle, 1),
                "last_mean": round(last, 1),
                "max": max(r[metric] for r in load),
            }
            if middle and (last - middle) / middle > self.args.growth_limit:
                failures.append(f"{metric} grew from {middle:.1f} to {last:.1f}")
        p99 = [r["p99_ms"] for r in load if r["p99_ms"]]
        summary["p99_ms"] = {"median": statistics.median(p99), "max": max(p99)} if p99 else {}
        summary["lag_max"] = max(r["lag"] for r in load)
        plot(load + [r for r in self.rows if r.get("phase") == "drain"], out / "soak.png")
        print(
            json.dumps(
                {"summary": summary, "failures": failures, "csv": str(out / "soak.csv"), "png": str(out / "soak.png")},
                indent=2,
            )
        )
        return 1 if failures else 0


def plot(rows: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r["t"] for r in rows]
    fig, axes = plt.subplots(4, 1, figsize=(10, 11), sharex=True)
    for name in SERVICES:
        axes[0].plot(t, [r[f"{name}_rss_mb"] for r in rows], label=name)
        axes[1].plot(t, [r[f"{name}_fds"] for r in rows], label=name)
    axes[2].plot(t, [r["lag"] for r in rows], label="inference + billing")
    axes[3].plot(t, [r["p50_ms"] for r in rows], label="p50")
    axes[3].plot(t, [r["p99_ms"] for r in rows], label="p99")
    for ax, title in zip(
        axes, ("RSS (MB)", "open fds", "consumer lag (records)", "end-to-end latency (ms)"), strict=True
    ):
        ax.set_title(title)
        ax.legend(loc="upper right")
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--fraction", type=float, default=0.7)
    parser.add_argument("--rate", type=float, default=0, help="prompts/s (default: --fraction of a calibration)")
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--every", type=float, default=10)
    parser.add_argument("--calibrate-prompts", type=int, default=20000)
    parser.add_argument("--growth-limit", type=float, default=0.25)
    run_dir = Path(os.environ.get("BYOK_RUN_DIR", REPO / ".run"))
    parser.add_argument("--out", default=str(run_dir / "soak"))
    args = parser.parse_args()
    stack = read_env(run_dir / "stack.env")
    soak_dir = run_dir / f"soak-services-{uuid.uuid4().hex[:6]}"
    soak_dir.mkdir(parents=True)
    shutil.copy(run_dir / "stack.env", soak_dir / "stack.env")
    pipeline = Pipeline(stack, soak_dir, {"BYOK_LOG_LEVEL": "WARNING"})
    await asyncio.to_thread(pipeline.up)
    try:
        await pipeline.fake().set_latency(args.latency_ms)
        return await Soak(pipeline, args).run()
    finally:
        await asyncio.to_thread(pipeline.down)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
