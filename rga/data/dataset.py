"""Sample lists, the dataset record, its statistics, and the image dataset used by loaders.

A loader (``market1501.py``, ``cuhk03.py``, ``msmt17.py``) returns a :class:`ReIDDataset`: three
lists of :class:`Sample` (train, query, gallery). :class:`ImageDataset` turns one list into a
``torch.utils.data.Dataset`` of ``(image (3, H, W), pid, camid, index)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision.transforms.functional import to_tensor

SPLITS = ("train", "query", "gallery")


class Sample(NamedTuple):
    """One image: its path, person id and 0-based camera id."""

    path: str
    pid: int
    camid: int


class DatasetNotFoundError(FileNotFoundError):
    """A dataset folder is missing or does not have the expected layout."""


class DatasetFormatError(ValueError):
    """A dataset folder exists but its content cannot be parsed (bad file name, empty split...)."""


class CorruptImageError(OSError):
    """An image file cannot be decoded."""


@dataclass
class ReIDDataset:
    """A re-identification dataset: train / query / gallery sample lists.

    Train pids are relabelled to ``0..num_train_pids-1``; query and gallery keep the original
    labels (so query and gallery ids match each other, not the train ids).
    ``published`` holds the counts of the dataset paper, ``{split: (ids, images)}``, or None.
    """

    name: str
    root: str
    train: list[Sample]
    query: list[Sample]
    gallery: list[Sample]
    published: dict[str, tuple[int, int]] | None = field(default=None, repr=False)

    @property
    def num_train_pids(self) -> int:
        return len({s.pid for s in self.train})

    @property
    def num_train_cams(self) -> int:
        return len({s.camid for s in self.train})

    def split(self, name: str) -> list[Sample]:
        if name not in SPLITS:
            raise KeyError(f"unknown split {name!r}; valid splits: {', '.join(SPLITS)}")
        return getattr(self, name)

    def statistics(self) -> pd.DataFrame:
        """Rows train/query/gallery; columns ids, images, cameras."""
        rows = {
            name: {
                "ids": len({s.pid for s in samples}),
                "images": len(samples),
                "cameras": len({s.camid for s in samples}),
            }
            for name, samples in ((n, self.split(n)) for n in SPLITS)
        }
        return pd.DataFrame.from_dict(rows, orient="index")[["ids", "images", "cameras"]]

    def check_published(self) -> list[str]:
        """Differences from the published counts, one line each (empty when they match)."""
        if self.published is None:
            return []
        stats = self.statistics()
        lines = []
        for split, (ids, images) in self.published.items():
            got_ids, got_images = int(stats.loc[split, "ids"]), int(stats.loc[split, "images"])
            if (got_ids, got_images) != (ids, images):
                lines.append(
                    f"{split}: {got_ids} ids / {got_images} images, published {ids} / {images}"
                )
        return lines

    def __repr__(self) -> str:
        return f"ReIDDataset(name={self.name!r}, root={self.root!r})\n{self.statistics()}"


def report(
    dataset: ReIDDataset, verbose: bool = True, sources: Mapping[str, str] | None = None
) -> ReIDDataset:
    """Print the statistics table (when verbose) and warn when counts differ from the published ones.

    An empty split raises :class:`DatasetFormatError` naming where it was read from,
    ``sources[split]`` (e.g. ``".../bounding_box_test/"``), or the dataset root without it.
    """
    for name in SPLITS:
        if not dataset.split(name):
            where = (sources or {}).get(name, f"under {dataset.root}")
            raise DatasetFormatError(
                f"{dataset.name}: the {name} split ({where}) is empty; check that the download "
                "is complete and that it holds images"
            )
    if verbose:
        print(f"=> {dataset.name} loaded from {dataset.root}")
        print(dataset.statistics().to_string())
    differences = dataset.check_published()
    if differences:
        warnings.warn(
            f"{dataset.name} at {dataset.root} differs from the published counts "
            f"({'; '.join(differences)}); the download may be incomplete or a different release",
            stacklevel=3,
        )
    return dataset


def relabel(samples: Sequence[Sample]) -> list[Sample]:
    """Map the pids of ``samples`` to ``0..P-1`` in sorted order of the original pids."""
    mapping = {pid: label for label, pid in enumerate(sorted({s.pid for s in samples}))}
    return [s._replace(pid=mapping[s.pid]) for s in samples]


def read_image(path: str) -> Image.Image:
    """Decode an image as RGB; a file that cannot be read raises :class:`CorruptImageError`."""
    try:
        with Image.open(path) as img:
            return img.convert("RGB")  # convert() forces a full decode (catches truncated files)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise CorruptImageError(
            f"cannot read image {path}: {err}; re-download the file, or build the "
            "ImageDataset with skip_corrupt=True to leave such files out "
            "(rga.data.verify_images names every such file of a dataset at once)"
        ) from err


class ImageDataset(Dataset):
    """A list of :class:`Sample` as a torch dataset: item ``i`` -> ``(image, pid, camid, i)``.

    Args:
        samples: the split to serve.
        transform: applied to the PIL RGB image; None gives a plain ``(3, H, W)`` float tensor.
        cache_images: keep every decoded image in memory (uint8 arrays) so each file is decoded
            once; JPEG decoding dominates the data time on a 2-core machine. With DataLoader
            workers call :meth:`preload` first, so the forked workers share the decoded images
            (otherwise each worker fills its own copy).
        skip_corrupt: decode every image now and leave out the ones that fail, with a warning;
            ``skipped`` lists their paths and ``samples`` the kept ones (build the sampler on
            ``dataset.samples``). Without it a corrupt file raises :class:`CorruptImageError`
            naming the file when it is read.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        transform: Callable | None = None,
        cache_images: bool = False,
        skip_corrupt: bool = False,
    ):
        self.samples = [Sample(*s) for s in samples]
        self.transform = transform
        self.cache_images = cache_images
        self.skipped: list[str] = []
        self._cache: list[np.ndarray | None] = [None] * len(self.samples)
        if skip_corrupt:
            self._drop_corrupt()

    def _drop_corrupt(self) -> None:
        kept, cache = [], []
        for sample in self.samples:
            try:
                img = read_image(sample.path)
            except CorruptImageError:
                self.skipped.append(sample.path)
                continue
            kept.append(sample)
            cache.append(np.asarray(img) if self.cache_images else None)
        self.samples, self._cache = kept, cache
        if self.skipped:
            warnings.warn(
                f"skipped {len(self.skipped)} corrupt image(s) of {len(kept) + len(self.skipped)}, "
                f"e.g. {self.skipped[0]} (see ImageDataset.skipped)",
                stacklevel=3,
            )

    @property
    def num_skipped(self) -> int:
        return len(self.skipped)

    def preload(self) -> ImageDataset:
        """Decode every image into the cache now (needs ``cache_images=True``)."""
        if not self.cache_images:
            raise ValueError("preload() fills the image cache; build with cache_images=True")
        for index in range(len(self)):
            self._load(index)
        return self

    def _load(self, index: int) -> Image.Image:
        if not self.cache_images:
            return read_image(self.samples[index].path)
        cached = self._cache[index]
        if cached is None:
            cached = np.asarray(read_image(self.samples[index].path))
            self._cache[index] = cached
        return Image.fromarray(cached)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int, int]:
        img = self._load(index)
        image = self.transform(img) if self.transform is not None else to_tensor(img)
        sample = self.samples[index]
        return image, sample.pid, sample.camid, index
