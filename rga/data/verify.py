"""Decode every image of a dataset once, before training, and name every file that fails.

A corrupt training JPEG otherwise passes silently while the P x K sampler never draws it and
stops training at a random epoch when it does. :func:`verify_images` decodes every file of the
three splits, raises one :class:`CorruptImageError` naming all bad files, or (``skip=True``)
returns the dataset without them. The verdict is remembered in a small JSON marker keyed by
:func:`rga.data.fingerprint.dataset_fingerprint`, so a dataset is decoded once: later calls
re-check only the files found bad before. The fingerprint hashes file sizes, not pixels, so a
file damaged in place without changing its size is not noticed after the first verification.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from rga.data.dataset import (
    SPLITS,
    CorruptImageError,
    DatasetFormatError,
    ReIDDataset,
    relabel,
)
from rga.data.fingerprint import dataset_fingerprint, relative_path

__all__ = ["check_image", "verify_images", "verification_marker"]

MARKER_FOLDER = ".verified"  # under the dataset root when no cache_dir is given
MARKER_VERSION = 1


def check_image(path: str | os.PathLike) -> str | None:
    """None when ``path`` decodes as an RGB image, else the reason in a few words.

    Two passes, as PIL needs: ``verify()`` (headers, PNG checksums) on one open file, then a
    full decode to RGB on a fresh one (truncated JPEGs fail only there), like training reads it.
    """
    try:
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            img.convert("RGB")
    except FileNotFoundError:
        return "no such file"
    except Exception as err:  # PIL raises OSError, SyntaxError, ValueError, struct.error, ...
        return f"{type(err).__name__}: {err}"
    return None


def verification_marker(dataset: ReIDDataset, cache_dir: str | os.PathLike | None = None) -> Path:
    """The marker file of ``dataset``: ``<cache_dir or <root>/.verified>/<fingerprint>.json``."""
    folder = Path(cache_dir) if cache_dir is not None else Path(dataset.root) / MARKER_FOLDER
    return folder / f"{dataset_fingerprint(dataset)}.json"


def _read_marker(marker: Path) -> dict[str, str] | None:
    """The remembered ``{relative path: reason}`` of bad files, or None when not verified yet."""
    try:
        content = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(content, dict) or content.get("version") != MARKER_VERSION:
        return None
    bad = content.get("bad")
    return bad if isinstance(bad, dict) else None


def _write_marker(marker: Path, dataset: ReIDDataset, images: int, bad: dict[str, str]) -> None:
    content = {
        "version": MARKER_VERSION,
        "fingerprint": marker.stem,
        "dataset": dataset.name,
        "images": images,
        "bad": bad,
    }
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{marker.name}.", dir=marker.parent)
        with os.fdopen(fd, "w") as f:
            json.dump(content, f, indent=1)
        os.replace(tmp, marker)  # atomic: a reader never sees half a marker
    except OSError as err:
        warnings.warn(
            f"could not remember the image verification of {dataset.name} in {marker} ({err}); "
            "it will decode every image again next time; pass cache_dir= a writable folder",
            stacklevel=3,
        )


def _decode_all(paths: list[str], workers: int) -> list[str | None]:
    if workers <= 0:
        return [check_image(p) for p in paths]
    with ThreadPoolExecutor(max_workers=workers) as pool:  # PIL releases the GIL while decoding
        return list(pool.map(check_image, paths))


def verify_images(
    dataset: ReIDDataset,
    *,
    skip: bool = False,
    cache_dir: str | os.PathLike | None = None,
    workers: int = 0,
    verbose: bool = True,
) -> ReIDDataset:
    """Decode every image of ``dataset`` once; return it, or raise naming every bad file.

    Args:
        dataset: a loaded dataset (``rga.data.load_dataset``).
        skip: False raises :class:`CorruptImageError` listing every file that does not decode
            (or is listed but missing). True warns with the same list and returns a copy of
            ``dataset`` without those samples, train pids relabelled to ``0..P-1`` again.
        cache_dir: folder of the verification markers; None uses ``<dataset.root>/.verified/``.
        workers: decoding threads; 0 decodes in this thread.
        verbose: print a line before a full verification (the slow, once-per-dataset case).

    The marker ``<fingerprint>.json`` records the bad files found; when it exists only those are
    decoded again (a file replaced by a good copy of the same size then counts as good).
    """
    if not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers must be an int >= 0 (0: decode in this thread), got {workers!r}")
    marker = verification_marker(dataset, cache_dir)
    paths = list(dict.fromkeys(s.path for split in SPLITS for s in dataset.split(split)))
    known_bad = _read_marker(marker)
    if known_bad is None:
        if verbose:
            print(
                f"=> verifying {len(paths)} images of {dataset.name} (once; remembered in {marker})"
            )
        reasons = dict(zip(paths, _decode_all(paths, workers), strict=True))
    else:
        rel_to_path = {relative_path(p, dataset.root): p for p in paths}
        rechecked = [rel_to_path[rel] for rel in known_bad if rel in rel_to_path]
        reasons = dict(zip(rechecked, _decode_all(rechecked, workers), strict=True))
    bad = {path: reason for path, reason in reasons.items() if reason is not None}
    bad_rel = {relative_path(p, dataset.root): reason for p, reason in bad.items()}
    if known_bad != bad_rel:
        _write_marker(marker, dataset, len(paths), bad_rel)
    if not bad:
        return dataset

    split_of = {s.path: split for split in reversed(SPLITS) for s in dataset.split(split)}
    listing = "\n".join(f"  {path} ({split_of[path]}): {reason}" for path, reason in bad.items())
    if not skip:
        raise CorruptImageError(
            f"{len(bad)} of {len(paths)} images of {dataset.name} under {dataset.root} cannot be "
            f"decoded:\n{listing}\nReplace them with good copies (re-extract or re-download the "
            "dataset) or delete them, or set skip_corrupt=True (verify_images(..., skip=True)) "
            "to leave them out of every split"
        )
    kept = {split: [s for s in dataset.split(split) if s.path not in bad] for split in SPLITS}
    empty = [split for split, samples in kept.items() if not samples]
    if empty:
        raise DatasetFormatError(
            f"leaving out the corrupt images of {dataset.name} empties the {', '.join(empty)} "
            f"split(s); replace these files with good copies:\n{listing}"
        )
    warnings.warn(
        f"left out {len(bad)} corrupt image(s) of {dataset.name} (skip_corrupt=True); replace "
        f"them with good copies to use them:\n{listing}",
        stacklevel=2,
    )
    return dataclasses.replace(
        dataset, train=relabel(kept["train"]), query=kept["query"], gallery=kept["gallery"]
    )
