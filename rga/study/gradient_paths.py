"""The gradient paths of the from-scratch models and of the same models on the pretrained
trunk, at initialisation: ``experiments/diagnostics/gradient_paths.json``.

For the baseline, RGA-SC and CBAM-CS after all four stages, with a random trunk (the ``cpu``
profile) and with the pretrained trunk (the ``pretrained`` profile), and each seed: the model as
its run builds it (the run's seed, fresh attention modules), and the first training batch of
its run, through :func:`rga.analysis.gradient_paths.gradient_paths`. Nothing is trained: this
says what the first step's gradient does, which the From-scratch page sets beside the per-epoch
diagnostics. Seconds of CPU per model.

    python -m rga.study.gradient_paths [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

import torch

from rga.analysis.gradient_paths import gradient_paths
from rga.data import dataset_fingerprint
from rga.engine.build import build_model, build_train_loader, load_data
from rga.engine.config import make_config
from rga.engine.provenance import git_state
from rga.engine.seeding import epoch_seed, seed_everything
from rga.study.report.paths import repo_root
from rga.study.results import write_json

__all__ = ["MODELS", "TRUNKS", "main", "measure", "output_path", "write"]

TRUNKS = {"cpu": "random", "pretrained": "pretrained"}  # profile: how its trunk starts
MODELS = ((None, ()), ("rga-sc", (1, 2, 3, 4)), ("cbam", (1, 2, 3, 4)))


def output_path(root: str | Path | None = None) -> Path:
    base = Path(root) if root else repo_root() / "experiments" / "diagnostics"
    return base / "gradient_paths.json"


def measure(
    seeds=(0, 1, 2), data_root: str | None = None, profiles=tuple(TRUNKS), verbose: bool = False
) -> dict:
    """The record: one row per (profile, model, seed) with the trunk, the stem's over the
    head's gradient norm and each module's gains (:func:`gradient_paths`), plus the data's
    fingerprint and the commit."""
    rows, data = [], {}
    for profile in profiles:
        for kind, positions in MODELS:
            for seed in seeds:
                overrides = {"kind": kind, "positions": positions, "seed": seed}
                if data_root:
                    overrides["data_root"] = data_root
                config = make_config(profile, **overrides)
                dataset = load_data(config, verbose=verbose)
                data[profile] = dataset_fingerprint(dataset)
                loader, sampler = build_train_loader(config, dataset.train)
                seed_everything(config.seed)  # the model as the run builds it
                model = build_model(config, dataset.num_train_pids)
                seed_everything(epoch_seed(config.seed, 0, 0))  # the run's first epoch
                sampler.set_epoch(0)
                images, pids, *_ = next(iter(loader))
                paths = gradient_paths(model, images, pids, config.label_smoothing, config.margin)
                rows.append(
                    {
                        "profile": profile,
                        "trunk": TRUNKS.get(profile, profile),
                        "kind": kind,
                        "positions": list(positions),
                        "seed": seed,
                        "stem_over_head": paths["stem_over_head"],
                        "modules": {str(s): m for s, m in paths["modules"].items()},
                    }
                )
    commit, dirty = git_state()
    return {
        "what": "gradient paths at initialisation, first training batch (rga.study.gradient_paths)",
        "command": "python -m rga.study.gradient_paths --seeds " + ",".join(map(str, seeds)),
        "git_commit": commit,
        "git_dirty": dirty,
        "torch": torch.__version__,
        "data": data,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rows": rows,
    }


def write(record: dict, root: str | Path | None = None) -> Path:
    """Write `record` (a temporary file, then os.replace: a failed call leaves the old file)."""
    return write_json(output_path(root), record)


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds={text!r} is not a comma-separated list of integers; e.g. --seeds 0,1,2"
        ) from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"seeds={text!r}: give seeds >= 0, e.g. --seeds 0,1,2")
    return seeds


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(
        prog="python -m rga.study.gradient_paths", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seeds", type=_seeds, default=(0, 1, 2), help="default: 0,1,2")
    parser.add_argument("--data-root", default=None, help="default: the profiles' (data)")
    parser.add_argument("--out-root", default=None, help="default: experiments/diagnostics")
    args = parser.parse_args(argv)
    path = write(measure(args.seeds, args.data_root, verbose=True), args.out_root)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
