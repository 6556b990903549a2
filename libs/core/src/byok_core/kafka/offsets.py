"""Per-partition offset bookkeeping: commit only below the lowest offset still being processed."""

from __future__ import annotations

from collections import deque


class PartitionOffsets:
    """Offsets of one partition in fetch order; `committable` is the offset to commit (next to read).

    Messages finish in any order; the committable offset only moves past a message once it and
    every earlier message of the partition are finished, so a crash re-delivers what was unfinished.
    """

    def __init__(self) -> None:
        self._order: deque[int] = deque()
        self._done: set[int] = set()
        self.committable: int | None = None
        self.committed: int | None = None

    def started(self, offset: int) -> None:
        self._order.append(offset)

    def finished(self, offset: int) -> None:
        self._done.add(offset)
        while self._order and self._order[0] in self._done:
            head = self._order.popleft()
            self._done.discard(head)
            self.committable = head + 1

    @property
    def in_flight(self) -> int:
        return len(self._order)

    def needs_commit(self) -> bool:
        return self.committable is not None and self.committable != self.committed
