"""The Probe page's browser viewer: the maps of the shipped models, precomputed when the book
is built, and the HTML that embeds the viewer (``book/_static/probe/viewer.js``).

No kernel runs in the built book, so everything the viewer can show is computed here, for a few
panel images and every shipped model (``rga.study.probe_weights``): per stage the spatial gate
(h, w) and the whole relation matrix R = Q^T K (N x N, N = h * w; ``rga.analysis.probe.
relation_matrix``), from which the viewer reads any node's row R(i, :) and column R(:, i). The
data goes to ``book/_static/probe/probe-data.js`` (git ignores it; the build writes it again),
a script that assigns ``window.RGA_PROBE_DATA``, so the viewer also works from ``file://``.

Arrays are little-endian float16 in base64 (float32 where a relation value is beyond float16's
range), ``{"dtype", "shape", "data"}``; images are PNG data URLs. With six images and one model
with relations at 96x48 (N = 288, 72, 18, 18) the file is about 1.5 MB.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from IPython.display import HTML, Markdown

from rga.engine.atomic import atomic_write
from rga.study.report.paths import book_dir

__all__ = [
    "DATA_FILE",
    "VIEWER_IMAGES",
    "decode_array",
    "encode_array",
    "probe_viewer",
    "viewer_data",
    "viewer_dir",
    "viewer_html",
    "write_viewer_data",
]

DATA_FILE = "probe-data.js"
VIEWER_IMAGES = 6  # panel images the viewer offers
STAGE_NAMES = {1: "conv2_x", 2: "conv3_x", 3: "conv4_x", 4: "conv5_x"}
_F16_MAX = float(np.finfo(np.float16).max)


def viewer_dir() -> Path:
    """``book/_static/probe``: the viewer's script, style and data."""
    return book_dir() / "_static" / "probe"


def encode_array(values) -> dict:
    """{"dtype", "shape", "data"}: the array row-major, little-endian float16 in base64, or
    float32 when a value is beyond float16's range (relations are unbounded)."""
    values = np.asarray(values, dtype=np.float32)
    fits = np.isfinite(values).all() and np.abs(values).max(initial=0) < _F16_MAX
    dtype = "<f2" if fits else "<f4"
    data = base64.b64encode(np.ascontiguousarray(values, dtype=dtype).tobytes()).decode("ascii")
    return {"dtype": "float16" if fits else "float32", "shape": list(values.shape), "data": data}


def decode_array(encoded: Mapping) -> np.ndarray:
    """The float32 array of :func:`encode_array`'s output (what the viewer decodes)."""
    dtype = {"float16": "<f2", "float32": "<f4"}[encoded["dtype"]]
    raw = np.frombuffer(base64.b64decode(encoded["data"]), dtype=dtype)
    return raw.astype(np.float32).reshape(encoded["shape"])


def _png(image: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def viewer_data(
    models: Sequence[tuple[str, str, object]], images: np.ndarray, source: str = ""
) -> dict:
    """What the viewer draws, for `images` and each model.

    Args:
        models: (label, run_id, model) per model, in display order (ReIDNets, same input size).
        images: uint8 (B, H, W, 3) test images at the models' input size.
        source: where the images come from (shown under the viewer).
    Returns:
        {"height", "width", "source", "images": [{"png"}], "models": [{"label", "run_id",
        "stages": [{"stage", "name", "h", "w", "gate": [per image] | None, "relation":
        [per image] | None}]}]}; gates (h, w) and relations (N, N) as :func:`encode_array`.
    """
    from rga.analysis.probe import has_spatial_relations, probe, relation_matrix
    from rga.study.probe_weights import normalise_images

    images = np.asarray(images, dtype=np.uint8)
    x = normalise_images(images)  # (B, 3, H, W)
    entries = []
    for label, run_id, model in models:
        if (model.height, model.width) != images.shape[1:3]:
            raise ValueError(
                f"{label} ({run_id}) takes {model.height}x{model.width} images; the viewer's "
                f"images are {images.shape[1]}x{images.shape[2]}"
            )
        maps = probe(model, x)
        stages = []
        for stage, m in maps.items():
            module = model.attention_modules[stage]
            h, w = (
                (m.spatial.shape[-2:]) if m.spatial is not None else (module.height, module.width)
            )
            relations = (
                relation_matrix(model, x, stage) if has_spatial_relations(model, stage) else None
            )  # (B, N, N)
            stages.append({
                "stage": stage,
                "name": STAGE_NAMES.get(stage, f"stage {stage}"),
                "h": int(h),
                "w": int(w),
                "gate": None if m.spatial is None else [encode_array(g) for g in m.spatial],
                "relation": None if relations is None else [encode_array(r) for r in relations],
            })  # fmt: skip
        entries.append({"label": label, "run_id": run_id, "stages": stages})
    return {
        "height": int(images.shape[1]),
        "width": int(images.shape[2]),
        "source": source,
        "images": [{"png": _png(image)} for image in images],
        "models": entries,
    }


def write_viewer_data(data: Mapping, folder: str | Path | None = None) -> Path:
    """Write ``<folder>/probe-data.js`` (default ``book/_static/probe``), a script assigning
    ``window.RGA_PROBE_DATA``; returns its path."""
    path = Path(folder or viewer_dir()) / DATA_FILE
    text = "window.RGA_PROBE_DATA = " + json.dumps(data, separators=(",", ":")) + ";\n"
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def viewer_html(data_path: Path, base: str = "_static/probe") -> HTML:
    """The HTML that embeds the viewer: its style, a container, the data and the script, from
    `base` (relative to the page), each with its content hash as a query (a rebuilt book is not
    served stale files from a browser's cache)."""
    folder = Path(data_path).parent

    def src(name: str) -> str:
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()[:12]
        return html.escape(f"{base}/{name}?v={digest}")

    return HTML(
        f'<link rel="stylesheet" href="{src("viewer.css")}">\n'
        '<div class="rga-probe" data-rga-probe>\n'
        '<p class="rga-probe-fallback">The browser probe loads here in the built book '
        "(<code>book/_build/html/probe.html</code>), with JavaScript on. In JupyterLab use "
        "the sliders below.</p>\n</div>\n"
        f'<script src="{src(DATA_FILE)}"></script>\n'
        f'<script src="{src("viewer.js")}"></script>\n'
    )


def probe_viewer(
    profile: str,
    n: int = VIEWER_IMAGES,
    weights_folder: str | Path | None = None,
    folder: str | Path | None = None,
) -> HTML | Markdown:
    """Compute the viewer's data for the shipped models of `profile` and `n` panel images,
    write it into `folder` (default ``book/_static/probe/``) and return the HTML that embeds
    the viewer; a note (Markdown) instead when no model of `profile` is shipped.

    The images are the first `n` of the fixed SynthReID panel (``rga.study.experiments.
    attention_panel``) as the first model's saved attention arrays hold them, else the two
    reference images shipped with its weights.
    """
    from rga.study.probe_weights import load_probe_model, load_reference, shipped_runs
    from rga.study.report.attention_arrays import run_attention_arrays

    runs = [r for r in shipped_runs(weights_folder) if r["config"].get("profile") == profile]
    if not runs:
        return Markdown(
            f"The repository ships no weights of the {profile} profile "
            "(`experiments/probe_weights/manifest.json`), so the browser probe has nothing to "
            "show for it; set `profile` in the first code cell to a shipped one."
        )
    first = runs[0]
    size = (first["config"]["height"], first["config"]["width"])
    saved = run_attention_arrays(first["run_id"])
    if saved is not None and saved.images.shape[1:3] == size:
        images = saved.images[:n]
        source = (
            f"the first {len(images)} images of the study's fixed SynthReID test panel (one per "
            "identity), as saved with the runs' attention maps"
        )
    else:
        images = load_reference(first["run_id"], weights_folder)["images"][:n]
        source = f"the {len(images)} SynthReID test images shipped with the weights"
    runs = [r for r in runs if (r["config"]["height"], r["config"]["width"]) == size]
    models = [
        (r["label"], r["run_id"], load_probe_model(r["run_id"], weights_folder)) for r in runs
    ]
    path = write_viewer_data(viewer_data(models, images, source), folder)
    return viewer_html(path)
