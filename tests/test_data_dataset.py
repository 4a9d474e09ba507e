"""ImageDataset: items, the decoded-image cache, corrupt files."""

import pytest
import torch
from data_fakes import IMAGE_SIZE, write_image
from torch.utils.data import DataLoader

from rga.data import (
    CorruptImageError,
    ImageDataset,
    RandomIdentitySampler,
    Sample,
    build_transforms,
)
from rga.data import dataset as dataset_module


def make_samples(tmp_path, n=3):
    return [Sample(str(write_image(tmp_path / f"{i}.jpg", 40 * i)), i, i % 2) for i in range(n)]


def test_item_is_tensor_pid_camid_index(tmp_path):
    samples = make_samples(tmp_path)
    data = ImageDataset(samples, transform=build_transforms(16, 8, train=False))
    image, pid, camid, index = data[2]
    assert image.shape == (3, 16, 8) and image.dtype == torch.float32
    assert (pid, camid, index) == (2, 0, 2)
    plain = ImageDataset(samples)[1][0]  # no transform: the image as a [0, 1] tensor
    assert plain.shape == (3, IMAGE_SIZE[1], IMAGE_SIZE[0]) and 0 <= plain.min() <= plain.max() <= 1


def test_cache_decodes_each_file_once(tmp_path, monkeypatch):
    samples = make_samples(tmp_path)
    reads = []
    real_read = dataset_module.read_image
    monkeypatch.setattr(dataset_module, "read_image", lambda p: reads.append(p) or real_read(p))
    data = ImageDataset(samples, cache_images=True)
    first = [data[i][0] for i in range(3)]
    second = [data[i][0] for i in range(3)]
    assert len(reads) == 3
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    uncached = ImageDataset(samples)
    uncached[0], uncached[0]
    assert len(reads) == 5


def test_preload_fills_cache(tmp_path):
    data = ImageDataset(make_samples(tmp_path), cache_images=True).preload()
    for sample in data.samples:
        (tmp_path / sample.path).unlink()  # served from memory from now on
    assert data[1][1] == 1
    with pytest.raises(ValueError, match="cache_images=True"):
        ImageDataset(make_samples(tmp_path)).preload()


def test_corrupt_image_is_named(tmp_path):
    samples = make_samples(tmp_path)
    (tmp_path / "1.jpg").write_bytes(b"\xff\xd8\xff truncated")
    data = ImageDataset(samples)
    data[0]
    with pytest.raises(CorruptImageError, match=r"1\.jpg.*skip_corrupt=True"):
        data[1]


def test_skip_corrupt_warns_and_counts(tmp_path):
    samples = make_samples(tmp_path, n=4)
    (tmp_path / "2.jpg").write_bytes(b"")
    with pytest.warns(UserWarning, match="skipped 1 corrupt image"):
        data = ImageDataset(samples, skip_corrupt=True, cache_images=True)
    assert data.num_skipped == 1 and data.skipped == [str(tmp_path / "2.jpg")]
    assert len(data) == 3 and [s.pid for s in data.samples] == [0, 1, 3]
    assert data[2][1:] == (3, 1, 2)


def test_dataloader_with_identity_sampler(tmp_path):
    samples = [
        Sample(str(write_image(tmp_path / f"{pid}_{n}.jpg", 10 * pid + n)), pid, n % 2)
        for pid in range(4)
        for n in range(3)
    ]
    data = ImageDataset(samples, build_transforms(16, 8, train=True), cache_images=True)
    sampler = RandomIdentitySampler(samples, batch_size=4, num_instances=2, seed=0)
    loader = DataLoader(data, batch_size=4, sampler=sampler, drop_last=True)
    seen = set()
    for images, pids, camids, indices in loader:
        assert images.shape == (4, 3, 16, 8)
        assert camids.tolist() == [samples[i].camid for i in indices]
        assert pids[0] == pids[1] and pids[2] == pids[3] and pids[0] != pids[2]
        assert [samples[i].pid for i in indices] == pids.tolist()
        seen |= set(pids.tolist())
    assert seen == {0, 1, 2, 3}
