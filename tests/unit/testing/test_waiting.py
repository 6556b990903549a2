"""wait_until: the bounded wait the tests use instead of sleeping for a guessed time."""

from __future__ import annotations

import asyncio
import time

import pytest
from byok_testing.waiting import wait_until, wait_until_sync


async def test_returns_the_first_truthy_answer_of_a_plain_or_async_condition() -> None:
    seen: list[int] = []

    def plain() -> list[int]:
        seen.append(len(seen))
        return seen if len(seen) >= 3 else []

    assert await wait_until(plain, 1, interval=0.001) == [0, 1, 2]

    async def later() -> str:
        await asyncio.sleep(0)
        return "ready" if len(seen) >= 5 else ""

    def tick() -> None:
        seen.append(0)

    asyncio.get_running_loop().call_later(0.01, tick)
    asyncio.get_running_loop().call_later(0.02, tick)
    assert await wait_until(later, 1, interval=0.001) == "ready"


async def test_times_out_with_the_message_as_it_is_at_that_moment() -> None:
    state = {"read": 0}

    def never() -> bool:
        state["read"] += 1
        return False

    started = time.monotonic()
    with pytest.raises(TimeoutError) as caught:
        await wait_until(never, 0.05, lambda: f"{state['read']} reads, nothing", interval=0.01)
    assert 0.05 <= time.monotonic() - started < 1
    assert str(caught.value) == f"{state['read']} reads, nothing (waited 0.05 s)" and state["read"] >= 2


async def test_an_error_of_the_condition_stops_the_wait_at_once() -> None:
    def broken() -> bool:
        raise LookupError("gone")

    started = time.monotonic()
    with pytest.raises(LookupError, match="gone"):
        await wait_until(broken, 10)
    assert time.monotonic() - started < 1


def test_the_synchronous_form() -> None:
    deadline = time.monotonic() + 0.03
    assert wait_until_sync(lambda: time.monotonic() >= deadline and "done", 1, interval=0.005) == "done"
    with pytest.raises(TimeoutError, match=r"^still not \(waited 0.02 s\)$"):
        wait_until_sync(lambda: False, 0.02, "still not", interval=0.005)
