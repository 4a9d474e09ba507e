"""MSMT17 V1 and V2 layouts: list files, train + val, cameras from the third name field."""

import warnings

import pytest
from data_fakes import make_msmt17

from rga.data import DatasetFormatError, DatasetNotFoundError, load_dataset


def load_quiet(root, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset("msmt17", root, verbose=False, **options)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_msmt17_layouts(tmp_path, version):
    data = load_quiet(make_msmt17(tmp_path, version, train_ids=(3, 5, 8)))
    assert data.root.endswith("MSMT17_V1" if version == "v1" else "MSMT17_V2")
    assert len(data.train) == 9  # 2 train + 1 val image per id
    assert sorted({s.pid for s in data.train}) == [0, 1, 2]
    assert {s.camid for s in data.train} == {0, 2, 3}
    assert {s.camid for s in data.gallery} == {0, 14}  # camera 15 -> 14
    assert data.statistics()["images"].tolist() == [9, 2, 4]
    train_dir = "train" if version == "v1" else "mask_train_v2"
    assert all(f"/{train_dir}/" in s.path for s in data.train)


def test_msmt17_version_choice(tmp_path):
    make_msmt17(tmp_path, "v1")
    make_msmt17(tmp_path, "v2", test_ids=(0, 1, 2))
    assert load_quiet(tmp_path).root.endswith("MSMT17_V1")
    assert len(load_quiet(tmp_path, version="v2").query) == 3
    with pytest.raises(ValueError, match="v1, v2"):
        load_quiet(tmp_path, version="v3")


def test_msmt17_warns_against_published_counts(tmp_path):
    with pytest.warns(UserWarning, match="published 1041 / 32621"):
        load_dataset("msmt17", make_msmt17(tmp_path), verbose=False)


def test_msmt17_missing_names_layout_and_source(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"MSMT17_V1/\{train,test\}.*pkuvmc"):
        load_dataset("msmt17", tmp_path)


def test_msmt17_missing_list(tmp_path):
    make_msmt17(tmp_path)
    (tmp_path / "MSMT17_V1" / "list_val.txt").unlink()
    with pytest.raises(DatasetNotFoundError, match="list_val.txt"):
        load_quiet(tmp_path)


def test_msmt17_bad_line_is_named(tmp_path):
    make_msmt17(tmp_path)
    with open(tmp_path / "MSMT17_V1" / "list_query.txt", "a") as f:
        f.write("0001/oddname.jpg 1\n")
    with pytest.raises(DatasetFormatError, match=r"line 3 of .*list_query.txt"):
        load_quiet(tmp_path)


def test_msmt17_empty_split(tmp_path):
    make_msmt17(tmp_path)
    (tmp_path / "MSMT17_V1" / "list_gallery.txt").write_text("\n")
    with pytest.raises(DatasetFormatError, match="gallery split"):
        load_quiet(tmp_path)


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("torchreid", [True, False], ids=["torchreid-root", "parent"])
def test_msmt17_every_accepted_root(tmp_path, version, torchreid):
    parent = tmp_path / "msmt17" if torchreid else tmp_path
    make_msmt17(parent, version)
    folder = parent / ("MSMT17_V1" if version == "v1" else "MSMT17_V2")
    for root in (tmp_path, parent, folder):  # torchreid's data root, msmt17/, MSMT17_V1/ itself
        data = load_quiet(root)
        assert data.root == str(folder), root
        assert data.statistics()["images"].tolist() == [6 + 3, 2, 4]
    assert load_quiet(tmp_path, version=version).root == str(folder)


def test_msmt17_missing_image_folder_is_named(tmp_path):
    make_msmt17(tmp_path / "msmt17")
    folder = tmp_path / "msmt17" / "MSMT17_V1"
    (folder / "test").rename(folder / "test_images")
    with pytest.raises(
        DatasetNotFoundError, match=rf"{folder}: test/ is missing \(train/ is there\)"
    ):
        load_quiet(tmp_path)


def test_msmt17_empty_gallery_names_its_list(tmp_path):
    make_msmt17(tmp_path)
    (tmp_path / "MSMT17_V1" / "list_gallery.txt").write_text("")
    with pytest.raises(DatasetFormatError, match=r"gallery split \(.*list_gallery.txt\) is empty"):
        load_quiet(tmp_path)
