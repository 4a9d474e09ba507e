"""Ranked lists of a few fixed queries: the file the book's ranked-list figure reads, and that
figure (:func:`ranked_lists_figure`).

One JSON per run, ``experiments/results/<experiment>/attention/<run_id>.ranked.json`` (beside the
run's attention arrays, where ``load_runs`` does not take it for a results file), written by the
study's recording step with :func:`save_run_ranked_lists`::

    {"meta": {"run_id", "label", "kind", "positions", "seed", "dataset", "synth_preset",
              "height", "width", "epochs", "profile", "feature", "metric", "rerank", "k"},
     "queries": [{"path": "query/0213_c1s1_000637_01.jpg", "pid": 213, "camid": 0,
                  "gallery": [{"path": "bounding_box_test/0213_c3s1_000640_02.jpg", "pid": 213,
                               "camid": 2, "distance": 0.1234, "hit": true}, ... k items]}, ...]}

Paths are relative to the dataset's folder. The queries are the first ones of the attention
panel (``rga.study.recording.attention_panel``), the same for every run of a dataset, so the
book can set a baseline's list beside RGA-SC's. The ranking is the run's evaluation: its feature
(``eval_feature``), distance and re-ranking, with gallery images of the query's identity and
camera left out. A few kilobytes per run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from rga.engine.atomic import atomic_write
from rga.study.report.attention_arrays import run_meta
from rga.study.report.paths import in_comparisons, results_dir

__all__ = [
    "find_ranked_lists",
    "ranked_lists_figure",
    "load_ranked_lists",
    "ranked_path",
    "save_ranked_lists",
    "save_run_ranked_lists",
    "select_ranked_lists",
]

RANKED_QUERIES = 4  # queries whose lists are saved
RANKED_K = 10  # gallery items per list


def ranked_path(experiment: str, run_id: str, root: str | Path | None = None) -> Path:
    """``<results root>/<experiment>/attention/<run_id>.ranked.json``."""
    return results_dir(experiment, root) / "attention" / f"{run_id}.ranked.json"


def save_ranked_lists(path: str | Path, meta: dict, queries: list[dict]) -> Path:
    """Write one run's ranked lists (format in the module docstring); returns the path."""
    path = Path(path)
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps({"meta": meta, "queries": queries}, indent=1, default=str))
    return path


def load_ranked_lists(path: str | Path) -> dict:
    """Read a file written by :func:`save_ranked_lists`: {"meta": ..., "queries": [...]}."""
    return json.loads(Path(path).read_text())


def find_ranked_lists(experiment: str | None = None, root: str | Path | None = None) -> list[Path]:
    """Every ``<experiment>/attention/*.ranked.json`` under the results root (one experiment or
    all)."""
    base = results_dir(experiment, root)
    pattern = "attention/*.ranked.json" if experiment else "*/attention/*.ranked.json"
    found = sorted(base.glob(pattern)) if base.is_dir() else []
    return found if experiment else [p for p in found if in_comparisons(p, root)]


def select_ranked_lists(
    kind: str | None,
    positions=(1, 2, 3, 4),
    experiment: str | None = None,
    root: str | Path | None = None,
) -> dict | None:
    """The ranked lists of a run of ``kind`` (None: the baseline) at ``positions``: the lowest
    seed, preferring the experiment "attention_variants"; None when there is none."""
    positions = [] if kind is None else sorted(positions)
    candidates = []
    for path in find_ranked_lists(experiment, root):
        lists = load_ranked_lists(path)
        meta = lists.get("meta", {})
        if meta.get("kind") == kind and sorted(meta.get("positions", [])) == positions:
            preferred = path.parent.parent.name != "attention_variants"  # <exp>/attention/x
            candidates.append((preferred, int(meta.get("seed", 0)), str(path), lists))
    return min(candidates, key=lambda c: c[:3])[3] if candidates else None


def save_run_ranked_lists(
    config,
    model,
    dataset,
    queries,
    *,
    run_id: str,
    root: str | Path | None = None,
    k: int = RANKED_K,
    device="cpu",
) -> Path:
    """Rank the gallery for every query of ``dataset`` as the run's evaluation does and save the
    top ``k`` of the queries at indices ``queries`` (into ``dataset.query``).

    Args:
        config: the run's ``RunConfig`` (names the file, fills ``meta``, sets the ranking).
        model: the trained ``ReIDNet``.
        dataset: the run's ``ReIDDataset`` (``rga.data.load_dataset``).
        queries: indices of the queries to keep.
        run_id: the run's id (``record["run_id"]``: the configuration on its data).
        root: the results root (default ``experiments/results``).
    Returns:
        the path written, ``<root>/<experiment>/attention/<run_id>.ranked.json``.
    """
    from rga.engine.evaluate import rank_gallery

    ranked = rank_gallery(model, config, dataset, k=k, device=device)
    folder = Path(dataset.root)

    def entry(sample) -> dict:
        path = Path(sample.path)
        relative = path.relative_to(folder) if path.is_relative_to(folder) else path
        return {"path": relative.as_posix(), "pid": int(sample.pid), "camid": int(sample.camid)}

    lists = []
    for q in queries:
        gallery = [
            {**entry(dataset.gallery[g]), "distance": round(float(d), 5), "hit": bool(hit)}
            for g, hit, d in zip(
                ranked.indices[q], ranked.hits[q], ranked.distances[q], strict=True
            )
            if g >= 0
        ]
        lists.append({**entry(dataset.query[q]), "gallery": gallery})
    meta = {
        **run_meta(config, run_id),
        "feature": config.eval_feature,
        "metric": config.metric,
        "rerank": config.rerank,
        "k": k,
    }
    return save_ranked_lists(ranked_path(config.experiment, run_id, root), meta, lists)


def ranked_lists_figure(lists: Mapping[str, dict], queries: int = 4) -> Figure:
    """Ranked lists of several runs on the same queries: per query, one row per run ({label:
    ``rga.study.report.ranked_lists.load_ranked_lists(...)``}), query then top-k, hits marked.

    SynthReID images are drawn again from the runs' preset (``rga.synth.render_images``: the
    same pixels as the files, in well under a second); other datasets' images are not in the
    repository, so their tiles are grey, captioned with the identity.
    """
    from rga.analysis.draw_ranks import RankedRow, figure_ranked_lists

    first = next(iter(lists.values()))
    names = [q["path"] for q in first["queries"][:queries]]
    for label, ranked in lists.items():
        if [q["path"] for q in ranked["queries"][:queries]] != names:
            raise ValueError(
                f"the ranked lists of {label!r} are of other queries than the others; "
                "save every run's lists for the same queries"
            )
    paths = names + [
        g["path"] for r in lists.values() for q in r["queries"][:queries] for g in q["gallery"]
    ]
    images = _ranked_images(first["meta"], paths)
    rows = []
    for q, name in enumerate(names):
        for label, ranked in lists.items():
            query = ranked["queries"][q]
            gallery = [
                (images.get(g["path"]), g["hit"], f"id {g['pid']}") for g in query["gallery"]
            ]
            rows.append(RankedRow(f"{label}\nquery id {query['pid']}", images.get(name), gallery))
    return figure_ranked_lists(rows)


def _ranked_images(meta: dict, paths: list[str]) -> dict[str, np.ndarray]:
    """{path: (H, W, 3) uint8} of the ranked lists' SynthReID images, drawn again; {} for
    another dataset."""
    if meta.get("dataset") != "synthreid":
        return {}
    from rga.synth import render_images, synth_config

    unique = list(dict.fromkeys(paths))
    rendered = render_images(synth_config(meta.get("synth_preset") or "cpu"), unique)
    return {path: r.image for path, r in rendered.items()}
