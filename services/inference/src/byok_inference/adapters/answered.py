"""The requests already answered (bounded LRU) and those being answered now, in this process.

A request is named by (tenant_id, request_id): the contract's idempotency key, so one tenant reusing
another tenant's request id is still answered. Filled by the handler as it answers and by the responses
follower (entrypoints/follower.py), which reads byok.prompt.responses from `window` back at start-up and
then keeps tailing it: so a request answered by this worker before a crash, or by another worker, is not
sent to a provider again.
"""

from __future__ import annotations

from collections import OrderedDict

RequestName = tuple[str, str]  # (tenant_id, request_id)


class AnsweredLru:
    def __init__(self, max_entries: int = 1_000_000) -> None:
        self._max = max_entries
        self._answered: OrderedDict[RequestName, None] = OrderedDict()
        self._in_progress: set[RequestName] = set()

    def claim(self, tenant_id: str, request_id: str) -> bool:
        name = (tenant_id, request_id)
        if name in self._answered or name in self._in_progress:
            return False
        self._in_progress.add(name)
        return True

    def finish(self, tenant_id: str, request_id: str, answered: bool) -> None:
        name = (tenant_id, request_id)
        self._in_progress.discard(name)
        if answered:
            self.add(tenant_id, request_id)

    def add(self, tenant_id: str, request_id: str) -> None:
        name = (tenant_id, request_id)
        self._answered[name] = None
        self._answered.move_to_end(name)
        if len(self._answered) > self._max:
            self._answered.popitem(last=False)

    def __contains__(self, name: object) -> bool:
        return name in self._answered

    def __len__(self) -> int:
        return len(self._answered)
