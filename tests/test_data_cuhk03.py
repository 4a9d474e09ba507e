"""CUHK03 new protocol: the CUHK03-NP folders and the cuhk-03.mat conversion."""

import shutil
import sys
import warnings

import numpy as np
import pytest
from data_fakes import fake_pixels, make_cuhk03_np, make_cuhk03_release
from PIL import Image

from rga.data import DatasetFormatError, DatasetNotFoundError, load_dataset
from rga.data import cuhk03 as cuhk03_module


def load_quiet(name, root):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset(name, root, verbose=False)


@pytest.mark.parametrize("variant", ["labeled", "detected"])
def test_cuhk03_np_folders(tmp_path, variant):
    make_cuhk03_np(tmp_path, variant)
    data = load_quiet(f"cuhk03-{variant}", tmp_path)
    assert data.name == f"cuhk03-{variant}"
    assert data.root.endswith(f"cuhk03-np/{variant}")
    assert sorted({s.pid for s in data.train}) == [0, 1, 2]
    assert {s.pid for s in data.query} == {4, 5} == {s.pid for s in data.gallery}
    assert {s.camid for s in data.query} == {0, 1}
    assert data.statistics()["images"].tolist() == [6, 4, 4]


def test_cuhk03_np_warns_against_published_counts(tmp_path):
    make_cuhk03_np(tmp_path, "detected")
    with pytest.warns(UserWarning, match="published 767 / 7365"):
        load_dataset("cuhk03-detected", tmp_path, verbose=False)


@pytest.mark.parametrize("variant", ["labeled", "detected"])
def test_cuhk03_mat_conversion(tmp_path, variant):
    pytest.importorskip("h5py")
    sizes = make_cuhk03_release(tmp_path)
    data = load_quiet(f"cuhk03-{variant}", tmp_path)
    assert data.root == str(tmp_path / "converted" / variant)
    assert data.statistics()["images"].tolist() == [
        sizes["train"],
        sizes["query"],
        sizes["gallery"],
    ]
    assert data.num_train_pids == 3
    assert {s.pid for s in data.query} == {4, 5}  # labels of the split file, kept
    assert {s.camid for s in data.train} == {0, 1}  # view 1/2 -> 0/1
    # pair 2, person 1 (label 4), view 2, slot 6 (index 5): pixels survive the transposes
    sample = next(s for s in data.query if s.path.endswith("0004_c2_2_001_2_06.png"))
    assert sample.camid == 1
    np.testing.assert_array_equal(np.asarray(Image.open(sample.path)), fake_pixels(2, 1, 5))


def test_cuhk03_mat_converted_once(tmp_path, monkeypatch):
    pytest.importorskip("h5py")
    make_cuhk03_release(tmp_path)
    first = load_quiet("cuhk03-labeled", tmp_path)

    def fail(*args, **kwargs):
        raise AssertionError("converted twice")

    monkeypatch.setattr(cuhk03_module, "convert_release", fail)
    second = load_quiet("cuhk03-labeled", tmp_path)
    assert first.train == second.train
    assert not list(tmp_path.glob("converted/*.tmp-*"))


def test_cuhk03_without_h5py_says_how_to_fix(tmp_path, monkeypatch):
    pytest.importorskip("h5py")
    make_cuhk03_release(tmp_path)
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py now raises ImportError
    with pytest.raises(ImportError, match="pip install h5py"):
        load_quiet("cuhk03-labeled", tmp_path)


def test_cuhk03_missing_names_both_layouts_and_sources(tmp_path):
    (tmp_path / "cuhk03_release").mkdir()
    (tmp_path / "cuhk03_release" / "cuhk-03.mat").touch()
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("cuhk03-labeled", tmp_path)
    message = str(info.value)
    assert "cuhk03_new_protocol_config_labeled.mat" in message  # the missing piece
    assert "cuhk03-np/labeled" in message and "person-re-ranking" in message
    assert "CUHK" in message


@pytest.mark.parametrize("variant", ["labeled", "detected"])
def test_cuhk03_np_every_accepted_root(tmp_path, variant):
    make_cuhk03_np(tmp_path / "cuhk03", variant)  # torchreid's root holds cuhk03/
    folder = tmp_path / "cuhk03" / "cuhk03-np" / variant
    for root in (tmp_path, tmp_path / "cuhk03", tmp_path / "cuhk03" / "cuhk03-np"):
        data = load_quiet(f"cuhk03-{variant}", root)
        assert data.root == str(folder), root
        assert data.statistics()["images"].tolist() == [6, 4, 4]


@pytest.mark.parametrize("variant", ["labeled", "detected"])
def test_cuhk03_mat_under_torchreid_root(tmp_path, variant, monkeypatch):
    pytest.importorskip("h5py")
    # torchreid: <root>/cuhk03/cuhk03_release/cuhk-03.mat, the split files in <root>/cuhk03/
    sizes = make_cuhk03_release(tmp_path / "cuhk03")
    data = load_quiet(f"cuhk03-{variant}", tmp_path)
    converted = tmp_path / "cuhk03" / "converted" / variant
    assert data.root == str(converted)
    assert data.statistics()["images"].tolist() == [sizes[s] for s in ("train", "query", "gallery")]

    def fail(*args, **kwargs):
        raise AssertionError("converted twice")

    monkeypatch.setattr(cuhk03_module, "convert_release", fail)
    for root in (tmp_path, tmp_path / "cuhk03"):  # either root finds the one conversion
        assert load_quiet(f"cuhk03-{variant}", root).train == data.train


def test_cuhk03_missing_query_says_query_is_missing(tmp_path):
    make_cuhk03_np(tmp_path / "cuhk03", "labeled")
    folder = tmp_path / "cuhk03" / "cuhk03-np" / "labeled"
    shutil.rmtree(folder / "query")
    with pytest.raises(DatasetNotFoundError, match=rf"{folder}: query/ is missing"):
        load_quiet("cuhk03-labeled", tmp_path)


def test_cuhk03_empty_gallery_names_bounding_box_test(tmp_path):
    make_cuhk03_np(tmp_path, "detected")
    for path in (tmp_path / "cuhk03-np" / "detected" / "bounding_box_test").iterdir():
        path.unlink()
    with pytest.raises(
        DatasetFormatError, match=r"gallery split \(.*/bounding_box_test/\) is empty"
    ):
        load_quiet("cuhk03-detected", tmp_path)


def test_cuhk03_torchreid_root_missing_split_file_is_named(tmp_path):
    (tmp_path / "cuhk03" / "cuhk03_release").mkdir(parents=True)
    (tmp_path / "cuhk03" / "cuhk03_release" / "cuhk-03.mat").touch()
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("cuhk03-detected", tmp_path)
    message = str(info.value)
    assert (
        "missing cuhk03_new_protocol_config_detected.mat in " + str(tmp_path / "cuhk03") in message
    )
    assert "cuhk-03.mat" not in message.split("Expected")[0].split("missing")[1]
