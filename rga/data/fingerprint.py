"""A dataset's fingerprint: a short hash of its split lists, the same on every machine.

Each sample contributes its path relative to ``dataset.root``, its pid, its camid and its file
size (the pixels are not read, so a fingerprint of MSMT17 costs one ``stat`` per image). The
same files under another root folder, or found through another accepted root (the folder that
holds ``market1501/`` or ``market1501/`` itself), give the same fingerprint; a file renamed,
resized, relabelled, added or removed gives another one. Sample order does not matter (the
loaders sort their lists, so the same files always make the same lists).

``dataset_summary`` gives the per-split counts and per-split fingerprints that results files can
store, and ``summary_changes`` says in words what differs between two such summaries.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import PurePath

from rga.data.dataset import SPLITS, ReIDDataset, Sample

__all__ = ["dataset_fingerprint", "dataset_summary", "format_summary", "summary_changes"]

FINGERPRINT_VERSION = "rga-dataset-fingerprint-v1"  # change when the hashed fields change
FINGERPRINT_LENGTH = 16  # hex characters of sha256 kept: 64 bits, plenty for telling datasets apart
MISSING_SIZE = -1  # the size hashed for a listed file that does not exist


def relative_path(path: str, root: str) -> str:
    """``path`` relative to ``root`` with "/" separators (the same on every OS)."""
    return PurePath(os.path.relpath(path, root)).as_posix()


def _record(sample: Sample, root: str) -> str:
    try:
        size = os.stat(sample.path).st_size
    except FileNotFoundError:
        size = MISSING_SIZE
    return f"{relative_path(sample.path, root)}\t{sample.pid}\t{sample.camid}\t{size}\n"


def _split_digest(dataset: ReIDDataset, split: str) -> str:
    records = sorted(_record(s, dataset.root) for s in dataset.split(split))
    digest = hashlib.sha256(f"{FINGERPRINT_VERSION}\t{split}\n".encode())
    for record in records:
        digest.update(record.encode())
    return digest.hexdigest()[:FINGERPRINT_LENGTH]


def _combine(split_digests: dict[str, str]) -> str:
    text = FINGERPRINT_VERSION + "".join(f"\n{s}\t{split_digests[s]}" for s in SPLITS)
    return hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_LENGTH]


def dataset_fingerprint(dataset: ReIDDataset) -> str:
    """16 hex characters identifying the train, query and gallery lists of ``dataset``.

    Hashed per sample: path relative to ``dataset.root``, pid, camid, file size in bytes (-1 for
    a listed file that does not exist, so such a dataset still has a fingerprint).
    """
    return _combine({split: _split_digest(dataset, split) for split in SPLITS})


def dataset_summary(dataset: ReIDDataset) -> dict:
    """JSON-ready summary: ``{"fingerprint": str, split: {"images", "ids", "cameras",
    "fingerprint"} for each split}``; the top-level fingerprint is :func:`dataset_fingerprint`."""
    splits = {}
    for split in SPLITS:
        samples = dataset.split(split)
        splits[split] = {
            "images": len(samples),
            "ids": len({s.pid for s in samples}),
            "cameras": len({s.camid for s in samples}),
            "fingerprint": _split_digest(dataset, split),
        }
    return {"fingerprint": _combine({s: splits[s]["fingerprint"] for s in SPLITS}), **splits}


def format_summary(summary: dict) -> str:
    """One line: ``train 9 images / 3 ids / 3 cameras; query ...; gallery ... (fingerprint f)``."""
    parts = [
        f"{s} {summary[s]['images']} images / {summary[s]['ids']} ids / "
        f"{summary[s]['cameras']} cameras"
        for s in SPLITS
    ]
    return "; ".join(parts) + f" (fingerprint {summary['fingerprint']})"


def summary_changes(old: dict, new: dict) -> list[str]:
    """What differs from summary ``old`` to summary ``new``, one line per split (empty if same).

    Counts that changed are listed as ``before -> after``; a split whose counts are equal but
    whose fingerprint differs is said to hold other files, sizes or labels.
    """
    lines = []
    for split in SPLITS:
        before, after = old[split], new[split]
        counts = [
            f"{before[k]} -> {after[k]} {k}"
            for k in ("images", "ids", "cameras")
            if before[k] != after[k]
        ]
        if counts:
            lines.append(f"{split}: {', '.join(counts)}")
        elif before["fingerprint"] != after["fingerprint"]:
            lines.append(
                f"{split}: same counts ({after['images']} images, {after['ids']} ids) but other "
                "file names, file sizes or labels"
            )
    return lines
