"""Market-1501 loader on a fake layout: parsing, relabelling, junk/distractors, errors, warnings."""

import shutil
import sys
import types
import warnings
from pathlib import Path

import pytest
from data_fakes import make_market, write_image

from rga.data import DatasetFormatError, DatasetNotFoundError, load_dataset
from rga.data.dataset import ReIDDataset, report


def load_quiet(root, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fake never matches the published counts
        return load_dataset("market1501", root, verbose=False, **options)


def test_market_parsing_relabel_junk_and_distractors(tmp_path):
    data = load_quiet(make_market(tmp_path))
    assert data.num_train_pids == 3
    assert sorted({s.pid for s in data.train}) == [0, 1, 2]  # 2, 7, 9 relabelled in order
    by_name = {s.path.rsplit("/", 1)[1]: s for s in data.train}
    assert by_name["0009_c3s1_000093_01.jpg"].pid == 2
    assert by_name["0009_c3s1_000093_01.jpg"].camid == 2  # c3 -> 0-based 2
    assert {s.camid for s in data.train} == {0, 1, 2}
    assert {s.pid for s in data.query} == {1, 3}  # test labels kept
    assert {s.pid for s in data.gallery} == {0, 1, 3}  # distractors kept, junk dropped
    assert len(data.gallery) == 2 * 3 + 2
    assert all(s.pid != -1 for s in data.gallery)
    stats = data.statistics()
    assert stats.loc["train"].tolist() == [3, 9, 3]
    assert stats.loc["query"].tolist() == [2, 4, 2]
    assert stats.loc["gallery"].tolist() == [3, 8, 3]


def test_market_drops_distractors_from_train(tmp_path):
    root = make_market(tmp_path)
    write_image(root / "bounding_box_train" / "0000_c1s1_000001_01.jpg")
    write_image(root / "bounding_box_train" / "-1_c1s1_000002_01.jpg")
    data = load_quiet(root)
    assert len(data.train) == 9 and data.num_train_pids == 3


def test_market_parent_folder_and_masks_ignored(tmp_path):
    make_market(tmp_path / "Market-1501-v15.09.15")
    write_image(tmp_path / "Market-1501-v15.09.15" / "masks" / "query" / "bad-name.png")
    data = load_quiet(tmp_path)
    assert data.root.endswith("Market-1501-v15.09.15")
    assert len(data.query) == 4


def test_market_prints_table_and_warns_on_counts(tmp_path, capsys):
    with pytest.warns(UserWarning, match=r"train: 3 ids / 9 images, published 751 / 12936"):
        load_dataset("market1501", make_market(tmp_path), verbose=True)
    out = capsys.readouterr().out
    assert "ids" in out and "images" in out and "cameras" in out and "gallery" in out


def test_no_warning_when_counts_match(tmp_path):
    data = load_quiet(make_market(tmp_path))
    published = {n: tuple(data.statistics().loc[n, ["ids", "images"]]) for n in ("train", "query")}
    matching = ReIDDataset("fake", "x", data.train, data.query, data.gallery, published)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report(matching, verbose=False)


def test_missing_folder_names_layout_and_source(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="bounding_box_train.*Liang Zheng") as info:
        load_dataset("market1501", tmp_path / "nowhere")
    assert isinstance(info.value, FileNotFoundError)


def test_misnamed_split_folder(tmp_path):
    root = make_market(tmp_path)
    (root / "query").rename(root / "queries")
    with pytest.raises(DatasetNotFoundError, match="query"):
        load_quiet(root)


def test_bad_file_name_is_named(tmp_path):
    root = make_market(tmp_path)
    write_image(root / "query" / "person7_cam2.jpg")
    with pytest.raises(DatasetFormatError, match="person7_cam2.jpg"):
        load_quiet(root)


def test_empty_split(tmp_path):
    root = make_market(tmp_path, test_ids=())
    with pytest.raises(DatasetFormatError, match="query split .* is empty"):
        load_quiet(root)


def test_unknown_name_lists_valid_names(tmp_path):
    with pytest.raises(KeyError, match="market1501, cuhk03-labeled.*synthreid"):
        load_dataset("market", tmp_path)


def test_synthreid_goes_through_ensure_synthreid_without_warning(tmp_path, monkeypatch):
    calls = []

    def ensure_synthreid(cache_dir, preset="cpu", **overrides):
        calls.append((cache_dir, preset, overrides))
        folder = make_market(cache_dir / "synthreid-smoke")
        write_image(folder / "masks" / "bounding_box_train" / "0002_c1s1_000021_01.png")
        return folder

    fake = types.ModuleType("rga.synth")
    fake.ensure_synthreid = ensure_synthreid
    monkeypatch.setitem(sys.modules, "rga.synth", fake)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_dataset("synthreid", tmp_path, preset="smoke", num_ids=5, verbose=False)
    assert calls == [(tmp_path, "smoke", {"num_ids": 5})]
    assert data.name == "synthreid" and len(data.train) == 9


def test_synthreid_smoke_end_to_end(tmp_path):
    pytest.importorskip("rga.synth")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_dataset("synthreid", tmp_path, preset="smoke", workers=1, verbose=False)
    assert (Path(data.root) / "masks").is_dir()  # present, and not read as a split
    assert data.num_train_pids == 12
    assert {s.pid for s in data.query} <= {s.pid for s in data.gallery}


@pytest.mark.parametrize(
    "layout",
    [
        "Market-1501-v15.09.15",  # the unzipped download
        "market1501",  # torchreid's old layout: <root>/market1501/bounding_box_train/
        "market1501/Market-1501-v15.09.15",  # torchreid's layout
    ],
)
def test_every_accepted_root(tmp_path, layout):
    folder = make_market(tmp_path / layout)
    roots = [tmp_path, folder, *(p for p in folder.parents if tmp_path in p.parents)]
    for root in roots:  # torchreid's data root, the folder itself, any folder in between
        data = load_quiet(root)
        assert data.root == str(folder), root
        assert data.statistics()["images"].tolist() == [9, 4, 8]


def test_missing_query_says_query_is_missing(tmp_path):
    folder = make_market(tmp_path / "market1501" / "Market-1501-v15.09.15")
    shutil.rmtree(folder / "query")
    for root in (tmp_path, folder):
        with pytest.raises(DatasetNotFoundError) as info:
            load_quiet(root)
        message = str(info.value)
        assert f"{folder}: query/ is missing" in message
        assert "bounding_box_train/ and bounding_box_test/ are there" in message


def test_empty_gallery_names_bounding_box_test(tmp_path):
    root = make_market(tmp_path)
    for path in (root / "bounding_box_test").glob("*.jpg"):
        path.unlink()
    with pytest.raises(
        DatasetFormatError, match=r"gallery split \(.*/bounding_box_test/\) is empty"
    ):
        load_quiet(root)


def test_not_found_lists_the_torchreid_layout(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="market1501/Market-1501-v15.09.15"):
        load_quiet(tmp_path)
