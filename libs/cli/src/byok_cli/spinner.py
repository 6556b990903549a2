"""A spinner on stderr while the command waits: drawn only when stderr is a terminal, so pipes stay clean."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


@contextlib.asynccontextmanager
async def spinner(label: str, *, enabled: bool | None = None) -> AsyncIterator[None]:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield
        return

    async def spin() -> None:
        for i in range(10**9):
            sys.stderr.write(f"\r{_FRAMES[i % len(_FRAMES)]} {label}")
            sys.stderr.flush()
            await asyncio.sleep(0.08)

    task = asyncio.create_task(spin())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()
