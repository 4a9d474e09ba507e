"""Rendering one SynthReID image and its visible-person mask.

The scene is drawn at ``SUPERSAMPLE`` times the output size and box-filtered down (anti-aliasing;
the mask is the majority vote of each block). The camera's nuisances are applied at the output
size: lower resolution, blur, illumination and colour cast with a side light, sensor noise. The
JPEG quality is drawn here too and applied by the writer.

The part map (which body part each visible person pixel shows, ``rga.synth.person.PARTS``) is
drawn alongside; it draws no random numbers and changes neither the image nor the mask.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageChops, ImageFilter

from rga.synth.identity import sample_identity
from rga.synth.painter import Painter
from rga.synth.person import PARTS, VIEWS, draw_person
from rga.synth.scene import background, draw_occluder

SUPERSAMPLE = 2
JUNK_KINDS = ("empty", "fragment", "tiny")


def render_image(
    person: dict | None,
    camera: dict,
    panorama: np.ndarray,
    rng: np.random.Generator,
    width: int,
    misalignment: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Render ``person`` (None: a junk detection) through ``camera``.

    ``panorama`` is the camera's scene at the supersampled size, (S*H, S*PW, 3) uint8; ``width``
    is the output width W.
    Returns the image (H, W, 3) uint8, the visible-person mask (H, W) bool, the part map (H, W)
    uint8 (an index into ``PARTS``; 0 exactly where the mask is False) and an info dict (view,
    occluder, visible fraction, JPEG quality).
    """
    h = panorama.shape[0]
    w = width * SUPERSAMPLE
    body = person["body"]["height"] if person is not None else rng.uniform(0.84, 0.96)
    person_h = h * body * camera["scale"] * rng.uniform(0.94, 1.06)
    canvas = background(panorama, camera, rng, w, person_h)
    mask = Image.new("L", canvas.size, 0)
    parts = Image.new("L", canvas.size, 0)
    view_probs = np.asarray(camera["view_probs"])  # rounded in meta.json: renormalise
    view = str(rng.choice(VIEWS, p=view_probs / view_probs.sum()))
    info = {"view": view, "occluder": "none", "visible": 1.0}
    cx = w / 2 + rng.uniform(-1, 1) * misalignment * w
    top = (h - person_h) / 2 + rng.uniform(-1, 1) * misalignment * h / 2
    if person is None:  # junk: background only, a fragment of a close person or a tiny one
        kind = str(rng.choice(JUNK_KINDS))
        info["junk"] = kind
        person = sample_identity(rng)
        if kind == "fragment":
            person_h *= rng.uniform(1.8, 3.0)
            cx = rng.uniform(-0.3, 1.3) * w
            top = -rng.uniform(0.2, 0.7) * person_h
        elif kind == "tiny":
            person_h *= rng.uniform(0.25, 0.45)
            cx, top = rng.uniform(0.1, 0.9) * w, rng.uniform(0.0, 0.7) * h
    if info.get("junk") != "empty":
        draw_person(
            Painter(canvas, mask, parts), person, view, cx, top, person_h, rng.uniform(0, 2 * np.pi)
        )
        if "junk" not in info and rng.random() < camera["occlusion"]:
            occluder, info["occluder"] = draw_occluder(canvas, rng, person_h)
            full = np.count_nonzero(np.asarray(mask))
            mask = ImageChops.subtract(mask, occluder)  # the visible person only
            info["visible"] = round(np.count_nonzero(np.asarray(mask)) / max(full, 1), 3)

    image = canvas.reduce(SUPERSAMPLE)
    visible = np.asarray(mask.reduce(SUPERSAMPLE)) >= 128
    labels = reduce_parts(np.asarray(parts), np.asarray(mask) >= 128, visible)
    image = apply_camera(image, camera, rng)
    info["quality"] = int(rng.integers(camera["jpeg"][0], camera["jpeg"][1] + 1))
    return image, visible, labels, info


def reduce_parts(parts: np.ndarray, fine: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """The part map at the output size: in each SUPERSAMPLE x SUPERSAMPLE block, the most
    frequent label among its visible person pixels (ties: the lower label); 0 off the mask.

    Args:
        parts: (S*H, S*W) uint8 labels as drawn; fine: (S*H, S*W) bool visible person there.
        visible: (H, W) bool, the output mask (the blocks' majority vote).
    Returns:
        (H, W) uint8.
    """
    h, w = visible.shape
    s = SUPERSAMPLE
    labels = np.where(fine, parts, 0)[: h * s, : w * s]
    blocks = labels.reshape(h, s, w, s).transpose(0, 2, 1, 3).reshape(h, w, s * s)  # (H, W, S*S)
    counts = np.stack([(blocks == k).sum(-1) for k in range(1, len(PARTS))], -1)  # (H, W, P-1)
    best = (counts.argmax(-1) + 1).astype(np.uint8)
    return np.where(visible & (counts.max(-1) > 0), best, 0).astype(np.uint8)


def apply_camera(image: Image.Image, camera: dict, rng: np.random.Generator) -> np.ndarray:
    """Resolution loss, blur, illumination, colour cast, side light and noise; (H, W, 3) uint8."""
    w, h = image.size
    factor = camera["resolution"] * rng.uniform(0.9, 1.1)
    if factor < 0.95:
        small = (max(8, round(w * factor)), max(16, round(h * factor)))
        image = image.resize(small, Image.BILINEAR).resize((w, h), Image.BILINEAR)
    radius = camera["blur"] * rng.uniform(0.6, 1.4) * w / 64  # blur scales with the image
    if radius > 0.15:
        image = image.filter(ImageFilter.GaussianBlur(radius))
    light = 1 + camera["light"] * np.linspace(-1, 1, w, dtype=np.float32)  # (W,)
    cast = camera["gain"] * rng.uniform(0.85, 1.15) * np.asarray(camera["cast"], np.float32)
    pixels = rng.standard_normal((h, w, 3), dtype=np.float32) * np.float32(camera["noise"])
    pixels += np.asarray(image, np.float32) * (light[:, None] * cast[None, :])  # (H, W, 3)
    return np.clip(pixels + 0.5, 0, 255).astype(np.uint8)
