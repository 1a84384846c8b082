import pytest

from s2svr.train.sampler import StepSampler


def _take(sampler, n):
    it = iter(sampler)
    return [next(it) for _ in range(n)]


def test_ranks_partition_the_single_process_batches():
    single = _take(StepSampler(10, batch_size=4, seed=3), 4 * 7)
    shards = [_take(StepSampler(10, batch_size=4, seed=3, rank=r, world_size=2), 2 * 7) for r in range(2)]
    for step in range(7):
        merged = shards[0][2 * step:2 * step + 2] + shards[1][2 * step:2 * step + 2]
        assert merged == single[4 * step:4 * step + 4]


def test_resuming_at_a_step_continues_the_same_order():
    full = _take(StepSampler(7, batch_size=3, seed=1), 3 * 9)
    resumed = _take(StepSampler(7, batch_size=3, seed=1, start_step=5), 3 * 4)
    assert resumed == full[15:]


def test_each_epoch_visits_every_item_once_and_epochs_differ():
    items = _take(StepSampler(6, batch_size=2, seed=0), 12)
    e0, e1 = [i for i, e in items if e == 0], [i for i, e in items if e == 1]
    assert sorted(e0) == list(range(6)) and sorted(e1) == list(range(6)) and e0 != e1


def test_batch_not_divisible_by_world_size_is_refused():
    with pytest.raises(ValueError, match="not divisible"):
        StepSampler(5, batch_size=3, world_size=2)
