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
        self._pending: set[int] = set()
        self._done: set[int] = set()
        self._last_started: int | None = None
        self.committable: int | None = None
        self.committed: int | None = None

    def started(self, offset: int) -> bool:
        """Track a fetched record; False when this assignment already started it (a re-delivery, e.g. records
        fetched before a rebalance handed out again after it): the caller skips it, its first start finishes it.
        Tracking one offset twice would leave a copy at the head that never finishes, and commits would stop."""
        if self._last_started is not None and offset <= self._last_started:
            return False
        self._last_started = offset
        self._order.append(offset)
        self._pending.add(offset)
        return True

    def finished(self, offset: int) -> None:
        if offset not in self._pending:
            return  # started under an earlier assignment: its partition was revoked, its new owner re-reads it
        self._pending.discard(offset)
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
