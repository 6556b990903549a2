"""A bounded set of 128-bit digests that forgets the oldest first, kept in flat arrays of machine words.

A Python set of ints plus an age deque costs ~94 B per digest (the int objects, the set's slots, the deque);
here a digest is two 64-bit words in an open-addressing table kept at most 60% full, plus two words in a ring
of insertion order: ~45 B per digest when full, and no objects for the garbage collector to walk. The table
starts small and doubles as it fills (a rehash walks the ring once), so an empty store costs next to nothing.
Removal is the backward-shift deletion of linear probing, so no tombstones pile up.
"""

from __future__ import annotations

from array import array

_LOW = (1 << 64) - 1
_SMALLEST_TABLE = 1 << 10
_MAX_LOAD = 0.6


class DigestSet:
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._ring = array("Q")  # insertion order: words 2k (high), 2k+1 (low)
        self._next = 0  # once the ring is full, the position of the oldest digest
        self._size = 0
        self._largest = max(_SMALLEST_TABLE, int(capacity / _MAX_LOAD) + 1)
        self._allocate(min(_SMALLEST_TABLE, self._largest))

    def _allocate(self, slots: int) -> None:
        self._slots = slots
        self._table = array("Q", bytes(16 * slots))  # slot i: words 2i (high), 2i+1 (low); high 0 = empty

    def _slot(self, high: int, low: int) -> int:
        """The slot holding (high, low), or the empty slot where its probe ends."""
        table, slots = self._table, self._slots
        i = low % slots
        while True:
            word = table[2 * i]
            if word == 0 or (word == high and table[2 * i + 1] == low):
                return i
            i += 1
            if i == slots:
                i = 0

    def __contains__(self, digest: int) -> bool:
        return self._table[2 * self._slot(((digest >> 64) & _LOW) | 1, digest & _LOW)] != 0

    def __len__(self) -> int:
        return self._size

    def add(self, digest: int) -> bool:
        """Add a digest (forgetting the oldest when full); False when it was already there."""
        high, low = ((digest >> 64) & _LOW) | 1, digest & _LOW  # the high word's low bit set: a used slot is never 0
        i = self._slot(high, low)
        if self._table[2 * i] != 0:
            return False
        if self._size == self._capacity:
            oldest = 2 * self._next
            self._remove_slot(self._slot(self._ring[oldest], self._ring[oldest + 1]))
            self._ring[oldest], self._ring[oldest + 1] = high, low
            self._next = (self._next + 1) % self._capacity
            i = self._slot(high, low)  # the removal may have moved entries back
        else:
            if self._size + 1 > _MAX_LOAD * self._slots and self._slots < self._largest:
                self._grow()
                i = self._slot(high, low)
            self._ring.append(high)
            self._ring.append(low)
            self._size += 1
        self._table[2 * i], self._table[2 * i + 1] = high, low
        return True

    def _grow(self) -> None:
        self._allocate(min(2 * self._slots, self._largest))
        table, ring = self._table, self._ring
        for k in range(0, len(ring), 2):
            i = self._slot(ring[k], ring[k + 1])
            table[2 * i], table[2 * i + 1] = ring[k], ring[k + 1]

    def _remove_slot(self, i: int) -> None:
        """Empty slot i, moving back the entries after it whose probe would otherwise pass the hole."""
        table, slots = self._table, self._slots
        j = i
        while True:
            j = j + 1 if j + 1 < slots else 0
            high = table[2 * j]
            if high == 0:
                break
            home = table[2 * j + 1] % slots
            # an entry may fill the hole unless its home lies cyclically in (i, j]
            if (home <= i or home > j) if i <= j else (home <= i and home > j):
                table[2 * i], table[2 * i + 1] = high, table[2 * j + 1]
                i = j
        table[2 * i] = table[2 * i + 1] = 0
