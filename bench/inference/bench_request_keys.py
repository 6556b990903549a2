"""10,000 distinct sealed request keys through the real stack: the inference worker PROCESS's memory.

Starts the three services with infra/local/services.sh in a run folder of its own (fake providers at 0 ms),
sends --warmup prompts and then --keys prompts with the producer client, each with an API key of its own
sealed to the worker (`byok_mode: require`, the four providers in turn), and prints the worker's RSS
(VmRSS of /proc/<pid>/status) before and after, its peak, and its cached SDK clients (byok_inference_sdk_clients).
Exits 1 when the growth is not below --bound-mb (the stated bound, docs: README "Measured").

  make stack-up && .venv/bin/python bench/inference/bench_request_keys.py [--keys 10000 --warmup 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tests.e2e.request_keys import measure  # noqa: E402
from tests.faults.harness import Pipeline, read_env, run_folder  # noqa: E402


async def main(args: argparse.Namespace) -> int:
    stack = read_env(Path(args.run_dir) / "stack.env")
    stack.setdefault("BYOK_RUN_DIR", args.run_dir)
    folder = run_folder(stack, "request-keys")
    shutil.copy(Path(args.run_dir) / "stack.env", folder / "stack.env")  # services.sh finds the stack there
    pipeline = Pipeline(stack, folder, {"BYOK_LOG_LEVEL": "WARNING"})
    pipeline.up()
    try:
        coordinates = pipeline.coordinates
        pid = pipeline.pid("inference")
        assert pid is not None, "the worker is not running"
        figures = await measure(
            bootstrap=coordinates["BYOK_KAFKA_BOOTSTRAP"],
            keyvault_url=coordinates["BYOK_KEYVAULT_URL"],
            ops_url=coordinates["BYOK_INFERENCE_OPS_URL"],
            pid=pid,
            keys=args.keys,
            warmup=args.warmup,
            window=args.window,
        )
    finally:
        pipeline.down()
    result = figures.as_dict() | {"bound_mb": args.bound_mb}
    print(json.dumps(result, indent=2))
    held = figures.outcomes == {"completed/request": args.keys} and figures.growth_mb < args.bound_mb
    return 0 if held and figures.sdk_clients_after == figures.sdk_clients_before else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--window", type=int, default=256, help="prompts in flight")
    parser.add_argument("--bound-mb", type=float, default=16.0)
    parser.add_argument("--run-dir", default=str(REPO / ".run"))
    sys.exit(asyncio.run(main(parser.parse_args())))
