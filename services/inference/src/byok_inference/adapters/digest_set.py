"""A bounded set of 128-bit digests that forgets the oldest first, kept in flat arrays of machine words.

A Python set of ints plus an age deque costs ~94 B per digest (the int objects, the set's slots, the deque);
here a digest is two 64-bit words in an open-addressing table kept at most 60% full, plus two words in a ring
of insertion order: ~50 B per digest when full, and no objects for the garbage collector to walk.

The table is split into 64 shards (by digest bits) that start small and grow by a quarter as they fill: a
growth re-inserts one shard's digests in Python, so one add never stalls the event loop for long (one
table of 500,000 digests took 182 ms to grow; a shard of it takes a few ms). Removal is the backward-shift
deletion of linear probing, so no tombstones pile up.
"""

from __future__ import annotations

from array import array

_LOW = (1 << 64) - 1
_SHARD_BITS = 6
_SHARDS = 1 << _SHARD_BITS
_SMALLEST_SHARD = 16
_MAX_LOAD = 0.6


class _Shard:
    """Linear probing over (high, low) word pairs; high 0 marks an empty slot."""

    __slots__ = ("size", "slots", "table")

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.size = 0
        self.table = array("Q", bytes(16 * slots))  # slot i: words 2i (high), 2i+1 (low)

    def slot(self, high: int, low: int) -> int:
        """The slot holding (high, low), or the empty slot where its probe ends."""
        table, slots = self.table, self.slots
        i = (low >> _SHARD_BITS) % slots
        while True:
            word = table[2 * i]
            if word == 0 or (word == high and table[2 * i + 1] == low):
                return i
            i += 1
            if i == slots:
                i = 0

    def put(self, i: int, high: int, low: int) -> None:
        self.table[2 * i], self.table[2 * i + 1] = high, low
        self.size += 1

    def grown(self) -> _Shard:
        bigger = _Shard(self.slots + self.slots // 4)
        table = self.table
        for i in range(self.slots):
            if (high := table[2 * i]) != 0:
                low = table[2 * i + 1]
                bigger.put(bigger.slot(high, low), high, low)
        return bigger

    def remove(self, i: int) -> None:
        """Empty slot i, moving back the entries after it whose probe would otherwise pass the hole."""
        table, slots = self.table, self.slots
        j = i
        while True:
            j = j + 1 if j + 1 < slots else 0
            high = table[2 * j]
            if high == 0:
                break
            home = (table[2 * j + 1] >> _SHARD_BITS) % slots
            # an entry may fill the hole unless its home lies cyclically in (i, j]
            if (home <= i or home > j) if i <= j else (home <= i and home > j):
                table[2 * i], table[2 * i + 1] = high, table[2 * j + 1]
                i = j
        table[2 * i] = table[2 * i + 1] = 0
        self.size -= 1


class DigestSet:
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._shards = [_Shard(_SMALLEST_SHARD) for _ in range(_SHARDS)]
        self._ring = array("Q")  # insertion order: words 2k (high), 2k+1 (low)
        self._next = 0  # once the ring is full, the position of the oldest digest
        self._size = 0
        self.largest_growth = 0  # the most digests one add re-inserted (a shard's growth)

    def __contains__(self, digest: int) -> bool:
        high, low = ((digest >> 64) & _LOW) | 1, digest & _LOW
        shard = self._shards[low & (_SHARDS - 1)]
        return shard.table[2 * shard.slot(high, low)] != 0

    def __len__(self) -> int:
        return self._size

    def add(self, digest: int) -> bool:
        """Add a digest (forgetting the oldest when full); False when it was already there."""
        high, low = ((digest >> 64) & _LOW) | 1, digest & _LOW  # the high word's low bit set: a used slot is never 0
        index = low & (_SHARDS - 1)
        shard = self._shards[index]
        i = shard.slot(high, low)
        if shard.table[2 * i] != 0:
            return False
        if self._size == self._capacity:
            oldest = 2 * self._next
            old_high, old_low = self._ring[oldest], self._ring[oldest + 1]
            old_shard = self._shards[old_low & (_SHARDS - 1)]
            old_shard.remove(old_shard.slot(old_high, old_low))
            self._ring[oldest], self._ring[oldest + 1] = high, low
            self._next = (self._next + 1) % self._capacity
            i = shard.slot(high, low)  # the removal may have moved entries back
        else:
            self._ring.append(high)
            self._ring.append(low)
            self._size += 1
        if shard.size + 1 > _MAX_LOAD * shard.slots:
            self.largest_growth = max(self.largest_growth, shard.size)
            shard = self._shards[index] = shard.grown()
            i = shard.slot(high, low)
        shard.put(i, high, low)
        return True
