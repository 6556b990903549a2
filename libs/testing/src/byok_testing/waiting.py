"""Waiting in tests for a condition, bounded, instead of sleeping for a guessed time."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

Message = str | Callable[[], str]


def _text(message: Message, timeout: float) -> str:
    return f"{message() if callable(message) else message} (waited {timeout:g} s)"


@overload
async def wait_until(
    condition: Callable[[], Awaitable[T]], timeout: float = ..., message: Message = ..., *, interval: float = ...
) -> T: ...
@overload
async def wait_until(
    condition: Callable[[], T], timeout: float = ..., message: Message = ..., *, interval: float = ...
) -> T: ...
async def wait_until(
    condition: Callable[[], Any],
    timeout: float = 30.0,
    message: Message = "condition not met",
    *,
    interval: float = 0.02,
) -> Any:
    """Polls `condition` (plain or async) until it returns something truthy, and returns that.

    TimeoutError after `timeout` seconds with `message` (a callable is asked at that moment, so it can say
    what was seen). An exception raised by `condition` propagates at once."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(_text(message, timeout))
        await asyncio.sleep(interval)


def wait_until_sync(
    condition: Callable[[], T],
    timeout: float = 30.0,
    message: Message = "condition not met",
    *,
    interval: float = 0.05,
) -> T:
    """wait_until for synchronous tests (a subprocess, a file, a port)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(_text(message, timeout))
        time.sleep(interval)
