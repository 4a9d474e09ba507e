"""MSMT17 (Wei et al., "Person Transfer GAN", CVPR 2018), versions V1 and V2.

V1 layout: ``MSMT17_V1/train/``, ``MSMT17_V1/test/`` and four lists ``list_train.txt``,
``list_val.txt``, ``list_query.txt``, ``list_gallery.txt``. V2 (faces masked) has the same lists
with images in ``mask_train_v2/`` and ``mask_test_v2/``. A list line is
``0000/0000_000_01_0303morning_0015_0.jpg 0``: the path relative to the train (or test) folder,
a space, the person label. Name fields: pid folder, image index, camera (01-15), date + time of
day, frame, and a last field. Train and val lists together are the training set (val is a
held-out part of the training ids, so the labels agree); query and gallery share labels 0..3059.
"""

from __future__ import annotations

from pathlib import Path

from rga.data.dataset import (
    DatasetFormatError,
    DatasetNotFoundError,
    ReIDDataset,
    Sample,
    relabel,
    report,
)

VERSIONS = {
    "v1": ("MSMT17_V1", "train", "test"),
    "v2": ("MSMT17_V2", "mask_train_v2", "mask_test_v2"),
}
LISTS = {
    "train": ("list_train.txt", "list_val.txt"),
    "query": ("list_query.txt",),
    "gallery": ("list_gallery.txt",),
}
TORCHREID_FOLDERS = ("msmt17", "MSMT17")  # torchreid's dataset_dir under its data root
MSMT17_PUBLISHED = {"train": (1041, 32621), "query": (3060, 11659), "gallery": (3060, 82161)}
MSMT17_SOURCE = (
    "MSMT17 is released on request by its authors at Peking University "
    "(https://www.pkuvmc.com/dataset.html: sign the agreement and e-mail it)"
)


def parse_list_line(line: str, list_path: Path, line_no: int) -> tuple[str, int, int]:
    """``0000/0000_000_01_0303morning_0015_0.jpg 0`` -> (relative path, pid 0, camid 0)."""
    fields = line.split()
    try:
        rel_path, label = fields
        pid = int(label)
        camid = int(Path(rel_path).name.split("_")[2]) - 1  # third name field, 1-based camera
    except (ValueError, IndexError):
        raise DatasetFormatError(
            f"cannot parse line {line_no} of {list_path}: {line.strip()!r}; expected "
            "'0000/0000_000_01_0303morning_0015_0.jpg 0' (path, space, person label)"
        ) from None
    if camid < 0:
        raise DatasetFormatError(f"camera 0 in line {line_no} of {list_path}; cameras start at 1")
    return rel_path, pid, camid


def read_list(list_path: Path, image_dir: Path) -> list[Sample]:
    samples = []
    for line_no, line in enumerate(list_path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        rel_path, pid, camid = parse_list_line(line, list_path, line_no)
        if Path(rel_path).parts[0] == image_dir.name:  # tolerate lists that repeat the folder
            rel_path = str(Path(*Path(rel_path).parts[1:]))
        samples.append(Sample(str(image_dir / rel_path), pid, camid))
    return samples


def msmt17_candidates(root: Path, folder_name: str) -> list[Path]:
    """Folders that may be the version folder ``folder_name``, in the order tried: inside
    ``root``, inside torchreid's ``root/msmt17/``, ``root`` itself."""
    return [root / folder_name, *(root / t / folder_name for t in TORCHREID_FOLDERS), root]


def find_msmt17_folder(root: Path, version: str | None) -> tuple[Path, str]:
    """The version folder (``MSMT17_V1`` / ``MSMT17_V2``) under ``root``, or ``root`` itself.

    Without one, a candidate holding only one of the two image folders raises an error naming
    the missing one; with none at all the error lists the accepted layouts.
    """
    versions = [version] if version is not None else list(VERSIONS)
    for v in versions:
        folder_name, train_dir, test_dir = VERSIONS[v]
        for folder in msmt17_candidates(root, folder_name):
            if (folder / train_dir).is_dir() and (folder / test_dir).is_dir():
                return folder, v
    for v in versions:
        folder_name, train_dir, test_dir = VERSIONS[v]
        for folder in msmt17_candidates(root, folder_name):
            present = [d for d in (train_dir, test_dir) if (folder / d).is_dir()]
            if present:
                missing = test_dir if present == [train_dir] else train_dir
                raise DatasetNotFoundError(
                    f"{folder}: {missing}/ is missing ({present[0]}/ is there); MSMT17 "
                    f"{v.upper()} holds {train_dir}/ (train images), {test_dir}/ (query and "
                    "gallery images) and the four list_*.txt files; re-extract the download. "
                    f"{MSMT17_SOURCE}."
                )
    expected = " or ".join(
        f"{root}/{VERSIONS[v][0]}/{{{VERSIONS[v][1]},{VERSIONS[v][2]}}}/" for v in versions
    )
    raise DatasetNotFoundError(
        f"no MSMT17 found at {root}: expected {expected} with list_train.txt, list_val.txt, "
        f"list_query.txt and list_gallery.txt beside them (or the same inside {root}/msmt17/, "
        f"torchreid's layout, or {root} being the version folder itself). {MSMT17_SOURCE}."
    )


def load_msmt17(root: str | Path, version: str | None = None, verbose: bool = True) -> ReIDDataset:
    """MSMT17: 1,041 train ids (32,621 images with val), 3,060 test ids (11,659 query images).

    ``version`` "v1", "v2" or None (V1 if present, else V2). ``root`` is the version folder
    (``MSMT17_V1/``, ``MSMT17_V2/``), its parent, or torchreid's data root holding
    ``msmt17/MSMT17_V1/`` (or ``_V2``).
    """
    if version is not None and version.lower() not in VERSIONS:
        raise ValueError(f"unknown MSMT17 version {version!r}; valid: {', '.join(VERSIONS)}, None")
    root = Path(root).expanduser()
    folder, version = find_msmt17_folder(root, version and version.lower())
    _, train_dir, test_dir = VERSIONS[version]
    splits = {}
    for split, list_names in LISTS.items():
        image_dir = folder / (train_dir if split == "train" else test_dir)
        splits[split] = []
        for list_name in list_names:
            list_path = folder / list_name
            if not list_path.is_file():
                raise DatasetNotFoundError(
                    f"{list_path} is missing; MSMT17 ships it beside {train_dir}/ and {test_dir}/. "
                    f"{MSMT17_SOURCE}."
                )
            splits[split] += read_list(list_path, image_dir)
    for samples in splits.values():  # a cheap check of the list-to-folder convention
        if samples and not Path(samples[0].path).is_file():
            raise DatasetFormatError(
                f"{samples[0].path} (listed in the MSMT17 lists) does not exist; "
                "check the extraction"
            )
    dataset = ReIDDataset(
        name="msmt17",
        root=str(folder),
        train=relabel(splits["train"]),
        query=splits["query"],
        gallery=splits["gallery"],
        published=MSMT17_PUBLISHED,
    )
    sources = {split: " + ".join(str(folder / n) for n in names) for split, names in LISTS.items()}
    return report(dataset, verbose=verbose, sources=sources)
