"""CUHK03 (Li et al., CVPR 2014) under the new protocol of Zhong et al. (CVPR 2017): 767 / 700 ids.

Two sources are read, ``labeled`` (hand-drawn boxes) or ``detected`` (DPM boxes):

(a) the CUHK03-NP folder release, ``cuhk03-np/{labeled,detected}/{bounding_box_train,query,
    bounding_box_test}/`` with Market-1501 names (``0001_c1_1.png``), read like Market-1501;
(b) the original release, ``cuhk03_release/cuhk-03.mat`` (MATLAB v7.3, an HDF5 file: needs h5py)
    plus the new-protocol split ``cuhk03_new_protocol_config_{labeled,detected}.mat``. It is
    converted once into (a)'s layout under ``root/converted/{labeled,detected}/`` and read from there.

As in the official RGA code the camera is the view (1 or 2) of the camera pair, here 0-based.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from rga.data.dataset import DatasetFormatError, DatasetNotFoundError, ReIDDataset
from rga.data.market1501 import (
    SPLIT_FOLDERS,
    check_split_folders,
    has_any_split_folder,
    has_market_layout,
    read_market_layout,
)

VARIANTS = ("labeled", "detected")
CUHK03_PUBLISHED = {
    "labeled": {"train": (767, 7368), "query": (700, 1400), "gallery": (700, 5328)},
    "detected": {"train": (767, 7365), "query": (700, 1400), "gallery": (700, 5332)},
}
NP_FOLDER_NAMES = ("cuhk03-np", "CUHK03-NP", "cuhk03_np")
MAT_NAME = "cuhk-03.mat"
RELEASE_FOLDER = "cuhk03_release"
SPLIT_MAT_NAME = "cuhk03_new_protocol_config_{variant}.mat"
CONVERTED_FOLDER = "converted"
TORCHREID_FOLDER = "cuhk03"  # torchreid's dataset_dir under its data root
# filelist names of the split files: pair (1-5), person in the pair, view (1-2), image (1-10).
RELEASE_NAME = re.compile(r"^(\d)_(\d{3})_(\d)_(\d{2})\.png$")
CUHK03_SOURCE = (
    "CUHK03 is distributed by the CUHK Multimedia Lab "
    "(http://www.ee.cuhk.edu.hk/~xgwang/CUHK_identification.html, cuhk03_release.zip with "
    "cuhk-03.mat); the new-protocol splits cuhk03_new_protocol_config_{labeled,detected}.mat and "
    "the CUHK03-NP folder release come from Zhong et al.'s re-ranking repository "
    "(https://github.com/zhunzhong07/person-re-ranking, folder evaluation/data/CUHK03 and CUHK03-NP)"
)


def load_cuhk03(root: str | Path, variant: str = "labeled", verbose: bool = True) -> ReIDDataset:
    """CUHK03 new protocol, ``variant`` "labeled" or "detected".

    ``root`` is the CUHK03 folder or torchreid's data root holding it as ``cuhk03/``. The CUHK03
    folder holds ``cuhk03-np/`` (or is that folder), or holds ``cuhk03_release/cuhk-03.mat`` and
    the split .mat files (next to ``cuhk03_release/``, as torchreid keeps them, or inside it);
    the .mat release is converted once into ``<CUHK03 folder>/converted/{variant}/``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown CUHK03 variant {variant!r}; valid: {', '.join(VARIANTS)}")
    root = Path(root).expanduser()
    folder = find_cuhk03_folder(root, variant)
    if folder is None:
        base, mat_path, split_path = find_release_files(root, variant)
        folder = base / CONVERTED_FOLDER / variant
        convert_release(mat_path, split_path, variant, folder, verbose=verbose)
    return read_market_layout(
        folder, f"cuhk03-{variant}", CUHK03_PUBLISHED[variant], verbose=verbose
    )


def cuhk03_bases(root: Path) -> tuple[Path, Path]:
    """The folders that may be the CUHK03 folder: ``root`` and torchreid's ``root/cuhk03/``."""
    return root, root / TORCHREID_FOLDER


def find_cuhk03_folder(root: Path, variant: str) -> Path | None:
    """The folder with the Market-1501 layout for ``variant`` (a release or a conversion), if any.

    A ``variant`` folder holding only some split folders raises an error naming the missing
    ones, unless the .mat release is there to convert instead.
    """
    parents = [
        parent
        for base in cuhk03_bases(root)
        for parent in (base, *(base / n for n in NP_FOLDER_NAMES), base / CONVERTED_FOLDER)
    ]
    for parent in parents:
        if has_market_layout(parent / variant):
            return parent / variant
    partial = [p / variant for p in parents if has_any_split_folder(p / variant)]
    if partial and not _release_files(root, variant):
        check_split_folders(partial[0], f"CUHK03-NP {variant}")
    return None


def _release_files(root: Path, variant: str) -> tuple[Path, Path, Path] | None:
    """(CUHK03 folder, ``cuhk-03.mat``, split .mat of ``variant``) when both are found."""
    split_name = SPLIT_MAT_NAME.format(variant=variant)
    for base in cuhk03_bases(root):
        mats = [p for p in (base / RELEASE_FOLDER / MAT_NAME, base / MAT_NAME) if p.is_file()]
        splits = [p for p in (base / split_name, base / RELEASE_FOLDER / split_name) if p.is_file()]
        if mats and splits:
            return base, mats[0], splits[0]
    return None


def find_release_files(root: Path, variant: str) -> tuple[Path, Path, Path]:
    """The CUHK03 folder (``root`` or ``root/cuhk03/``), the paths of ``cuhk-03.mat`` and of the
    new-protocol split of ``variant``; an error naming what is missing when not found."""
    found = _release_files(root, variant)
    if found is not None:
        return found
    split_name = SPLIT_MAT_NAME.format(variant=variant)

    def has(base: Path, name: str) -> bool:
        return (base / RELEASE_FOLDER / name).is_file() or (base / name).is_file()

    # the folder with a part of the release, to say what it lacks (root when there is none)
    base = next(
        (b for b in cuhk03_bases(root) if (b / RELEASE_FOLDER).is_dir() or has(b, split_name)),
        root,
    )
    missing = [] if has(base, MAT_NAME) else [f"{RELEASE_FOLDER}/{MAT_NAME}"]
    missing += [] if has(base, split_name) else [split_name]
    raise DatasetNotFoundError(
        f"no CUHK03 ({variant}) found at {root} (missing {', '.join(missing)} in {base}). Expected "
        f"either {root}/cuhk03-np/{variant}/{{bounding_box_train,query,bounding_box_test}}/ "
        f"(CUHK03-NP), or {root}/{RELEASE_FOLDER}/{MAT_NAME} with {root}/{split_name}; the same "
        f"inside {root}/{TORCHREID_FOLDER}/ (torchreid's layout) is accepted too. {CUHK03_SOURCE}."
    )


def _cell_string(cell) -> str:
    """scipy.io.loadmat gives cell-array strings as nested object arrays; unwrap one."""
    while isinstance(cell, np.ndarray):
        cell = cell.ravel()[0]
    return str(cell)


def read_split_mat(split_path: Path) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
    """``filelist`` names, ``labels`` and 0-based train/query/gallery indices of a split .mat."""
    from scipy.io import loadmat

    mat = loadmat(str(split_path))
    keys = ("filelist", "labels", "train_idx", "query_idx", "gallery_idx")
    missing = [k for k in keys if k not in mat]
    if missing:
        raise DatasetFormatError(f"{split_path} lacks {', '.join(missing)}; expected keys {keys}")
    filelist = [_cell_string(c) for c in mat["filelist"].ravel()]
    labels = mat["labels"].ravel().astype(np.int64)
    indices = {s: mat[f"{s}_idx"].ravel().astype(np.int64) - 1 for s in SPLIT_FOLDERS}  # 1-based
    for split, idx in indices.items():
        if idx.size and (idx.min() < 0 or idx.max() >= len(filelist)):
            raise DatasetFormatError(
                f"{split_path}: {split}_idx points outside filelist (1..{len(filelist)})"
            )
    if len(labels) != len(filelist):
        raise DatasetFormatError(
            f"{split_path}: {len(labels)} labels for {len(filelist)} filelist entries"
        )
    return filelist, labels, indices


def _import_h5py():
    try:
        import h5py
    except ImportError as err:
        raise ImportError(
            "reading cuhk-03.mat (a MATLAB v7.3 / HDF5 file) needs h5py: pip install h5py; "
            "or use the CUHK03-NP folder release instead"
        ) from err
    return h5py


def convert_release(
    mat_path: Path, split_path: Path, variant: str, out_dir: Path, verbose: bool = True
) -> Path:
    """Write the split's images of ``cuhk-03.mat`` as PNGs in the Market-1501 layout, once.

    Names are ``{label:04d}_c{view}_{filelist stem}.png``, e.g. ``0001_c1_1_001_1_01.png``.
    The folder appears atomically (written beside it, then renamed), so an interrupted
    conversion is redone at the next call.
    """
    h5py = _import_h5py()
    filelist, labels, indices = read_split_mat(split_path)
    tmp_dir = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    if verbose:
        print(f"=> converting {mat_path} ({variant}) into {out_dir} (once)")
    with h5py.File(mat_path, "r") as mat:
        if variant not in mat:
            raise DatasetFormatError(f"{mat_path} has no {variant!r} entry; keys: {list(mat)}")
        # MATLAB cell {1 x 5} of camera pairs; each a cell [n_persons x 10] stored transposed.
        pairs = [mat[ref][()] for ref in np.asarray(mat[variant][()]).ravel()]  # (10, n_persons)
        for split, folder in SPLIT_FOLDERS.items():
            (tmp_dir / folder).mkdir(parents=True)
            for i in indices[split]:
                name = filelist[i]
                match = RELEASE_NAME.match(name)
                if match is None:
                    raise DatasetFormatError(
                        f"cannot parse {name!r} in {split_path}: expected pair_person_view_image "
                        "such as 1_001_1_01.png"
                    )
                pair, person, view, image = (int(g) for g in match.groups())
                try:
                    ref = pairs[pair - 1][image - 1, person - 1]
                except IndexError:
                    raise DatasetFormatError(
                        f"{name} (from {split_path}) is not in {mat_path}"
                    ) from None
                pixels = np.asarray(mat[ref][()])  # (3, W, H): MATLAB column-major
                if pixels.ndim != 3:
                    raise DatasetFormatError(f"{name} is an empty cell in {mat_path}")
                out_name = f"{int(labels[i]):04d}_c{view}_{Path(name).stem}.png"
                Image.fromarray(pixels.transpose(2, 1, 0)).save(tmp_dir / folder / out_name)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp_dir, out_dir)
    return out_dir
