"""The flat digest set behaves exactly like a set with an age queue (the oldest forgotten first), including
digests that share a home slot, probes that wrap around a shard's end, and removals in the middle of a run."""

from __future__ import annotations

import random
import tracemalloc
from collections import deque
from collections.abc import Iterator

import pytest
from byok_inference.adapters.digest_set import DigestSet
from hypothesis import given, settings
from hypothesis import strategies as st


class Reference:
    def __init__(self, capacity: int) -> None:
        self.capacity, self.members, self.ages = capacity, set[int](), deque[int]()

    def add(self, digest: int) -> bool:
        key = digest | (1 << 64)  # the set keeps 127 bits: the high word's low bit is always set
        if key in self.members:
            return False
        self.members.add(key)
        self.ages.append(key)
        if len(self.ages) > self.capacity:
            self.members.discard(self.ages.popleft())
        return True

    def __contains__(self, digest: int) -> bool:
        return digest | (1 << 64) in self.members


def clustered(draw_low: st.SearchStrategy[int]) -> st.SearchStrategy[int]:
    """Digests whose low words (the table index) crowd into a few slots, some near the table's end."""
    return st.builds(lambda high, low: (high << 64) | low, st.integers(0, (1 << 64) - 1), draw_low)


# low words decide the shard (their 6 low bits) and the home slot (the rest): crowd a few shards' first and
# last slots, so probes collide and wrap around a shard's end and removals happen in the middle of a run
CROWDED = st.builds(lambda k, shard: (k << 6) | shard, st.integers(0, 40), st.sampled_from([0, 5, 63]))
LOWS = st.one_of(CROWDED, st.integers(0, (1 << 64) - 1))


@settings(max_examples=300, deadline=None)
@given(
    capacity=st.integers(1, 1_000), digests=st.lists(clustered(LOWS), max_size=1_500), probes=st.lists(clustered(LOWS))
)
def test_the_set_matches_a_set_with_an_age_queue(capacity: int, digests: list[int], probes: list[int]) -> None:
    fast, reference = DigestSet(capacity), Reference(capacity)
    for digest in digests:
        assert fast.add(digest) == reference.add(digest)
        assert len(fast) == len(reference.members)
    for digest in digests + probes:
        assert (digest in fast) == (digest in reference), hex(digest)


def test_a_million_adds_through_growth_and_eviction_match_the_reference() -> None:
    rng = random.Random(7)
    fast, reference = DigestSet(50_000), Reference(50_000)
    for _ in range(200_000):
        digest = rng.getrandbits(128) if rng.random() < 0.9 else rng.getrandbits(64)  # some share a high word
        assert fast.add(digest) == reference.add(digest)
    assert len(fast) == 50_000
    sample = list(reference.members)[:5_000] + [rng.getrandbits(128) for _ in range(5_000)]
    assert all((d in fast) == (d in reference) for d in sample)


def test_a_full_store_costs_well_under_a_set_of_ints() -> None:
    """Against the set of ints with an age deque the store used to be."""
    n = 125_000

    def digests() -> Iterator[int]:
        rng = random.Random(1)
        return (rng.getrandbits(128) for _ in range(n))

    tracemalloc.start()
    fast = DigestSet(n)
    for d in digests():
        fast.add(d)
    flat, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del fast
    tracemalloc.start()
    members, ages = set[int](), deque[int]()
    for d in digests():
        members.add(d)
        ages.append(d)
    as_objects, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del members, ages
    print(f"flat {flat / n:.1f} B per digest, set + deque {as_objects / n:.1f} B")
    assert flat / n <= 52, f"{flat / n:.1f} B per digest"
    assert flat < 0.62 * as_objects


def test_no_add_re_inserts_more_than_a_shard() -> None:
    """A growth re-inserts one shard's digests in Python: bounded, so one add never stalls the worker for long."""
    rng = random.Random(5)
    store = DigestSet(100_000)
    for _ in range(150_000):
        store.add(rng.getrandbits(128))
    assert 0 < store.largest_growth <= 100_000 // 32


def test_a_capacity_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="capacity"):
        DigestSet(0)


def test_answered_digests_are_keyed_per_process_so_ids_cannot_be_chosen_to_crowd_the_table() -> None:
    import subprocess
    import sys
    from hashlib import blake2b

    from byok_inference.adapters import answered

    raw = (1).to_bytes(4, "big") + b"t" + b"r"
    assert answered._digest("t", "r") != int.from_bytes(blake2b(raw, digest_size=16).digest(), "big")
    code = "from byok_inference.adapters.answered import _digest; print(_digest('t', 'r'))"
    runs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout for _ in "ab"
    }
    assert len(runs) == 2, "two processes digest the same name differently"
