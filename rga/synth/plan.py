"""What a SynthReID dataset holds: its identities, cameras, the images to render, and where
its files go (Market-1501 names and folders, masks beside them).

Everything random is drawn from its own ``numpy`` Generator seeded by a SeedSequence of
``(seed, stream, ...)`` (an image: ``(seed, stream, pid, cam, k)``), so the dataset does not
depend on the order of rendering or on the number of processes.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from rga.synth.config import SynthConfig
from rga.synth.identity import HARD_NEGATIVE_GROUPS, hard_negative, sample_identity
from rga.synth.scene import sample_camera

# The Market-1501 layout (as in rga.data.market1501, which needs torch; this package does not).
SPLIT_FOLDERS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}
# Random streams: one Generator per (stream, ...) key.
IDENTITY, CAMERA_SET, TWINS, CAMERA, PANORAMA, IMAGE, DISTRACTOR, JUNK = range(8)
JUNK_PID, DISTRACTOR_PID = -1, 0


class ImageJob(NamedTuple):
    """One image to render: where it goes and the key of its random stream."""

    split: str  # "train" | "query" | "gallery"
    name: str  # Market-style file name, e.g. 0002_c1s1_000451_01.jpg
    pid: int  # -1 junk, 0 distractor, >= 1 identity
    cam: int  # 1-based camera
    key: tuple[int, ...]  # (stream, ...) of the image's Generator


def rng_for(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *key]))


def market_name(pid: int, cam: int, frame: int, k: int) -> str:
    pid_text = str(pid) if pid < 0 else f"{pid:04d}"
    return f"{pid_text}_c{cam}s1_{frame:06d}_{k:02d}.jpg"


def mask_path(image_path: str | Path) -> Path:
    """``<root>/<split>/<stem>.jpg`` -> ``<root>/masks/<split>/<stem>.png``."""
    image_path = Path(image_path)
    return image_path.parent.parent / "masks" / image_path.parent.name / f"{image_path.stem}.png"


def load_mask(image_path: str | Path) -> np.ndarray:
    """The visible-person mask of a SynthReID image, (H, W) bool."""
    path = mask_path(image_path)
    if not path.is_file():
        raise FileNotFoundError(f"no mask {path} for {image_path}; masks exist for SynthReID only")
    return np.asarray(Image.open(path)) >= 128


def part_mask_path(image_path: str | Path) -> Path:
    """``<root>/<split>/<stem>.jpg`` -> ``<root>/parts/<split>/<stem>.png``."""
    image_path = Path(image_path)
    return image_path.parent.parent / "parts" / image_path.parent.name / f"{image_path.stem}.png"


def load_part_mask(image_path: str | Path) -> np.ndarray:
    """The part map of a SynthReID image, (H, W) uint8: an index into ``rga.synth.person.PARTS``
    (0 background, 1 head, ..., 6 bag); 0 exactly where the person mask is False."""
    path = part_mask_path(image_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no part mask {path} for {image_path}; part masks exist for SynthReID only "
            "(rga.synth.ensure_synthreid adds them to a dataset cached without them)"
        )
    return np.asarray(Image.open(path))


def plan_identities(config: SynthConfig) -> dict[int, dict]:
    """pid -> {split, cameras, twin_of, differs_in, attributes}; train pids first, then test."""
    identities = {}
    splits = (
        ("train", 1, config.num_train_ids),
        ("test", config.num_train_ids + 1, config.num_test_ids),
    )
    for split, first, count in splits:
        pids = list(range(first, first + count))
        order = rng_for(config.seed, TWINS, first).permutation(pids).tolist()
        num_twins = min(round(config.hard_negative_frac * count), count // 2)
        twins, originals = order[:num_twins], sorted(order[num_twins:])
        for pid in originals:
            identities[pid] = {
                "twin_of": None,
                "differs_in": None,
                "attributes": sample_identity(rng_for(config.seed, IDENTITY, pid)),
            }
        for pid in sorted(twins):
            rng = rng_for(config.seed, IDENTITY, pid)
            source = int(originals[rng.integers(len(originals))])
            group = str(rng.choice(HARD_NEGATIVE_GROUPS))
            identities[pid] = {
                "twin_of": source,
                "differs_in": group,
                "attributes": hard_negative(identities[source]["attributes"], group, rng),
            }
        for pid in pids:
            cams = rng_for(config.seed, CAMERA_SET, pid).choice(
                config.num_cameras, config.cams_per_id, replace=False
            )
            identities[pid] = {
                "split": split,
                "cameras": sorted(int(c) + 1 for c in cams),
                **identities[pid],
            }
    return dict(sorted(identities.items()))


def plan_cameras(config: SynthConfig) -> list[dict]:
    return [
        sample_camera(
            rng_for(config.seed, CAMERA, cam),
            cam,
            config.occlusion_prob,
            config.clutter_person_prob,
        )
        for cam in range(1, config.num_cameras + 1)
    ]


def plan_images(config: SynthConfig, identities: dict[int, dict]) -> list[ImageJob]:
    """Every image of the dataset. The first image of a test identity in each camera is a query."""
    jobs, frame = [], 0
    for pid, identity in identities.items():
        for cam in identity["cameras"]:
            for k in range(1, config.images_per_id_per_cam + 1):
                frame += 1
                split = (
                    "train" if identity["split"] == "train" else ("query" if k == 1 else "gallery")
                )
                jobs.append(
                    ImageJob(split, market_name(pid, cam, frame, k), pid, cam, (IMAGE, pid, cam, k))
                )
    extra = [(DISTRACTOR_PID, DISTRACTOR, i) for i in range(config.num_distractors)]
    extra += [(JUNK_PID, JUNK, i) for i in range(config.num_junk)]
    for pid, stream, i in extra:
        frame += 1
        cam = i % config.num_cameras + 1
        jobs.append(ImageJob("gallery", market_name(pid, cam, frame, 1), pid, cam, (stream, i)))
    return jobs
