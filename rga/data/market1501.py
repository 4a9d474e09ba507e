"""Market-1501 (Zheng et al., ICCV 2015) and other folders with its layout.

Layout: ``bounding_box_train/``, ``query/``, ``bounding_box_test/`` (the gallery), image names
``{pid}_c{camera}...`` such as ``0002_c1s1_000451_03.jpg``. pid -1 marks junk images (dropped
everywhere), pid 0 distractors (kept in the gallery, where the protocol needs them, dropped
from train and query). Cameras ``c1..c6`` become camids 0..5. Other folders (``gt_bbox/``,
``gt_query/``, the ``masks/`` of SynthReID) are ignored. CUHK03-NP uses the same layout and names.
"""

from __future__ import annotations

import re
from pathlib import Path

from rga.data.dataset import (
    DatasetFormatError,
    DatasetNotFoundError,
    ReIDDataset,
    Sample,
    relabel,
    report,
)

SPLIT_FOLDERS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
NAME_PATTERN = re.compile(r"([-\d]+)_c(\d)")
JUNK_PID, DISTRACTOR_PID = -1, 0

# Counts after junk removal, (ids, images): Zheng et al. 2015 and every re-id toolbox since.
MARKET1501_PUBLISHED = {"train": (751, 12936), "query": (750, 3368), "gallery": (751, 15913)}
MARKET1501_FOLDER_NAMES = ("Market-1501-v15.09.15", "Market-1501", "market1501")
TORCHREID_FOLDER = "market1501"  # torchreid's dataset_dir under its data root
MARKET1501_SOURCE = (
    "Market-1501 is distributed by Liang Zheng "
    "(https://zheng-lab.cecs.anu.edu.au/Project/project_reid.html, formerly "
    "http://www.liangzheng.org/Project/project_reid.html); unzip Market-1501-v15.09.15.zip"
)


def parse_market_name(path: Path) -> tuple[int, int]:
    """``0002_c1s1_000451_03.jpg`` -> (pid 2, camid 0)."""
    match = NAME_PATTERN.search(path.name)
    # [-\d]+ admits "1-2"; only "-1" and digits are person ids; cameras count from 1
    valid = match is not None and re.fullmatch(r"-?\d+", match.group(1)) and match.group(2) != "0"
    if not valid:
        raise DatasetFormatError(
            f"cannot parse person id and camera from {path}: expected a name like "
            "0002_c1s1_000451_03.jpg ({pid}_c{camera 1-9}...); remove or rename the file"
        )
    return int(match.group(1)), int(match.group(2)) - 1


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted (other files such as Thumbs.db are ignored)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_split_folder(folder: Path, keep_distractors: bool) -> list[Sample]:
    """Samples of one split folder, junk dropped, distractors kept only when asked."""
    samples = []
    for path in list_images(folder):
        pid, camid = parse_market_name(path)
        if pid == JUNK_PID or (pid == DISTRACTOR_PID and not keep_distractors):
            continue
        if pid < JUNK_PID:
            raise DatasetFormatError(f"negative person id {pid} in {path}; expected -1 or >= 0")
        samples.append(Sample(str(path), pid, camid))
    return samples


def has_market_layout(folder: Path) -> bool:
    return all((folder / sub).is_dir() for sub in SPLIT_FOLDERS.values())


def has_any_split_folder(folder: Path) -> bool:
    return any((folder / sub).is_dir() for sub in SPLIT_FOLDERS.values())


def check_split_folders(folder: Path, name: str) -> None:
    """Raise :class:`DatasetNotFoundError` naming each split folder missing from ``folder``."""
    missing = [f"{sub}/" for sub in SPLIT_FOLDERS.values() if not (folder / sub).is_dir()]
    if not missing:
        return
    present = [f"{sub}/" for sub in SPLIT_FOLDERS.values() if (folder / sub).is_dir()]
    there = f" ({' and '.join(present)} {'is' if len(present) == 1 else 'are'} there)"
    raise DatasetNotFoundError(
        f"{folder}: {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing"
        f"{there if present else ''}; a {name} folder holds "
        + ", ".join(f"{sub}/ ({split})" for split, sub in SPLIT_FOLDERS.items())
        + "; re-extract the download, or rename the folder that holds those images"
    )


def read_market_layout(
    folder: Path,
    name: str,
    published: dict[str, tuple[int, int]] | None = None,
    verbose: bool = True,
) -> ReIDDataset:
    """Read a folder holding ``bounding_box_train/``, ``query/``, ``bounding_box_test/``."""
    folder = Path(folder)
    check_split_folders(folder, name)
    dataset = ReIDDataset(
        name=name,
        root=str(folder),
        train=relabel(read_split_folder(folder / SPLIT_FOLDERS["train"], keep_distractors=False)),
        query=read_split_folder(folder / SPLIT_FOLDERS["query"], keep_distractors=False),
        gallery=read_split_folder(folder / SPLIT_FOLDERS["gallery"], keep_distractors=True),
        published=published,
    )
    sources = {split: f"{folder / sub}/" for split, sub in SPLIT_FOLDERS.items()}
    return report(dataset, verbose=verbose, sources=sources)


def market_candidates(root: Path) -> list[Path]:
    """Folders that may hold the split folders, in the order tried: ``root``, then its children
    with a download name, then the same inside ``root/market1501/`` (torchreid's root layout:
    ``<root>/market1501/Market-1501-v15.09.15/`` or ``<root>/market1501/`` itself)."""
    folders = []
    for base in (root, root / TORCHREID_FOLDER):
        folders += [base, *(base / n for n in MARKET1501_FOLDER_NAMES)]
    return list(dict.fromkeys(folders))


def find_market_root(root: Path) -> Path:
    """The first candidate folder with the three split folders.

    Without one, a candidate holding some split folders raises an error naming the missing ones;
    with none at all the error lists the accepted layouts.
    """
    candidates = market_candidates(root)
    for candidate in candidates:
        if has_market_layout(candidate):
            return candidate
    for candidate in candidates:
        if has_any_split_folder(candidate):
            check_split_folders(candidate, "Market-1501")
    raise DatasetNotFoundError(
        f"no Market-1501 found at {root}: expected {root}/bounding_box_train/, query/ and "
        f"bounding_box_test/, or the same inside {root}/Market-1501-v15.09.15/, or torchreid's "
        f"layout {root}/market1501/Market-1501-v15.09.15/ (or {root}/market1501/). "
        f"{MARKET1501_SOURCE}."
    )


def load_market1501(root: str | Path, verbose: bool = True) -> ReIDDataset:
    """Market-1501: 751 train ids (12,936 images), 750 query ids (3,368), 15,913 gallery images.

    ``root`` is the folder holding the three split folders, its parent holding
    ``Market-1501-v15.09.15/``, or torchreid's data root holding ``market1501/`` (which holds the
    split folders or ``Market-1501-v15.09.15/``).
    """
    folder = find_market_root(Path(root).expanduser())
    return read_market_layout(folder, "market1501", MARKET1501_PUBLISHED, verbose=verbose)
