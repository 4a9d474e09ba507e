"""Tiny fake copies of the dataset layouts (a few ids, 4x8 images) for the rga.data tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_SIZE = (4, 8)  # PIL (width, height)


def write_image(path: Path, value: int = 128) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", IMAGE_SIZE, (value, value // 2, 255 - value)).save(path)
    return path


def make_market(
    root: Path,
    train_ids=(2, 7, 9),
    test_ids=(1, 3),
    cams=(1, 2, 3),
    num_distractors=2,
    num_junk=2,
) -> Path:
    """Market-1501 layout: one image per (train id, camera), query one per (test id, camera 1-2),
    gallery one per (test id, camera) plus distractors (pid 0) and junk (pid -1), a Thumbs.db."""
    for sub in ("bounding_box_train", "query", "bounding_box_test"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for pid in train_ids:
        for c in cams:
            write_image(root / "bounding_box_train" / f"{pid:04d}_c{c}s1_{pid * 10 + c:06d}_01.jpg")
    for pid in test_ids:
        for c in cams[:2]:
            write_image(root / "query" / f"{pid:04d}_c{c}s1_{pid * 10 + c:06d}_00.jpg")
        for c in cams:
            write_image(root / "bounding_box_test" / f"{pid:04d}_c{c}s2_{pid * 10 + c:06d}_01.jpg")
    for n in range(num_distractors):
        write_image(root / "bounding_box_test" / f"0000_c1s1_{n:06d}_01.jpg")
    for n in range(num_junk):
        write_image(root / "bounding_box_test" / f"-1_c2s1_{n:06d}_01.jpg")
    (root / "bounding_box_test" / "Thumbs.db").write_bytes(b"not an image")
    return root


def make_cuhk03_np(root: Path, variant: str, train_ids=(1, 2, 3), test_ids=(4, 5)) -> Path:
    """CUHK03-NP release: ``root/cuhk03-np/{variant}/...`` with names like ``0001_c1_1.png``."""
    folder = root / "cuhk03-np" / variant
    for pid in train_ids:
        for view in (1, 2):
            write_image(folder / "bounding_box_train" / f"{pid:04d}_c{view}_{view}.png")
    for pid in test_ids:
        for view in (1, 2):
            write_image(folder / "query" / f"{pid:04d}_c{view}_{view}.png")
            write_image(folder / "bounding_box_test" / f"{pid:04d}_c{view}_{view + 2}.png")
    return root


def fake_pixels(pair: int, person: int, slot: int) -> np.ndarray:
    """A (H=6, W=4, 3) uint8 image whose values encode where it comes from."""
    base = np.arange(6 * 4 * 3, dtype=np.uint8).reshape(6, 4, 3)
    return base + np.uint8(pair * 50 + person * 10 + slot)


def make_cuhk03_release(root: Path, persons_per_pair=(3, 2), train_persons=3) -> dict:
    """``cuhk03_release/cuhk-03.mat`` as MATLAB v7.3 stores it (HDF5, object references, arrays
    transposed, empty cells as 2-element uint64 arrays) and the two new-protocol split files.

    Person (pair p, person i) has images in slots 0, 1 (view 1) and 5, 6 (view 2); slot 2 is an
    empty cell. The first ``train_persons`` persons are train ids; of each test person the first
    image of each view is a query. Returns the expected split sizes.
    """
    import h5py
    from scipy.io import savemat

    release = root / "cuhk03_release"
    release.mkdir(parents=True)
    filelist, labels, split_of = [], [], []
    with h5py.File(release / "cuhk-03.mat", "w") as f:
        refs = f.create_group("#refs#")
        counter = iter(range(10**6))
        for variant in ("labeled", "detected"):
            pair_refs = []
            for p, n_persons in enumerate(persons_per_pair, start=1):
                cells = np.empty((10, n_persons), dtype=h5py.ref_dtype)  # MATLAB [n x 10]
                for i in range(1, n_persons + 1):
                    for slot in range(10):
                        if slot in (0, 1, 5, 6):
                            data = fake_pixels(p, i, slot).transpose(2, 1, 0)  # (3, W, H)
                        else:
                            data = np.zeros(2, dtype=np.uint64)
                        cells[slot, i - 1] = refs.create_dataset(f"r{next(counter)}", data=data).ref
                pair_refs.append(refs.create_dataset(f"r{next(counter)}", data=cells).ref)
            f.create_dataset(variant, data=np.array([pair_refs], dtype=h5py.ref_dtype))  # (1, 5)
    label = 0
    for p, n_persons in enumerate(persons_per_pair, start=1):
        for i in range(1, n_persons + 1):
            label += 1
            for slot in (0, 1, 5, 6):
                view = 1 if slot < 5 else 2
                filelist.append(f"{p}_{i:03d}_{view}_{slot + 1:02d}.png")
                labels.append(label)
                if label <= train_persons:
                    split_of.append("train")
                else:
                    split_of.append("query" if slot in (0, 5) else "gallery")
    cell = np.empty((len(filelist), 1), dtype=object)
    cell[:, 0] = filelist
    for variant in ("labeled", "detected"):
        idx = {
            s: np.array([[k + 1] for k, sp in enumerate(split_of) if sp == s], dtype=np.float64)
            for s in ("train", "query", "gallery")
        }
        savemat(
            root / f"cuhk03_new_protocol_config_{variant}.mat",
            {
                "filelist": cell,
                "labels": np.array(labels, dtype=np.float64)[:, None],
                "train_idx": idx["train"],
                "query_idx": idx["query"],
                "gallery_idx": idx["gallery"],
            },
        )
    return {s: split_of.count(s) for s in ("train", "query", "gallery")}


def make_msmt17(root: Path, version: str = "v1", train_ids=(0, 1, 2), test_ids=(0, 1)) -> Path:
    """MSMT17 layout: two images per train id in list_train, one more in list_val; per test id
    one query (camera 2) and two gallery images (cameras 1 and 15)."""
    folder_name, train_dir, test_dir = {
        "v1": ("MSMT17_V1", "train", "test"),
        "v2": ("MSMT17_V2", "mask_train_v2", "mask_test_v2"),
    }[version]
    folder = root / folder_name
    lines = {"list_train.txt": [], "list_val.txt": [], "list_query.txt": [], "list_gallery.txt": []}

    def add(list_name: str, image_dir: str, pid: int, n: int, cam: int) -> None:
        rel = f"{pid:04d}/{pid:04d}_{n:03d}_{cam:02d}_0303morning_{n:04d}_0.jpg"
        write_image(folder / image_dir / rel)
        lines[list_name].append(f"{rel} {pid}")

    for pid in train_ids:
        add("list_train.txt", train_dir, pid, 0, 1)
        add("list_train.txt", train_dir, pid, 1, 3)
        add("list_val.txt", train_dir, pid, 2, 4)
    for pid in test_ids:
        add("list_query.txt", test_dir, pid, 0, 2)
        add("list_gallery.txt", test_dir, pid, 1, 1)
        add("list_gallery.txt", test_dir, pid, 2, 15)
    for name, content in lines.items():
        (folder / name).write_text("\n".join(content) + "\n")
    return root
