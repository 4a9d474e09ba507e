"""SynthReID: a deterministic synthetic person re-identification dataset in the Market-1501 layout.

Real re-id data cannot be downloaded everywhere; SynthReID lets the study run without it. It is
generated from a seed (numpy and PIL only, no assets, no downloads) and written as::

    <root>/bounding_box_train/0001_c1s1_000001_01.jpg   train identities
    <root>/query/...                                     one image per test identity and camera
    <root>/bounding_box_test/...                         the rest, distractors 0000_..., junk -1_...
    <root>/masks/<split folder>/<image stem>.png         visible-person mask, 0 / 255
    <root>/images.csv                                    per image: view, occluder, visible share
    <root>/meta.json                                     config, version, counts, identities, cameras

so the Market-1501 loader and evaluation read it unchanged, and attention maps can be scored
against the masks. Identities differ in body shape, colours, garments, patterns, logo, shoes and
bags; a share of them are hard negatives (a copy of another identity with one local change).
Cameras differ in scene, viewpoint mix, illumination, colour cast, blur, noise, resolution and
JPEG quality; boxes are misaligned like a detector's and people are sometimes occluded.

``ensure_synthreid(cache_dir, preset)`` generates a dataset once and reuses it afterwards.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image

from rga.synth.config import GENERATOR_VERSION, PRESETS, SynthConfig, config_key, synth_config
from rga.synth.grid import sample_grid
from rga.synth.identity import sample_identity
from rga.synth.plan import (
    DISTRACTOR_PID,
    PANORAMA,
    SPLIT_FOLDERS,
    ImageJob,
    load_mask,
    mask_path,
    plan_cameras,
    plan_identities,
    plan_images,
    rng_for,
)
from rga.synth.render import SUPERSAMPLE, render_image
from rga.synth.scene import render_panorama

__all__ = [
    "PRESETS",
    "SynthConfig",
    "ensure_synthreid",
    "generate_synthreid",
    "load_mask",
    "mask_path",
    "sample_grid",
    "synth_config",
]

META_FILE = "meta.json"
INLINE_LIMIT = 400  # below this many images, processes cost more than they save
CHUNK = 64  # images per task sent to a worker process

_STATE: dict = {}  # per process: the dataset being written and the camera panoramas


def _start(root: Path, config: SynthConfig, identities: dict, cameras: list[dict]) -> None:
    _STATE.clear()
    _STATE.update(root=root, config=config, identities=identities, cameras=cameras, panoramas={})


def _render_chunk(jobs: list[ImageJob]) -> list[dict]:
    """Render and write ``jobs`` (in a worker or inline); one images.csv row per image."""
    root, config = _STATE["root"], _STATE["config"]
    panoramas = _STATE["panoramas"]
    rows = []
    for job in jobs:
        camera = _STATE["cameras"][job.cam - 1]
        if job.cam not in panoramas:
            panoramas[job.cam] = render_panorama(
                camera,
                rng_for(config.seed, PANORAMA, job.cam),
                config.height * SUPERSAMPLE,
                config.width * SUPERSAMPLE,
            )
        rng = rng_for(config.seed, *job.key)
        if job.pid == DISTRACTOR_PID:  # a passer-by outside the identity set
            person = sample_identity(rng)
        else:  # None for junk
            person = _STATE["identities"][job.pid]["attributes"] if job.pid > 0 else None
        image, mask, info = render_image(
            person, camera, panoramas[job.cam], rng, config.width, config.misalignment
        )
        image_file = root / SPLIT_FOLDERS[job.split] / job.name
        Image.fromarray(image).save(image_file, quality=info.pop("quality"))
        Image.fromarray(mask.astype(np.uint8) * 255).save(mask_path(image_file))
        rows.append(
            {
                "split": job.split,
                "name": job.name,
                "pid": job.pid,
                "camera": job.cam,
                "view": info["view"],
                "occluder": info.get("junk", info["occluder"]),
                "visible": info["visible"],
                "coverage": round(float(mask.mean()), 4),
            }
        )
    return rows


def generate_synthreid(
    root: str | Path, config: SynthConfig, preset: str = "custom", workers: int | None = None
) -> Path:
    """Write the dataset of ``config`` into ``root`` (created; should be empty); returns root.

    ``workers`` processes render images (default: 1 for small sets, else up to 2); the output
    does not depend on it.
    """
    start = time.perf_counter()
    root = Path(root)
    for folder in SPLIT_FOLDERS.values():
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / "masks" / folder).mkdir(parents=True, exist_ok=True)
    identities = plan_identities(config)
    cameras = plan_cameras(config)
    jobs = plan_images(config, identities)
    if workers is None:
        workers = 1 if len(jobs) < INLINE_LIMIT else min(2, os.cpu_count() or 1)
    chunks = [jobs[i : i + CHUNK] for i in range(0, len(jobs), CHUNK)]
    if workers <= 1:
        _start(root, config, identities, cameras)
        rows = [row for chunk in chunks for row in _render_chunk(chunk)]
    else:
        # fork where there is one: no re-import of the caller's script, no __main__ guard needed.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with context.Pool(workers, _start, (root, config, identities, cameras)) as pool:
            rows = [row for part in pool.imap_unordered(_render_chunk, chunks) for row in part]
    rows.sort(key=lambda r: (list(SPLIT_FOLDERS).index(r["split"]), r["name"]))
    with open(root / "images.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    meta = {
        "generator": "SynthReID",
        "version": GENERATOR_VERSION,
        "preset": preset,
        "key": config_key(config),
        "config": asdict(config),
        "counts": _counts(jobs),
        "layout": {**SPLIT_FOLDERS, "masks": "masks/<split folder>/<image stem>.png"},
        "cameras": cameras,
        "identities": {str(pid): identity for pid, identity in identities.items()},
        "generation_seconds": round(time.perf_counter() - start, 2),
        "workers": workers,
    }
    (root / META_FILE).write_text(json.dumps(meta, indent=1))  # written last: marks completion
    return root


def _counts(jobs: list[ImageJob]) -> dict:
    counts = {}
    for split in SPLIT_FOLDERS:
        pids = [j.pid for j in jobs if j.split == split]
        kinds = Counter("junk" if p < 0 else "distractor" if p == 0 else "identity" for p in pids)
        counts[split] = {"images": len(pids), "ids": len({p for p in pids if p > 0}), **kinds}
    return counts


def read_meta(root: str | Path) -> dict | None:
    """The meta.json of a complete dataset folder, or None."""
    try:
        return json.loads((Path(root) / META_FILE).read_text())
    except (OSError, ValueError):
        return None


def ensure_synthreid(
    cache_dir: str | Path = "data",
    preset: str = "cpu",
    *,
    workers: int | None = None,
    **overrides,
) -> Path:
    """The folder of the SynthReID dataset of ``preset`` with ``overrides``, generated if needed.

    The folder is ``<cache_dir>/synthreid-<preset>-<key>``, ``key`` a hash of the configuration
    and generator version. It is generated into a temporary folder and renamed when complete,
    so an interrupted run leaves no half dataset; a complete one is reused.
    Unknown presets raise KeyError, unknown SynthConfig fields TypeError.
    """
    config = synth_config(preset, **overrides)
    key = config_key(config)
    cache_dir = Path(cache_dir)
    root = cache_dir / f"synthreid-{preset}-{key}"
    meta = read_meta(root)
    if meta is not None and meta.get("key") == key:
        return root
    cache_dir.mkdir(parents=True, exist_ok=True)
    if root.exists():  # not ours to trust: no or a foreign meta.json
        shutil.rmtree(root)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=cache_dir))
    try:
        generate_synthreid(tmp, config, preset=preset, workers=workers)
        try:
            tmp.rename(root)
        except OSError:  # another process finished the same dataset first
            if read_meta(root) is None:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root
