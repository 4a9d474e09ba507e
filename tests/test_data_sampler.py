"""RandomIdentitySampler: P x K batches, one pass over the ids, seeding, resume, DDP shares."""

from collections import Counter

import pytest

from rga.data import RandomIdentitySampler, Sample

# 10 ids with 2 to 7 images; ids 0, 3, 5 have fewer than K=4 (drawn with replacement).
COUNTS = {pid: (2 if pid == 3 else 3 + pid % 5) for pid in range(10)}
SAMPLES = [
    Sample(f"{pid}_{n}.jpg", pid, 0) for pid, n_images in COUNTS.items() for n in range(n_images)
]


def batches(sampler, size):
    indices = list(sampler)
    assert len(indices) == len(sampler)
    return [indices[i : i + size] for i in range(0, len(indices), size)]


def test_pk_batches_and_one_pass_over_ids():
    sampler = RandomIdentitySampler(SAMPLES, batch_size=8, num_instances=4, seed=1)
    # 10 ids x 4 = 40 indices -> 5 batches of 8 (nothing dropped here)
    assert len(sampler) == 40
    seen = []
    for batch in batches(sampler, 8):
        pids = [SAMPLES[i].pid for i in batch]
        groups = [pids[k : k + 4] for k in range(0, 8, 4)]
        assert all(len(set(g)) == 1 for g in groups)  # consecutive groups of K of one id
        assert groups[0][0] != groups[1][0]
        seen += [g[0] for g in groups]
    assert sorted(seen) == list(range(10))  # every id exactly once per epoch
    for batch in batches(sampler, 8):
        for k in range(0, 8, 4):
            group = batch[k : k + 4]
            if COUNTS[SAMPLES[group[0]].pid] >= 4:
                assert len(set(group)) == 4  # without replacement when the id has >= K images


def test_drop_last_truncation():
    sampler = RandomIdentitySampler(SAMPLES, batch_size=12, num_instances=4, seed=0)
    assert len(sampler) == 36  # 40 -> 3 whole batches of 12
    pids = Counter(SAMPLES[i].pid for i in sampler)
    assert len(pids) == 9 and set(pids.values()) == {4}


def test_seed_and_epoch_determinism():
    a = RandomIdentitySampler(SAMPLES, batch_size=8, num_instances=4, seed=5)
    b = RandomIdentitySampler(SAMPLES, batch_size=8, num_instances=4, seed=5)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    assert list(RandomIdentitySampler(SAMPLES, batch_size=8, seed=6)) != first


def test_state_round_trip():
    a = RandomIdentitySampler(SAMPLES, batch_size=8, num_instances=4, seed=3)
    a.set_epoch(7)
    b = RandomIdentitySampler(SAMPLES, batch_size=8, num_instances=4, seed=0)
    b.load_state_dict(a.state_dict())
    assert list(b) == list(a) and b.epoch == 7
    c = RandomIdentitySampler(SAMPLES, batch_size=16, num_instances=4)
    with pytest.raises(ValueError, match="batch_size=8"):
        c.load_state_dict(a.state_dict())


@pytest.mark.parametrize("world_size", [2, 4])
def test_ddp_shares_split_each_global_batch(world_size):
    single = RandomIdentitySampler(SAMPLES, batch_size=8, num_instances=2, seed=2)
    global_batches = batches(single, 8)
    local = 8 // world_size
    shares = [
        batches(RandomIdentitySampler(SAMPLES, 8, 2, seed=2, rank=r, world_size=world_size), local)
        for r in range(world_size)
    ]
    assert all(len(s) == len(global_batches) for s in shares)
    for step, global_batch in enumerate(global_batches):
        parts = [shares[r][step] for r in range(world_size)]
        assert sum(parts, []) == global_batch  # disjoint parts that cover the global batch
        part_pids = [{SAMPLES[i].pid for i in part} for part in parts]
        assert all(len(p) == 8 // 2 // world_size for p in part_pids)  # whole identity groups
        assert len(set().union(*part_pids)) == sum(len(p) for p in part_pids)


def test_invalid_settings():
    with pytest.raises(ValueError, match="multiple of num_instances"):
        RandomIdentitySampler(SAMPLES, batch_size=10, num_instances=4)
    with pytest.raises(ValueError, match="divisible by world_size"):
        RandomIdentitySampler(SAMPLES, batch_size=12, num_instances=4, world_size=2)
    with pytest.raises(ValueError, match="10 identities"):
        RandomIdentitySampler(SAMPLES, batch_size=64, num_instances=4)
