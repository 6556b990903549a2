"""Every runnable example of the docs (```python title=... and ```bash title=... blocks in README.md and
docs/*.md), run against the running services, so the docs cannot go stale."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import jwt
import pytest
from support.docs_examples import Block, runnable

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


def _environment(services: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOK_")}
    now = int(time.time())
    claims = {"sub": "u_42", "tenant": "acme", "role": "member", "iat": now, "exp": now + 600}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        BYOK_KAFKA_BOOTSTRAP=services["BYOK_KAFKA_BOOTSTRAP"],
        BYOK_KEYVAULT_URL=services["BYOK_KEYVAULT_URL"],
        BYOK_DATABASE_URL=services["BYOK_DATABASE_URL"],
        BYOK_AUTH_JWT_SECRET=services["BYOK_AUTH_JWT_SECRET"],
        BYOK_TOKEN=jwt.encode(claims, services["BYOK_AUTH_JWT_SECRET"], algorithm="HS256"),
        # keys of the right shape, so the fake providers accept them
        ANTHROPIC_API_KEY="sk-ant-api03-docs-" + uuid.uuid4().hex * 2,
        GEMINI_API_KEY="AIzaSy" + uuid.uuid4().hex[:33],
    )
    return env


@pytest.mark.parametrize("block", runnable(), ids=lambda b: b.id)
async def test_example_runs(block: Block, services, tmp_path) -> None:
    env = _environment(services)
    if block.language == "python":
        script = tmp_path / block.attrs["title"].replace(" ", "_")
        script.write_text(block.code)
        argv = [sys.executable, str(script)]
    else:
        argv = ["bash", "-euo", "pipefail", "-c", block.code]
    done = await asyncio.to_thread(
        subprocess.run, argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, f"{block.id} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip(), f"{block.id} printed nothing"
    for key in (env["ANTHROPIC_API_KEY"], env["GEMINI_API_KEY"]):
        assert key not in done.stdout + done.stderr, f"{block.id} printed a key"
