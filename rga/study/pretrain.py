"""The pretrained trunk that stands in for ImageNet weights.

The paper inserts fresh attention modules into an ImageNet-trained ResNet. Here no ImageNet
weights can be had, so the study's trunk is trained first on a SynthReID population disjoint
from the study's people (the ``pretrain`` preset: its own seed, 1,000 identities): the
``pretrain`` profile trains a baseline there, and its residual trunk is kept as
``experiments/pretrained/<arch>-synthreid-<sha256[:8]>.pt`` beside ``trunk.json`` (the
provenance: config, run id, commit, sha256, data statistics, curve). The file name carries the
content hash, and the study's configs name the file, so a new trunk gives new run ids.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import torch

from rga.engine.atomic import atomic_write
from rga.engine.config import LARGE_TRUNK_MANIFEST, RunConfig, make_config
from rga.engine.evaluate import load_trained
from rga.study.report.paths import checkpoints_dir, repo_root, results_dir
from rga.study.train import train_run

PRETRAINED_DIR = Path("experiments") / "pretrained"  # relative to the repository root
MANIFEST = "trunk.json"
# The manifest each pretraining profile writes: the study's trunk, or the 192x96 one of the scale
# probe (book/scale.md); any other profile (smoke, a user's) writes trunk.json in its out_dir.
MANIFESTS = {"pretrain": MANIFEST, "pretrain-192x96": LARGE_TRUNK_MANIFEST}


def pretrain_trunk(
    config: RunConfig | None = None,
    *,
    out_dir: str | Path | None = None,
    checkpoint_root: str | Path | None = None,
    results_root: str | Path | None = None,
    force: bool = False,
    progress: bool = True,
) -> dict:
    """Train (or reuse) the pretraining run and write its trunk and its manifest (``trunk.json``,
    or :data:`MANIFESTS` of its profile); the manifest.

    `config`: default ``make_config("pretrain")`` with the data under the repository's ``data/``.
    """
    config = config or make_config("pretrain", data_root=str(repo_root() / "data"))
    checkpoints = Path(checkpoint_root) if checkpoint_root else checkpoints_dir()
    record = train_run(
        config,
        checkpoint_root=checkpoints,
        results_root=Path(results_root) if results_root else results_dir(),
        force=force,
        progress=progress,
    )
    model = load_trained(config, checkpoints, record["data"]["fingerprint"])
    buffer = io.BytesIO()
    torch.save(model.backbone.state_dict(), buffer)
    payload = buffer.getvalue()
    sha256 = hashlib.sha256(payload).hexdigest()
    out = Path(out_dir) if out_dir else repo_root() / PRETRAINED_DIR
    name = f"{config.arch}-synthreid-{sha256[:8]}.pt"
    with atomic_write(out / name) as tmp:
        tmp.write_bytes(payload)
    manifest = {
        "file": (PRETRAINED_DIR / name).as_posix(),
        "sha256": sha256,
        "bytes": len(payload),
        "arch": config.arch,
        "what": "residual trunk (stem, layer1-4) of a baseline trained on SynthReID's "
        "pretraining population; load with weights=<file>",
        "run_id": record["run_id"],
        "config": record["config"],  # data_root relative to the repository (or left out)
        "data": record["data"],
        "git_commit": record["git_commit"],
        "git_dirty": record["git_dirty"],
        "dataset_statistics": record["dataset_statistics"],
        "metrics": record["metrics"],
        "curve": record["curve"],
        "hardware": record["hardware"],
        "train_time_s": record["train_time_s"],
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    with atomic_write(out / MANIFESTS.get(config.profile, MANIFEST)) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def trunk_manifest(root: str | Path | None = None, name: str = MANIFEST) -> dict | None:
    """The committed manifest ``name`` (the study's ``trunk.json`` by default; None when that
    trunk has not been made)."""
    path = Path(root) if root else repo_root() / PRETRAINED_DIR
    path = path / name
    return json.loads(path.read_text()) if path.is_file() else None
