"""Saved attention maps of a trained model: the file the book's attention figures read.

One ``.npz`` per run: ``experiments/results/<experiment>/attention/<run_id>.npz`` (beside the
run's results JSON), written by the study's recording step after training with
:func:`save_run_attention`. Keys:

=================== ========================== ==========================================
key                 array                      meaning
=================== ========================== ==========================================
``images``          uint8 (B, H, W, 3)         the probed images as shown (network input size)
``masks``           uint8 (B, H, W)            person masks, 1 = person (optional; SynthReID)
``pids``            int64 (B,)                 person ids (optional)
``spatial_s``       float16 (B, h_s, w_s)      spatial gate of the module after stage s (1-4)
``channel_s``       float16 (B, C_s)           channel gate of that module (optional)
``relation_row_s``  float16 (B', P, h_s, w_s)  R[i_p, :] at the P points, first B' images
``relation_col_s``  float16 (B', P, h_s, w_s)  R[:, i_p] (rows and columns: spatial relations only)
``relation_cell_s`` int64 (P, 2)               the cell (row, col) of each i_p on that grid
``relation_points`` float32 (P, 2)             the points (y, x), fractions of the image
``meta``            0-d str                    JSON: run_id, label, kind, positions, seed, dataset
=================== ========================== ==========================================

The same images (same dataset, split and indices) should be used for every run of an
experiment, so that the book can put the runs' maps side by side (supplementary Figure 1).
Sizes (cpu profile, 96x48, four RGA-SC stages, 8 images, relations of all 8 at 3 points):
about 0.13 MB. Relation values are unbounded; one beyond float16's range is stored as float32.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rga.analysis.probe import RelationMaps
from rga.engine.atomic import atomic_write
from rga.engine.config import STUDY_BN_INITS
from rga.study.report.paths import in_comparisons, results_dir
from rga.study.report.runs import STUDY_PROFILES, run_profiles

__all__ = [
    "RELATION_POINTS",
    "AttentionArrays",
    "attention_path",
    "find_attention_arrays",
    "load_attention_arrays",
    "run_attention_arrays",
    "save_attention_arrays",
    "save_run_attention",
    "select_attention_arrays",
    "select_attention_set",
]


# The positions i whose relation rows and columns are saved, (y, x) as fractions of the image:
# the centre line at head, chest and knee height of a well-centred person. Fixed fractions of the
# image, not of the person: boxes are misaligned, so a point can miss the body, which the
# probe page shows by marking it.
RELATION_POINTS = ((0.15, 0.5), (0.4, 0.5), (0.7, 0.5))


class AttentionArrays(NamedTuple):
    """The content of one attention ``.npz``; ``spatial``/``channel``/``relations`` map
    stage -> array (relations: ``RelationMaps(row, col, cells)``, float32, for ``points``)."""

    images: np.ndarray
    masks: np.ndarray | None
    pids: np.ndarray | None
    spatial: dict[int, np.ndarray]
    channel: dict[int, np.ndarray]
    meta: dict
    relations: dict[int, RelationMaps] | None = None
    points: np.ndarray | None = None


def attention_path(experiment: str, run_id: str, root: str | Path | None = None) -> Path:
    """``<results root>/<experiment>/attention/<run_id>.npz``."""
    return results_dir(experiment, root) / "attention" / f"{run_id}.npz"


def _display_images(images) -> np.ndarray:
    """(B, 3, H, W) ImageNet-normalised tensor/array, or (B, H, W, 3) uint8/[0, 1] -> uint8 (B, H, W, 3)."""
    if hasattr(images, "detach"):
        images = images.detach().cpu().float().numpy()
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[1] == 3 and images.shape[-1] != 3:
        from rga.analysis.draw import denormalize

        images = denormalize(images)  # (B, 3, H, W) -> (B, H, W, 3) in [0, 1]
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(
            f"images must be (B, 3, H, W) normalised or (B, H, W, 3); got shape {images.shape}"
        )
    if images.dtype != np.uint8:
        images = np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)
    return images


def save_attention_arrays(
    path: str | Path,
    images,
    maps: Mapping[int, object],
    *,
    masks=None,
    pids=None,
    meta: Mapping | None = None,
    relations: Mapping[int, RelationMaps] | None = None,
    points=None,
) -> Path:
    """Write one run's attention maps (format in the module docstring); returns the path.

    Args:
        path: where to write (see :func:`attention_path`); folders are created.
        images: (B, 3, H, W) normalised images (what the model saw) or (B, H, W, 3) images.
        maps: ``rga.analysis.probe.probe(model, images)``: {stage: AttentionMaps(spatial (B, h, w) | None,
            channel (B, C) | None)}; plain {stage: spatial (B, h, w)} arrays work too.
        masks: (B, H, W) person masks (bool or 0/1), optional.
        pids: (B,) person ids, optional.
        meta: JSON-serialisable facts about the run (run_id, label, kind, positions, ...).
        relations: ``rga.analysis.probe.relations_at(model, images[:B'], points)``, optional:
            {stage: RelationMaps(row (B', P, h, w), col (B', P, h, w), cells (P, 2))}.
        points: the (P, 2) points (y, x) of ``relations``; required with them.
    """
    images = _display_images(images)
    arrays: dict[str, np.ndarray] = {"images": images}
    if masks is not None:
        arrays["masks"] = (np.asarray(masks) > 0).astype(np.uint8)
    if pids is not None:
        arrays["pids"] = np.asarray(pids, dtype=np.int64)
    for stage, m in maps.items():
        spatial = getattr(m, "spatial", m if not hasattr(m, "channel") else None)
        channel = getattr(m, "channel", None)
        if spatial is not None:
            spatial = np.asarray(spatial, dtype=np.float32)
            if spatial.ndim == 4:
                spatial = spatial[:, 0]  # (B, 1, h, w) -> (B, h, w)
            arrays[f"spatial_{int(stage)}"] = spatial.astype(np.float16)
        if channel is not None:
            arrays[f"channel_{int(stage)}"] = np.asarray(channel, dtype=np.float16)
    for key, value in arrays.items():
        if key != "images" and len(value) != len(images):
            raise ValueError(f"{key} has {len(value)} entries for {len(images)} images")
    if relations:
        if points is None:
            raise ValueError("relations need their points: pass points=(P, 2) fractions (y, x)")
        arrays["relation_points"] = np.asarray(points, dtype=np.float32).reshape(-1, 2)
        for stage, rel in relations.items():
            if len(rel.row) > len(images) or rel.row.shape[1] != len(arrays["relation_points"]):
                raise ValueError(
                    f"relations of stage {stage} have shape {rel.row.shape}; expected "
                    f"(at most {len(images)} images, {len(arrays['relation_points'])} points, h, w)"
                )
            arrays[f"relation_row_{int(stage)}"] = _small_float(rel.row)
            arrays[f"relation_col_{int(stage)}"] = _small_float(rel.col)
            arrays[f"relation_cell_{int(stage)}"] = np.asarray(rel.cells, dtype=np.int64)
    arrays["meta"] = np.array(json.dumps(dict(meta or {}), default=str))
    path = Path(path)
    if path.is_file() and _same_arrays(path, arrays):
        return path  # the same content: the file is left as it is, byte for byte
    return write_npz(path, arrays)


def write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write `arrays` as a compressed ``.npz`` at `path`, atomically (:mod:`rga.engine.atomic`)."""
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    return path


def _same_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> bool:
    """Whether the file at `path` holds exactly `arrays` (keys, dtypes, values)."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            return set(saved.files) == set(arrays) and all(
                saved[k].dtype == v.dtype and np.array_equal(saved[k], v) for k, v in arrays.items()
            )
    except (OSError, ValueError):
        return False


def _small_float(values) -> np.ndarray:
    """float16 when every value fits its range, else float32 (relations are unbounded)."""
    values = np.asarray(values, dtype=np.float32)
    fits = np.isfinite(values).all() and np.abs(values).max(initial=0) < np.finfo(np.float16).max
    return values.astype(np.float16) if fits else values


def load_attention_arrays(path: str | Path) -> AttentionArrays:
    """Read a file written by :func:`save_attention_arrays` (maps come back as float32;
    ``relations`` is {} and ``points`` None for a file without relations)."""
    with np.load(Path(path), allow_pickle=False) as data:
        spatial, channel, relations = {}, {}, {}
        for key in data.files:
            if key.startswith("spatial_"):
                spatial[int(key.removeprefix("spatial_"))] = data[key].astype(np.float32)
            elif key.startswith("channel_"):
                channel[int(key.removeprefix("channel_"))] = data[key].astype(np.float32)
            elif key.startswith("relation_row_"):
                stage = int(key.removeprefix("relation_row_"))
                relations[stage] = RelationMaps(
                    row=data[key].astype(np.float32),
                    col=data[f"relation_col_{stage}"].astype(np.float32),
                    cells=data[f"relation_cell_{stage}"],
                )
        return AttentionArrays(
            images=data["images"],
            masks=data["masks"] if "masks" in data.files else None,
            pids=data["pids"] if "pids" in data.files else None,
            spatial=dict(sorted(spatial.items())),
            channel=dict(sorted(channel.items())),
            meta=json.loads(str(data["meta"])) if "meta" in data.files else {},
            relations=dict(sorted(relations.items())),
            points=data["relation_points"] if "relation_points" in data.files else None,
        )


def find_attention_arrays(
    experiment: str | None = None, root: str | Path | None = None
) -> list[Path]:
    """Every ``<experiment>/attention/*.npz`` under the results root (one experiment or all)."""
    base = results_dir(experiment, root)
    pattern = "attention/*.npz" if experiment else "*/attention/*.npz"
    found = sorted(base.glob(pattern)) if base.is_dir() else []
    return found if experiment else [p for p in found if in_comparisons(p, root)]


def run_attention_arrays(run_id: str, root: str | Path | None = None) -> AttentionArrays | None:
    """The saved maps of one run (``<experiment>/attention/<run_id>.npz`` in any experiment,
    preferring "attention_variants"); None when the run has none."""
    paths = [p for p in find_attention_arrays(None, root) if p.stem == run_id]
    paths.sort(key=lambda p: (p.parent.parent.name != "attention_variants", str(p)))
    return load_attention_arrays(paths[0]) if paths else None


def select_attention_arrays(
    kind: str,
    stage: int = 4,
    experiment: str | None = None,
    root: str | Path | None = None,
    profiles: tuple[str, ...] | None = STUDY_PROFILES,
) -> AttentionArrays | None:
    """The saved maps of a run of ``kind`` (meta "kind") that has a spatial map at ``stage``:
    the lowest seed, preferring the experiment "attention_variants"; None when there is none.
    Only runs of ``profiles`` (meta "profile"; default the study's, None for any)."""
    candidates = []
    for path in find_attention_arrays(experiment, root):
        arrays = load_attention_arrays(path)
        if profiles is not None and not arrays_profiles(path, arrays) & set(profiles):
            continue
        if arrays.meta.get("kind") == kind and stage in arrays.spatial:
            preferred = path.parent.parent.name != "attention_variants"
            candidates.append((preferred, int(arrays.meta.get("seed", 0)), str(path), arrays))
    return min(candidates, key=lambda c: c[:3])[3] if candidates else None


def arrays_profiles(path: Path, arrays: AttentionArrays) -> set:
    """The study profiles of the run whose maps `path` holds (``rga.study.report.runs.
    run_profiles``); the attention BN init, not in the arrays' meta, is read from the run's
    results file beside the ``attention/`` folder (absent: the meta's profile alone)."""
    meta = arrays.meta
    record = path.parent.parent / f"{path.stem}.json"
    init = None
    if record.is_file():
        init = json.loads(record.read_text())["config"].get("attention_bn_init")
    elif meta.get("profile") in STUDY_BN_INITS:
        init = STUDY_BN_INITS[meta["profile"]]
    return run_profiles(meta.get("profile"), meta.get("kind"), init)


def select_attention_set(
    kinds: Sequence[str],
    stage: int = 4,
    root: str | Path | None = None,
    profiles: tuple[str, ...] = STUDY_PROFILES,
) -> dict[str, AttentionArrays | None]:
    """{kind: saved maps or None} for a figure that compares `kinds`, all from runs of one
    profile, so that one figure never sets models of two regimes side by side: the profile
    that has the most of the kinds, the later one in `profiles` on a tie (the study's current
    regime comes last in :data:`STUDY_PROFILES`). Each kind's run as :func:`select_attention_arrays`
    picks it."""
    sets = [
        {k: select_attention_arrays(k, stage, root=root, profiles=(profile,)) for k in kinds}
        for profile in reversed(profiles)
    ]  # max() keeps the first of equals: the later profile

    def found(arrays: dict) -> int:
        return sum(a is not None for a in arrays.values())

    return max(sets, key=found, default=dict.fromkeys(kinds))


def run_meta(config, run_id: str) -> dict:
    """What a saved file says of the run that made it: id, label, model, seed, data, input size,
    epochs, profile (the ``meta`` of attention arrays and ranked lists)."""
    from rga.engine.config import model_label

    return {
        "run_id": run_id,
        "label": model_label(config),
        "experiment": config.experiment,
        "kind": config.kind,
        "positions": list(config.positions),
        "seed": config.seed,
        "dataset": config.dataset,
        "synth_preset": config.synth_preset,
        "arch": config.arch,
        "height": config.height,
        "width": config.width,
        "epochs": config.epochs,
        "profile": config.profile,
    }


def save_run_attention(
    config,
    model,
    images,
    *,
    run_id: str,
    masks=None,
    pids=None,
    root: str | Path | None = None,
    points=RELATION_POINTS,
) -> Path:
    """Probe a trained model and write its maps where the book looks for them.

    The one call the study's recording step (``rga.study.recording.record_attention``) makes
    after ``record = rga.study.train.train_run(config)``::

        fingerprint = record["data"]["fingerprint"]
        model = rga.engine.evaluate.load_trained(config, fingerprint=fingerprint)
        save_run_attention(config, model, images, run_id=record["run_id"], masks=masks, pids=pids)

    Models with spatial relations (RGA-S, RGA-SC) also get the relation rows and columns of
    every image at ``points`` (the probe page draws them).

    Args:
        config: the run's ``rga.engine.config.RunConfig`` (fills ``meta``).
        model: the trained ``ReIDNet``.
        run_id: the run's id (``record["run_id"]``; it names the file).
        images: (B, 3, H, W) ImageNet-normalised test images (use the same ones for every run).
        masks: (B, H, W) person masks of those images (SynthReID: ``rga.synth.load_mask``).
        pids: (B,) their person ids.
        root: the results root (default ``experiments/results``).
        points: the positions (y, x), fractions of the image, whose relations are saved.
    Returns:
        the path written, ``<root>/<experiment>/attention/<run_id>.npz``.
    """
    from rga.analysis.probe import probe, relations_at

    meta = run_meta(config, run_id)
    maps = probe(model, images) if config.kind is not None else {}
    relations = relations_at(model, images, points) if config.kind is not None else {}
    path = attention_path(config.experiment, run_id, root)
    return save_attention_arrays(
        path, images, maps, masks=masks, pids=pids, meta=meta, relations=relations, points=points
    )
