"""verify_images: every image decoded once per dataset, every bad file named, skipping on request."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from data_fakes import make_market, make_msmt17
from PIL import Image

from rga.data import (
    CorruptImageError,
    DatasetFormatError,
    check_image,
    dataset_fingerprint,
    load_dataset,
    verify_images,
)
from rga.data import verify as verify_module

TRAIN_IMAGE = "bounding_box_train/0007_c2s1_000072_01.jpg"  # pid 7 (train label 1), camera 2
GALLERY_IMAGE = "bounding_box_test/0003_c1s2_000031_01.jpg"


def load(root, name="market1501"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fake never matches the published counts
        return load_dataset(name, root, verbose=False)


def truncate_jpeg(path):
    """Replace ``path`` by the first two thirds of a noisy 64x32 JPEG: the header parses, the
    pixel data stops early (what an interrupted copy leaves)."""
    pixels = np.random.default_rng(0).integers(0, 256, (64, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def count_decodes(monkeypatch):
    calls = []
    real = verify_module.check_image
    monkeypatch.setattr(verify_module, "check_image", lambda p: calls.append(p) or real(p))
    return calls


def test_check_image_reasons(tmp_path):
    root = make_market(tmp_path)
    assert check_image(root / TRAIN_IMAGE) is None
    assert "truncated" in check_image(truncate_jpeg(root / TRAIN_IMAGE))
    (root / GALLERY_IMAGE).write_bytes(b"")
    assert check_image(root / GALLERY_IMAGE).startswith("UnidentifiedImageError")
    assert check_image(tmp_path / "absent.jpg") == "no such file"


def test_clean_dataset_is_returned_and_remembered(tmp_path, monkeypatch, capsys):
    data = load(make_market(tmp_path))
    calls = count_decodes(monkeypatch)
    assert verify_images(data) is data
    assert len(calls) == 9 + 4 + 8 and "verifying 21 images" in capsys.readouterr().out
    marker = tmp_path / ".verified" / f"{dataset_fingerprint(data)}.json"
    assert json.loads(marker.read_text())["bad"] == {}
    assert verify_images(data) is data
    assert len(calls) == 21  # the second call decodes nothing
    assert capsys.readouterr().out == ""


def test_truncated_and_empty_files_are_all_named(tmp_path):
    root = make_market(tmp_path)
    truncate_jpeg(root / TRAIN_IMAGE)
    (root / GALLERY_IMAGE).write_bytes(b"")
    data = load(root)
    for _ in range(2):  # the first call decodes everything, the second only the known bad files
        with pytest.raises(CorruptImageError) as info:
            verify_images(data, verbose=False)
        message = str(info.value)
        assert "2 of 21 images of market1501" in message
        assert f"{root / TRAIN_IMAGE} (train): OSError: image file is truncated" in message
        assert f"{root / GALLERY_IMAGE} (gallery): UnidentifiedImageError" in message
        assert "skip_corrupt=True" in message and "good copies" in message
    assert isinstance(info.value, OSError)


def test_second_call_rechecks_only_the_known_bad_files(tmp_path, monkeypatch):
    root = make_market(tmp_path)
    (root / GALLERY_IMAGE).write_bytes(b"")
    data = load(root)
    with pytest.raises(CorruptImageError):
        verify_images(data, verbose=False)
    calls = count_decodes(monkeypatch)
    with pytest.raises(CorruptImageError, match="1 of 21"):
        verify_images(data, verbose=False)
    assert calls == [str(root / GALLERY_IMAGE)]


def test_skip_drops_bad_files_warns_and_relabels_train(tmp_path):
    root = make_market(tmp_path)
    for path in sorted((root / "bounding_box_train").glob("0007_*.jpg")):
        truncate_jpeg(path)  # every image of train id 7
    (root / GALLERY_IMAGE).write_bytes(b"")
    data = load(root)
    with pytest.warns(UserWarning, match=r"left out 4 corrupt image\(s\) of market1501") as caught:
        kept = verify_images(data, skip=True, verbose=False)
    warning = str(caught[0].message)
    assert str(root / TRAIN_IMAGE) in warning and str(root / GALLERY_IMAGE) in warning
    assert len(kept.train) == 6 and sorted({s.pid for s in kept.train}) == [0, 1]  # 2, 9
    assert kept.num_train_pids == 2
    assert len(kept.gallery) == 7 and kept.query == data.query
    assert not any(s.path == str(root / GALLERY_IMAGE) for s in kept.gallery)
    assert len(data.train) == 9  # the loaded dataset itself is untouched
    with pytest.warns(UserWarning, match="left out 4"):  # remembered: same result, no decoding
        again = verify_images(data, skip=True, verbose=False)
    assert again.train == kept.train and again.gallery == kept.gallery


def test_skip_that_empties_a_split_is_an_error(tmp_path):
    root = make_market(tmp_path, test_ids=(1,))
    for path in (root / "query").glob("*.jpg"):
        path.write_bytes(b"")
    with pytest.raises(DatasetFormatError, match=r"empties the query split"):
        verify_images(load(root), skip=True, verbose=False)


def test_a_replaced_file_changes_the_fingerprint_and_is_verified_again(tmp_path):
    root = make_market(tmp_path)
    good = (root / TRAIN_IMAGE).read_bytes()
    truncate_jpeg(root / TRAIN_IMAGE)
    with pytest.raises(CorruptImageError):
        verify_images(load(root), verbose=False)
    (root / TRAIN_IMAGE).write_bytes(good)  # the fix: a good copy
    fixed = load(root)
    assert verify_images(fixed, verbose=False) is fixed
    assert len(list((root / ".verified").glob("*.json"))) == 2  # one marker per fingerprint


def test_cache_dir_and_workers(tmp_path):
    root = make_market(tmp_path / "data")
    truncate_jpeg(root / TRAIN_IMAGE)
    data = load(root)
    cache = tmp_path / "cache"
    with pytest.raises(CorruptImageError, match="1 of 21"):
        verify_images(data, cache_dir=cache, workers=2, verbose=False)
    assert [p.name for p in cache.iterdir()] == [f"{dataset_fingerprint(data)}.json"]
    assert not (root / ".verified").exists()
    with pytest.raises(ValueError, match="workers must be an int >= 0"):
        verify_images(data, workers=-1)


def test_unwritable_cache_warns_and_still_verifies(tmp_path):
    data = load(make_market(tmp_path / "data"))
    (tmp_path / "not-a-folder").write_text("")
    with pytest.warns(UserWarning, match="could not remember .*pass cache_dir="):
        assert verify_images(data, cache_dir=tmp_path / "not-a-folder", verbose=False) is data


def test_listed_but_missing_file_is_named(tmp_path):
    make_msmt17(tmp_path)
    data = load(tmp_path, "msmt17")
    missing = data.gallery[-1].path
    Path(missing).unlink()
    with pytest.raises(CorruptImageError, match=rf"{missing} \(gallery\): no such file"):
        verify_images(data, verbose=False)
