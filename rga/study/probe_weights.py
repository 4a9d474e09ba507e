"""The weights the probe ships: trained models in half precision, so that the Probe page's
sliders and the book's browser viewer run on a fresh clone without training.

``experiments/probe_weights/`` holds, per shipped run, ``<run_id>.pt`` (the model's state dict
only: floating tensors in half precision, integer buffers such as BN's ``num_batches_tracked``
as they were; no optimiser, curve or RNG state) and ``<run_id>.reference.npz`` (what the
full-precision checkpoint gives on two panel images: the images, the spatial gate of every
stage, the features z), beside one ``manifest.json``::

    {"runs": [{"run_id", "label", "file", "bytes", "sha256", "dtype", "commit", "num_classes",
               "config", "metrics", "reference": {"file", "sha256", "images"}}, ...]}

``config`` is the run's resolved config (``data_root`` relative to the repository or left out,
as in results files): enough to rebuild the network with ``rga.engine.build.build_model``.
:func:`load_probe_model` checks the file's sha256 against the manifest, rebuilds the model and
returns it in float32, in eval mode. Runs are listed in the order they were exported; the
probe shows them side by side in that order.

Export a finished run with::

    python -m rga.study.probe_weights checkpoints/<run_id>/final.pt

or the checkpoint of its rerun (``python -m rga.study.rerun``), named as such in the manifest::

    python -m rga.study.probe_weights checkpoints/rerun-<run_id>/final.pt \
        --rerun-record experiments/rerun/<run_id>.json
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from rga.engine.atomic import atomic_write
from rga.engine.checkpoint import load_checkpoint
from rga.engine.config import config_from_dict
from rga.study.report.paths import repo_root

__all__ = [
    "MANIFEST",
    "PROBE_WEIGHTS_DIR",
    "REFERENCE_IMAGES",
    "export_probe_weights",
    "load_probe_model",
    "load_reference",
    "normalise_images",
    "probe_weights_dir",
    "shipped_runs",
]

PROBE_WEIGHTS_DIR = Path("experiments") / "probe_weights"  # under the repository root
MANIFEST = "manifest.json"
REFERENCE_IMAGES = 2  # panel images whose full-precision gates and features are stored


def probe_weights_dir(folder: str | Path | None = None) -> Path:
    """`folder`, or the repository's ``experiments/probe_weights``."""
    return Path(folder) if folder else repo_root() / PROBE_WEIGHTS_DIR


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else {"runs": []}


def shipped_runs(folder: str | Path | None = None) -> list[dict]:
    """The manifest's entries (one per shipped run, in export order); [] when none is shipped."""
    return _manifest(probe_weights_dir(folder))["runs"]


def _entry(run_id: str, folder: Path) -> dict:
    runs = {r["run_id"]: r for r in _manifest(folder)["runs"]}
    if run_id not in runs:
        raise KeyError(
            f"no shipped weights of run {run_id!r} in {folder / MANIFEST}; shipped runs: "
            f"{sorted(runs) or 'none'} (export one with python -m rga.study.probe_weights "
            "<checkpoint_root>/<run_id>/final.pt)"
        )
    return runs[run_id]


def _verified(folder: Path, name: str, sha256: str) -> Path:
    """The path of `name` in `folder` after checking its sha256, or an error naming the file."""
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is listed in {folder / MANIFEST} but missing; restore it from the "
            "repository (git checkout -- <path>) or export the run again"
        )
    found = _sha256(path)
    if found != sha256:
        raise ValueError(
            f"{path} does not match its sha256 in {folder / MANIFEST} (expected {sha256[:12]}..., "
            f"got {found[:12]}...): the file is damaged or was replaced. Restore it from the "
            "repository (git checkout -- <path>) or export the run again with "
            "rga.study.probe_weights.export_probe_weights"
        )
    return path


def _build(entry: dict):
    """The entry's ReIDNet, untrained, in float32 (the trunk's pretrained weights are not
    loaded: the shipped state dict replaces them)."""
    from rga.engine.build import build_model

    config = dataclasses.replace(config_from_dict(entry["config"]), weights=None)
    return build_model(config, entry["num_classes"])


def load_probe_model(run_id: str, folder: str | Path | None = None):
    """The shipped model of `run_id`: sha256 checked, rebuilt from the manifest's config, the
    half-precision weights loaded into float32 parameters; eval mode, CPU."""
    folder = probe_weights_dir(folder)
    entry = _entry(run_id, folder)
    path = _verified(folder, entry["file"], entry["sha256"])
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = _build(entry)
    model.load_state_dict(state)  # copy_ casts each half tensor into its float32 parameter
    return model.float().eval()


def load_reference(run_id: str, folder: str | Path | None = None) -> dict[str, np.ndarray]:
    """The full-precision reference stored at export: ``images`` uint8 (B, H, W, 3),
    ``spatial_<s>`` float32 (B, h, w) per stage with a spatial gate, ``features`` float32
    (B, D) (z in eval mode); sha256 checked."""
    folder = probe_weights_dir(folder)
    reference = _entry(run_id, folder)["reference"]
    path = _verified(folder, reference["file"], reference["sha256"])
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _half(state: dict, dtype: torch.dtype) -> dict:
    """`state` with its floating tensors in `dtype`, the others (integer buffers) as they are;
    a value beyond the range of `dtype` raises."""
    out = {}
    for name, tensor in state.items():
        if tensor.is_floating_point():
            cast = tensor.detach().cpu().to(dtype)
            if not torch.isfinite(cast).all():
                raise ValueError(
                    f"{name} has values beyond the range of {dtype} (max |x| = "
                    f"{tensor.abs().max().item():.4g}); export it with dtype=torch.float32"
                )
            out[name] = cast
        else:
            out[name] = tensor.detach().cpu().clone()
    return out


def _reference_images(run_id: str, height: int, width: int) -> np.ndarray:
    """The first panel images of the run's saved attention arrays (uint8 (B, H, W, 3)), the
    panel every run of the study is probed on (``rga.study.recording.attention_panel``)."""
    from rga.study.report.attention_arrays import run_attention_arrays

    saved = run_attention_arrays(run_id)
    if saved is None or saved.images.shape[1:3] != (height, width):
        raise FileNotFoundError(
            f"run {run_id} has no saved attention arrays at {height}x{width} to take the "
            "reference images from; pass reference_images=(B, H, W, 3) uint8 images"
        )
    return saved.images[:REFERENCE_IMAGES]


def normalise_images(images: np.ndarray) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> ImageNet-normalised float32 (B, 3, H, W), as the test transform."""
    from rga.data.transforms import IMAGENET_MEAN, IMAGENET_STD

    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std  # (B, 3, H, W)


def reference_outputs(model, images: np.ndarray) -> dict[str, np.ndarray]:
    """What the reference file holds for `model` on uint8 `images`: the images, the spatial
    gate of each stage (``spatial_<s>``) and the features z (``features``), float32."""
    from rga.analysis.probe import probe

    x = normalise_images(images)
    arrays = {"images": np.asarray(images, dtype=np.uint8)}
    for stage, maps in probe(model, x).items():
        if maps.spatial is not None:
            arrays[f"spatial_{stage}"] = maps.spatial.astype(np.float32)
    with torch.no_grad():
        arrays["features"] = model.eval()(x).z.float().numpy()
    return arrays


def _write_bytes(path: Path, payload: bytes) -> None:
    with atomic_write(path) as tmp:
        tmp.write_bytes(payload)


def export_probe_weights(
    checkpoint: Path,
    out_dir: Path,
    run_id: str,
    commit: str,
    dtype: torch.dtype = torch.float16,
    *,
    reference_images: np.ndarray | None = None,
    rerun_record: Path | None = None,
) -> Path:
    """Write the weights of a finished run's ``final.pt`` to ``<out_dir>/<run_id>.pt`` and list
    them in ``<out_dir>/manifest.json`` (an entry of the same run is replaced); returns the path.

    Args:
        checkpoint: the run's ``final.pt`` (``rga.engine.checkpoint``).
        out_dir: the folder (default for the study: ``experiments/probe_weights``).
        run_id: the run's id (its checkpoint folder's name).
        commit: the commit that trained it (a prefix of the one the checkpoint records, if any).
        dtype: the floating-point type of the shipped tensors.
        reference_images: uint8 (B, H, W, 3) images for the reference file (default: the first
            two panel images of the run's saved attention arrays).
        rerun_record: when the checkpoint is a rerun's (``python -m rga.study.rerun``, whose
            model can differ from the committed run's on another CPU), its record
            (``experiments/rerun/<run_id>*.json``); the entry then says the weights are the
            rerun's, with its commit and CPU and the committed run's metrics beside its own.
    """
    from rga.study.report.labels import setting_label
    from rga.study.results import portable_config

    checkpoint, out_dir = Path(checkpoint), Path(out_dir)
    rerun = _rerun_note(Path(rerun_record), run_id) if rerun_record is not None else None
    state = load_checkpoint(checkpoint)
    recorded = state.get("git_commit") or ""
    if recorded and not (recorded.startswith(commit) or commit.startswith(recorded)):
        raise ValueError(
            f"commit={commit!r}, but {checkpoint} was trained at commit {recorded}; pass that one"
        )
    weights = _half(state["model"], dtype)
    buffer = io.BytesIO()  # a buffer, not the temporary file: the archive's inner name stays fixed
    torch.save(weights, buffer)
    payload = buffer.getvalue()
    path = out_dir / f"{run_id}.pt"
    _write_bytes(path, payload)

    config = portable_config(dict(state["config"]))
    full = _build({"config": config, "num_classes": state["num_classes"]})
    full.load_state_dict(state["model"])
    height, width = full.height, full.width
    if reference_images is None:
        reference_images = _reference_images(run_id, height, width)
    reference = reference_outputs(full.eval(), reference_images)
    reference_path = out_dir / f"{run_id}.reference.npz"
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **reference)
    _write_bytes(reference_path, buffer.getvalue())

    metrics = state.get("metrics", {}).get("z", {})
    entry = {
        "run_id": run_id,
        "label": setting_label(config["kind"], config["positions"], config.get("rga_embedding")),
        "file": path.name,
        "bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "dtype": str(dtype).removeprefix("torch."),
        "commit": recorded or commit,
        "num_classes": state["num_classes"],
        "config": json.loads(json.dumps(config)),  # tuples -> lists
        "metrics": {k: metrics[k] for k in ("R1", "mAP") if k in metrics},
        "reference": {
            "file": reference_path.name,
            "sha256": _sha256(reference_path),
            "images": len(reference_images),
        },
    }
    if rerun is not None:
        entry["weights_of"] = rerun
    manifest = _manifest(out_dir)
    runs = [r for r in manifest["runs"] if r["run_id"] != run_id]
    position = next((i for i, r in enumerate(manifest["runs"]) if r["run_id"] == run_id), len(runs))
    runs.insert(position, entry)
    manifest = {
        "about": "Trained weights the probe ships (rga.study.probe_weights): state dicts in half "
        "precision, one per run, with the config that rebuilds each model; load one with "
        "rga.study.probe_weights.load_probe_model(run_id).",
        "runs": runs,
    }
    with atomic_write(out_dir / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    return path


def _rerun_note(record_path: Path, run_id: str) -> dict:
    """What the manifest says of weights taken from a rerun: the record (relative to the
    repository), the rerun's commit and CPU, and both sides' R1 and mAP."""
    record = json.loads(record_path.read_text())
    if record.get("run_id") != run_id:
        raise ValueError(
            f"rerun_record={record_path} is a rerun of {record.get('run_id')!r}, not of "
            f"{run_id!r}; pass the record of this run (experiments/rerun/{run_id}*.json)"
        )
    try:
        shown = record_path.resolve().relative_to(repo_root())
    except ValueError:
        shown = record_path
    side = record["rerun"]
    return {
        "what": "rerun",
        "record": str(shown),
        "commit": side["git_commit"],
        "cpu": side["hardware"].get("cpu"),
        "metrics": {k: side["metrics"][k] for k in ("R1", "mAP")},
        "committed_metrics": {k: record["committed"]["metrics"][k] for k in ("R1", "mAP")},
    }


def main(argv: Sequence[str] | None = None) -> Path:
    """``python -m rga.study.probe_weights CHECKPOINT [--run-id ID] [--commit SHA] [--out DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m rga.study.probe_weights",
        description="Ship a finished run's weights (half precision) for the probe.",
    )
    parser.add_argument("checkpoint", type=Path, help="the run's final.pt")
    parser.add_argument("--run-id", help="default: the checkpoint's folder name")
    parser.add_argument("--commit", help="default: the commit the checkpoint records")
    parser.add_argument("--out", type=Path, help=f"default: {PROBE_WEIGHTS_DIR}")
    parser.add_argument(
        "--rerun-record",
        type=Path,
        help="the checkpoint is a rerun's: its record (experiments/rerun/<run_id>*.json); the "
        "manifest then names the weights as the rerun's, beside the committed run's metrics",
    )
    args = parser.parse_args(argv)
    if args.rerun_record is not None and not args.rerun_record.is_file():
        parser.error(f"--rerun-record: {args.rerun_record} is not a file; pass the rerun's "
                     "record, experiments/rerun/<run_id>*.json")  # fmt: skip
    commit = args.commit or load_checkpoint(args.checkpoint).get("git_commit")
    if not commit:
        parser.error(f"{args.checkpoint} records no commit; pass --commit")
    path = export_probe_weights(
        args.checkpoint,
        probe_weights_dir(args.out),
        args.run_id or args.checkpoint.parent.name.removeprefix("rerun-"),
        commit,
        rerun_record=args.rerun_record,
    )
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and {path.parent / MANIFEST}")
    return path


if __name__ == "__main__":
    main()
