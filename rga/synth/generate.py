"""SynthReID: a deterministic synthetic person re-identification dataset in the Market-1501 layout.

Real re-id data cannot be downloaded everywhere; SynthReID lets the study run without it. It is
generated from a seed (numpy and PIL only, no assets, no downloads) and written as::

    <root>/bounding_box_train/0001_c1s1_000001_01.jpg   train identities
    <root>/query/...                                     one image per test identity and camera
    <root>/bounding_box_test/...                         the rest, distractors 0000_..., junk -1_...
    <root>/masks/<split folder>/<image stem>.png         visible-person mask, 0 / 255
    <root>/parts/<split folder>/<image stem>.png         part map, 0 background, 1..6 PARTS
    <root>/images.csv                                    per image: view, occluder, visible share
    <root>/meta.json                                     config, version, counts, identities, cameras

so the Market-1501 loader and evaluation read it unchanged, and attention maps can be scored
against the masks. Identities differ in body shape, colours, garments, patterns, logo, shoes and
bags; a share of them are hard negatives (a copy of another identity with one local change).
Cameras differ in scene, viewpoint mix, illumination, colour cast, blur, noise, resolution and
JPEG quality; boxes are misaligned like a detector's and people are sometimes occluded.

``ensure_synthreid(cache_dir, preset)`` generates a dataset once and reuses it afterwards; a
folder cached before part maps existed gets them added (the images do not change).
``render_images(config, names)`` draws a few named images in memory, without the folder.
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
from collections.abc import Callable, Iterable
from dataclasses import asdict
from io import BytesIO
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from rga.synth.config import GENERATOR_VERSION, PRESETS, SynthConfig, config_key, synth_config
from rga.synth.grid import sample_grid
from rga.synth.identity import sample_identity
from rga.synth.person import PARTS
from rga.synth.plan import (
    DISTRACTOR_PID,
    PANORAMA,
    SPLIT_FOLDERS,
    ImageJob,
    load_mask,
    mask_path,
    part_mask_path,
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
    "RenderedImage",
    "add_part_masks",
    "ensure_synthreid",
    "generate_synthreid",
    "load_mask",
    "mask_path",
    "render_images",
    "sample_grid",
    "synth_config",
]

META_FILE = "meta.json"
PARTS_LAYOUT = "parts/<split folder>/<image stem>.png"
INLINE_LIMIT = 400  # below this many images, processes cost more than they save
CHUNK = 64  # images per task sent to a worker process

_STATE: dict = {}  # per process: the dataset being written and the camera panoramas


def _start(root: Path, config: SynthConfig, identities: dict, cameras: list[dict]) -> None:
    _STATE.clear()
    _STATE.update(root=root, config=config, identities=identities, cameras=cameras, panoramas={})


def _render_job(job: ImageJob) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """One image of the dataset set up by ``_start``: image, mask, part map, info."""
    config, panoramas = _STATE["config"], _STATE["panoramas"]
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
    return render_image(person, camera, panoramas[job.cam], rng, config.width, config.misalignment)


def _render_chunk(jobs: list[ImageJob]) -> list[dict]:
    """Render and write ``jobs`` (in a worker or inline); one images.csv row per image."""
    root = _STATE["root"]
    rows = []
    for job in jobs:
        image, mask, parts, info = _render_job(job)
        image_file = root / SPLIT_FOLDERS[job.split] / job.name
        Image.fromarray(image).save(image_file, quality=info.pop("quality"))
        Image.fromarray(mask.astype(np.uint8) * 255).save(mask_path(image_file))
        Image.fromarray(parts).save(part_mask_path(image_file))
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
        (root / "parts" / folder).mkdir(parents=True, exist_ok=True)
    identities = plan_identities(config)
    cameras = plan_cameras(config)
    jobs = plan_images(config, identities)
    if workers is None:
        workers = _default_workers(jobs)
    rows = _run_jobs(_render_chunk, jobs, workers, (root, config, identities, cameras))
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
        "layout": {
            **SPLIT_FOLDERS,
            "masks": "masks/<split folder>/<image stem>.png",
            "parts": PARTS_LAYOUT,
        },
        "parts": list(PARTS),
        "cameras": cameras,
        "identities": {str(pid): identity for pid, identity in identities.items()},
        "generation_seconds": round(time.perf_counter() - start, 2),
        "workers": workers,
    }
    (root / META_FILE).write_text(json.dumps(meta, indent=1))  # written last: marks completion
    return root


def _default_workers(jobs: list[ImageJob]) -> int:
    return 1 if len(jobs) < INLINE_LIMIT else min(2, os.cpu_count() or 1)


def _run_jobs(
    work: Callable[[list[ImageJob]], list],
    jobs: list[ImageJob],
    workers: int,
    state: tuple,
    start: Callable[..., None] = _start,
) -> list:
    """``work`` over chunks of ``jobs``, inline or in ``workers`` processes, each set up by
    ``start(*state)``; the chunks' results concatenated (in any order)."""
    chunks = [jobs[i : i + CHUNK] for i in range(0, len(jobs), CHUNK)]
    if workers <= 1:
        start(*state)
        return [row for chunk in chunks for row in work(chunk)]
    # fork where there is one: no re-import of the caller's script, no __main__ guard needed.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with context.Pool(workers, start, state) as pool:
        return [row for part in pool.imap_unordered(work, chunks) for row in part]


def _part_chunk(jobs: list[ImageJob]) -> list[str]:
    """Render ``jobs`` again and write only their part maps, into ``_STATE["parts"]``; the names
    whose person mask now differs from the stored one (none, unless the generator changed)."""
    root, target = _STATE["root"], _STATE["parts"]
    changed = []
    for job in jobs:
        _, mask, parts, _ = _render_job(job)
        folder = SPLIT_FOLDERS[job.split]
        if not np.array_equal(mask, load_mask(root / folder / job.name)):
            changed.append(f"{folder}/{job.name}")
        Image.fromarray(parts).save(target / folder / f"{Path(job.name).stem}.png")
    return changed


def _start_parts(root: Path, config: SynthConfig, identities, cameras, target: Path) -> None:
    _start(root, config, identities, cameras)
    _STATE["parts"] = target


def add_part_masks(root: str | Path, workers: int | None = None) -> Path:
    """Add the part maps to a complete dataset folder written before they existed.

    The images are drawn again (the part map is drawn with them; nothing is written but the
    part maps and meta.json). Refuses, naming the fix, when a drawn person mask differs from the
    stored one: the generator would then no longer draw the cached images.
    """
    root = Path(root)
    meta = read_meta(root)
    if meta is None:
        raise FileNotFoundError(f"{root} is not a complete SynthReID folder (no {META_FILE})")
    config = SynthConfig(**meta["config"])
    identities = plan_identities(config)
    jobs = plan_images(config, identities)
    target = Path(tempfile.mkdtemp(prefix=".parts.", dir=root))
    try:
        for folder in SPLIT_FOLDERS.values():
            (target / folder).mkdir()
        workers = _default_workers(jobs) if workers is None else workers
        state = (root, config, identities, plan_cameras(config), target)
        changed = _run_jobs(_part_chunk, jobs, workers, state, start=_start_parts)
        if changed:
            raise RuntimeError(
                f"the SynthReID generator no longer draws the images cached in {root} "
                f"({len(changed)} person masks differ, e.g. {sorted(changed)[0]}); delete the "
                "folder to regenerate it, and bump GENERATOR_VERSION if the change was meant"
            )
        try:
            target.rename(root / "parts")
        except OSError:  # another process added them first
            if not (root / "parts").is_dir():
                raise
    finally:
        shutil.rmtree(target, ignore_errors=True)
    meta["layout"]["parts"] = PARTS_LAYOUT
    meta["parts"] = list(PARTS)
    tmp = root / f".{META_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(meta, indent=1))
    tmp.replace(root / META_FILE)
    return root


def _has_part_masks(root: Path, meta: dict) -> bool:
    return "parts" in meta.get("layout", {}) and (root / "parts").is_dir()


class RenderedImage(NamedTuple):
    """One SynthReID image drawn in memory: as its file holds it (JPEG-encoded and decoded,
    (H, W, 3) uint8), its person mask (H, W) bool and its part map (H, W) uint8."""

    image: np.ndarray
    mask: np.ndarray
    parts: np.ndarray


def render_images(config: SynthConfig, names: Iterable[str]) -> dict[str, RenderedImage]:
    """Draw the named images of the dataset of ``config`` without writing the dataset.

    The same pixels as the files ``generate_synthreid`` writes (each image has its own random
    stream), in a fraction of the time when only a few are needed: e.g. to show a ranked list.

    Args:
        config: the dataset's configuration (``synth_config(preset, **overrides)``).
        names: Market-style file names (``0013_c2s1_000052_02.jpg``), with or without a folder.
    Returns:
        {name as given: RenderedImage}.
    """
    names = list(names)
    identities = plan_identities(config)
    jobs = {job.name: job for job in plan_images(config, identities)}
    unknown = [n for n in names if Path(n).name not in jobs]
    if unknown:
        raise KeyError(
            f"no image {unknown[0]!r} in this SynthReID configuration ({len(jobs)} images, e.g. "
            f"{next(iter(jobs))!r}); was it written with another preset or size?"
        )
    _start(None, config, identities, plan_cameras(config))
    rendered = {}
    for name in names:
        image, mask, parts, info = _render_job(jobs[Path(name).name])
        buffer = BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=info["quality"])
        stored = np.asarray(Image.open(BytesIO(buffer.getvalue())).convert("RGB"))
        rendered[name] = RenderedImage(stored, mask, parts)
    _STATE.clear()
    return rendered


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
        if not _has_part_masks(root, meta):
            add_part_masks(root, workers=workers)
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
