"""The requests already answered (bounded, oldest forgotten first) and those being answered now, in this process.

A request is named by (tenant_id, request_id): the contract's idempotency key, so one tenant reusing
another tenant's request id is still answered. Filled by the handler as it answers and by the responses
follower (entrypoints/state_topics.py), which reads byok.prompt.responses from `window` back at start-up and
then keeps tailing it: so a request answered by this worker before a crash, or by another worker, is not
sent to a provider again.

An answered name is kept as a 128-bit BLAKE2b digest in a DigestSet (flat arrays: ~50 bytes per entry,
against ~94 for a set of ints with an age deque and ~246 for the two strings in an OrderedDict), so the
default 500,000 entries cost ~25 MB. 128 bits (127 stored) make a collision (a new request taken for
an answered one, and never answered) negligible.
"""

from __future__ import annotations

import os
from hashlib import blake2b

from .digest_set import DigestSet

RequestName = tuple[str, str]  # (tenant_id, request_id)


# Keyed per process: request ids come from producers, and one who could predict digests could choose ids
# that crowd one run of the table (hash flooding); the store lives in this process, so no one else needs it.
_DIGEST_KEY = os.urandom(16)


def _digest(tenant_id: str, request_id: str) -> int:
    tenant = tenant_id.encode("utf-8", "surrogatepass")
    raw = len(tenant).to_bytes(4, "big") + tenant + request_id.encode("utf-8", "surrogatepass")
    return int.from_bytes(blake2b(raw, digest_size=16, key=_DIGEST_KEY).digest(), "big")


class AnsweredLru:
    def __init__(self, max_entries: int = 500_000) -> None:
        self._answered = DigestSet(max_entries)
        self._in_progress: dict[RequestName, int] = {}  # name -> its digest (computed once per request)

    def claim(self, tenant_id: str, request_id: str) -> bool:
        name = (tenant_id, request_id)
        if name in self._in_progress:
            return False
        digest = _digest(tenant_id, request_id)
        if digest in self._answered:
            return False
        self._in_progress[name] = digest
        return True

    def finish(self, tenant_id: str, request_id: str, answered: bool) -> None:
        digest = self._in_progress.pop((tenant_id, request_id), None)
        if answered:
            self.add(tenant_id, request_id, digest)

    def add(self, tenant_id: str, request_id: str, digest: int | None = None) -> None:
        self._answered.add(_digest(tenant_id, request_id) if digest is None else digest)

    def __contains__(self, name: object) -> bool:
        if not (isinstance(name, tuple) and len(name) == 2 and all(isinstance(part, str) for part in name)):
            return False
        return _digest(name[0], name[1]) in self._answered

    def __len__(self) -> int:
        return len(self._answered)
