"""The request ids already answered (bounded LRU) and those being answered now, in this process.

Filled by the handler as it answers and by the responses follower (entrypoints/state_topics.py), which reads
byok.prompt.responses from `window` back at start-up and then keeps tailing it: so a request answered by
this worker before a crash, or by another worker, is not sent to a provider again.
"""

from __future__ import annotations

from collections import OrderedDict


class AnsweredLru:
    def __init__(self, max_entries: int = 1_000_000) -> None:
        self._max = max_entries
        self._answered: OrderedDict[str, None] = OrderedDict()
        self._in_progress: set[str] = set()

    def claim(self, request_id: str) -> bool:
        if request_id in self._answered or request_id in self._in_progress:
            return False
        self._in_progress.add(request_id)
        return True

    def finish(self, request_id: str, answered: bool) -> None:
        self._in_progress.discard(request_id)
        if answered:
            self.add(request_id)

    def add(self, request_id: str) -> None:
        self._answered[request_id] = None
        self._answered.move_to_end(request_id)
        if len(self._answered) > self._max:
            self._answered.popitem(last=False)

    def __contains__(self, request_id: str) -> bool:
        return request_id in self._answered

    def __len__(self) -> int:
        return len(self._answered)
