"""python -m byok_testing.fake_providers --port 8900 [--latency-ms 0]: serve the fake providers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import signal

from .runner import start_fake_providers


async def _keep_full_collections_short(every: float = 5.0) -> None:
    """The fake keeps up to 200,000 recorded calls; left to the collector, each full collection walked them all
    (~100 ms alone, more on a busy machine, about once a minute at 900 calls/s): the soak's end-to-end p99
    showed it. Collect what is new, then freeze the survivors out of later scans."""
    while True:
        await asyncio.sleep(every)
        gc.collect()
        gc.freeze()


async def _main(host: str, port: int, latency_ms: float) -> None:
    running = await start_fake_providers(host, port)
    collector = asyncio.create_task(_keep_full_collections_short())
    running.server.book.default_latency_ms = latency_ms
    print(f"fake providers listening on {running.url}", flush=True)
    for name, value in running.env.items():
        print(f"{name}={value}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    collector.cancel()
    await running.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    try:
        import uvloop  # optional: a faster loop leaves more CPU to what is being measured

        factory = uvloop.new_event_loop
    except ImportError:
        factory = None
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_main(args.host, args.port, args.latency_ms))


if __name__ == "__main__":
    main()
