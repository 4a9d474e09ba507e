"""Dataset fingerprints: relative paths, pids, camids and file sizes; the same on any root."""

import shutil
import warnings

from data_fakes import make_market, make_msmt17

from rga.data import (
    dataset_fingerprint,
    dataset_summary,
    format_summary,
    load_dataset,
    summary_changes,
)


def load_market(root):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fake never matches the published counts
        return load_dataset("market1501", root, verbose=False)


def test_fingerprint_is_short_hex_and_order_free(tmp_path):
    data = load_market(make_market(tmp_path / "m"))
    fingerprint = dataset_fingerprint(data)
    assert len(fingerprint) == 16 and int(fingerprint, 16) >= 0
    shuffled = type(data)(data.name, data.root, data.train[::-1], data.query[::-1], data.gallery)
    assert dataset_fingerprint(shuffled) == fingerprint


def test_same_tree_elsewhere_or_through_another_root_gives_same_fingerprint(tmp_path):
    make_market(tmp_path / "a" / "market1501" / "Market-1501-v15.09.15")
    shutil.copytree(tmp_path / "a", tmp_path / "b" / "elsewhere")
    fingerprints = {
        dataset_fingerprint(load_market(root))
        for root in (
            tmp_path / "a",  # torchreid's root, holding market1501/
            tmp_path / "a" / "market1501",
            tmp_path / "a" / "market1501" / "Market-1501-v15.09.15",
            tmp_path / "b" / "elsewhere",
        )
    }
    assert len(fingerprints) == 1


def test_msmt17_fingerprint_survives_a_move(tmp_path):
    make_msmt17(tmp_path / "a")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = load_dataset("msmt17", tmp_path / "a", verbose=False)
        fingerprint = dataset_fingerprint(first)
        (tmp_path / "a").rename(tmp_path / "b")
        second = load_dataset("msmt17", tmp_path / "b", verbose=False)
    assert first.root != second.root
    assert dataset_fingerprint(second) == fingerprint


def test_changed_size_renamed_pid_and_removed_file_change_the_fingerprint(tmp_path):
    root = make_market(tmp_path / "m")
    before = dataset_summary(load_market(root))

    with open(root / "bounding_box_train" / "0002_c1s1_000021_01.jpg", "ab") as f:
        f.write(b"\0")  # one byte more: the pixels decode the same, the size differs
    resized = dataset_summary(load_market(root))
    assert resized["fingerprint"] != before["fingerprint"]
    assert summary_changes(before, resized) == [
        "train: same counts (9 images, 3 ids) but other file names, file sizes or labels"
    ]

    query = root / "query"
    (query / "0001_c1s1_000011_00.jpg").rename(query / "0003_c1s1_000011_00.jpg")  # pid 1 -> 3
    relabelled = dataset_summary(load_market(root))
    assert relabelled["fingerprint"] not in {before["fingerprint"], resized["fingerprint"]}
    assert relabelled["query"]["images"] == before["query"]["images"]
    assert relabelled["query"]["fingerprint"] != resized["query"]["fingerprint"]
    assert relabelled["train"] == resized["train"]  # the other splits are untouched

    (root / "bounding_box_test" / "0001_c3s2_000013_01.jpg").unlink()
    removed = dataset_summary(load_market(root))
    assert removed["fingerprint"] not in {
        before["fingerprint"],
        resized["fingerprint"],
        relabelled["fingerprint"],
    }
    assert summary_changes(relabelled, removed) == ["gallery: 8 -> 7 images"]
    assert summary_changes(removed, removed) == []


def test_a_changed_label_alone_changes_the_fingerprint(tmp_path):
    data = load_market(make_market(tmp_path / "m"))
    moved = data.query[0]._replace(camid=5)
    changed = type(data)(data.name, data.root, data.train, [moved, *data.query[1:]], data.gallery)
    assert dataset_fingerprint(changed) != dataset_fingerprint(data)
    assert summary_changes(dataset_summary(data), dataset_summary(changed)) == [
        "query: 2 -> 3 cameras"
    ]


def test_a_listed_missing_file_still_has_a_fingerprint(tmp_path):
    data = load_market(make_market(tmp_path / "m"))
    fingerprint = dataset_fingerprint(data)
    (tmp_path / "m" / "query" / "0001_c1s1_000011_00.jpg").unlink()
    assert dataset_fingerprint(data) != fingerprint  # the list still names it, size -1


def test_summary_counts_and_line(tmp_path):
    summary = dataset_summary(load_market(make_market(tmp_path / "m")))
    assert {k: summary[k]["images"] for k in ("train", "query", "gallery")} == {
        "train": 9,
        "query": 4,
        "gallery": 8,
    }
    assert summary["gallery"]["ids"] == 3 and summary["train"]["cameras"] == 3
    line = format_summary(summary)
    assert line.startswith("train 9 images / 3 ids / 3 cameras; query 4 images / 2 ids")
    assert line.endswith(f"(fingerprint {summary['fingerprint']})")
