import random

from byok_core.kafka import PartitionOffsets
from byok_inference.domain.retry import RetryPolicy


def test_backoff_grows_with_jitter_and_is_bounded() -> None:
    policy = RetryPolicy(attempts=6, base_delay=0.5, max_delay=2.0)
    rand = random.Random(1)
    delays = [policy.delay(a, None, rand) for a in range(1, 6)]
    assert all(d is not None for d in delays)
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(2.0, 0.5 * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert policy.delay(6, None) is None


def test_retry_after_is_honoured_unless_too_long() -> None:
    policy = RetryPolicy(attempts=3, max_retry_after=10)
    assert policy.delay(1, 3.0) == 3.0
    assert policy.delay(1, 30.0) is None
    assert policy.delay(3, 1.0) is None


def test_commit_only_below_the_lowest_unfinished_offset() -> None:
    offsets = PartitionOffsets()
    for o in range(10, 15):
        offsets.started(o)
    assert offsets.committable is None
    offsets.finished(12)
    offsets.finished(11)
    assert offsets.committable is None  # 10 is still running
    offsets.finished(10)
    assert offsets.committable == 13
    assert offsets.needs_commit()
    offsets.committed = 13
    assert not offsets.needs_commit()
    offsets.finished(14)
    assert offsets.committable == 13  # 13 still running
    offsets.finished(13)
    assert offsets.committable == 15
    assert offsets.in_flight == 0


def test_a_record_delivered_twice_in_one_assignment_does_not_stop_commits() -> None:
    """Found by the fault suite: records fetched before a rebalance and handed out again after it were tracked
    twice; the second copy of an offset never finished, and the partition's offset was never committed again."""
    offsets = PartitionOffsets()
    assert all(offsets.started(o) for o in (5, 6, 7))
    assert not offsets.started(6) and not offsets.started(7), "a re-delivery is skipped, not tracked twice"
    for o in (5, 6, 7):
        offsets.finished(o)
    assert offsets.committable == 8 and offsets.in_flight == 0
    assert offsets.started(8)
    offsets.finished(8)
    assert offsets.committable == 9


def test_an_offset_finished_after_its_partition_was_reassigned_changes_nothing() -> None:
    offsets = PartitionOffsets()  # the new assignment's bookkeeping
    offsets.finished(41)  # a task of the previous assignment finishing late
    assert offsets.started(41)
    offsets.started(42)
    offsets.finished(42)
    assert offsets.committable is None, "41 has not run under this assignment"
    offsets.finished(41)
    assert offsets.committable == 43


def test_tune_gc_freezes_start_up_objects_and_raises_the_young_threshold() -> None:
    import gc

    from byok_inference.main import tune_gc

    before = gc.get_threshold()
    try:
        tune_gc(12_345)
        assert gc.get_threshold()[0] == 12_345
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
