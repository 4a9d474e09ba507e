"""SynthReID cameras: each has a scene (a wide background panorama), a viewpoint mix, clutter
and occlusion levels, and its imaging nuisances (illumination, colour cast, blur, noise,
resolution, JPEG quality). Per image: a window of the panorama, random clutter objects and
partial people behind the person, and sometimes an occluder in front of it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from rga.synth.identity import sample_identity
from rga.synth.painter import Painter
from rga.synth.person import VIEWS, draw_person

STYLES = ("street", "indoor", "park", "station")
OCCLUDERS = ("bottom", "pole", "person", "side")
PANORAMA_WIDTHS = 3  # panorama width in image widths; each image shows a window of it


def _rgb(rng: np.random.Generator, base, spread: int = 25) -> tuple[int, int, int]:
    values = np.clip(np.asarray(base) + rng.integers(-spread, spread + 1, size=3), 0, 255)
    return tuple(int(v) for v in values)


def sample_camera(rng: np.random.Generator, cam: int, occlusion: float, crowd: float) -> dict:
    """One camera's scene style and nuisance levels, JSON-ready (stored in meta.json)."""
    views = 0.6 * rng.dirichlet([1.5] * len(VIEWS)) + 0.4 / len(VIEWS)
    qmin = int(rng.integers(50, 86))
    return {
        "camera": cam,
        "style": STYLES[(cam - 1 + int(rng.integers(2))) % len(STYLES)],
        "horizon": round(float(rng.uniform(0.38, 0.6)), 3),
        "gain": round(float(rng.uniform(0.7, 1.2)), 3),
        "cast": [round(float(c), 3) for c in rng.uniform(0.86, 1.14, size=3)],
        "light": round(float(rng.uniform(-0.25, 0.25)), 3),
        "blur": round(float(rng.uniform(0.0, 0.9)), 3),
        "noise": round(float(rng.uniform(1.5, 7.0)), 3),
        "resolution": round(float(rng.uniform(0.55, 1.0)), 3),
        "jpeg": [qmin, qmin + 12],
        "scale": round(float(rng.uniform(0.92, 1.02)), 3),
        "view_probs": [round(float(v), 4) for v in views / views.sum()],
        "occlusion": round(float(np.clip(occlusion * rng.uniform(0.5, 1.5), 0, 1)), 3),
        "crowd": round(float(np.clip(crowd * rng.uniform(0.5, 1.5), 0, 1)), 3),
    }


def render_panorama(camera: dict, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """The camera's background scene, (height, PANORAMA_WIDTHS * width, 3) uint8."""
    pw = PANORAMA_WIDTHS * width
    hz = int(camera["horizon"] * height)
    style = camera["style"]
    canvas = Image.new("RGB", (pw, height))
    draw = ImageDraw.Draw(canvas)
    ground = {
        "street": (120, 118, 112),
        "indoor": (170, 160, 140),
        "park": (80, 130, 60),
        "station": (150, 150, 145),
    }[style]
    draw.rectangle((0, hz, pw, height), fill=_rgb(rng, ground))
    if style == "park":
        for y in range(hz):  # sky gradient
            t = y / max(hz, 1)
            draw.line((0, y, pw, y), fill=(int(150 + 60 * t), int(190 + 40 * t), 235))
        path = _rgb(rng, (200, 185, 150))
        py = hz + int((height - hz) * rng.uniform(0.2, 0.5))
        draw.rectangle((0, py, pw, py + int((height - hz) * 0.35)), fill=path)
        x = 0
        while x < pw:  # trees and bushes
            trunk_w = int(rng.uniform(0.03, 0.06) * width)
            crown = int(rng.uniform(0.25, 0.5) * width)
            draw.rectangle((x, int(hz * 0.45), x + trunk_w, hz + 2), fill=_rgb(rng, (90, 60, 35)))
            draw.ellipse(
                (x - crown // 2, int(hz * 0.05), x + crown, int(hz * 0.7)),
                fill=_rgb(rng, (50, 100, 45), 30),
            )
            x += int(rng.uniform(0.4, 1.0) * width)
        draw.rectangle((0, hz - int(0.05 * height), pw, hz), fill=_rgb(rng, (40, 90, 40)))
    else:
        wall = {"street": (170, 150, 130), "indoor": (215, 210, 195), "station": (185, 190, 200)}[
            style
        ]
        x = 0
        while x < pw:  # facades, wall panels or columns
            w = int(rng.uniform(0.35, 0.9) * width)
            draw.rectangle((x, 0, x + w, hz), fill=_rgb(rng, wall, 35))
            if style == "street":  # windows
                win = _rgb(rng, (70, 85, 100), 20)
                for wy in range(int(0.05 * height), hz - int(0.1 * height), int(0.13 * height)):
                    for wx in range(
                        x + int(0.06 * width), x + w - int(0.12 * width), int(0.2 * width)
                    ):
                        draw.rectangle(
                            (wx, wy, wx + int(0.1 * width), wy + int(0.07 * height)), fill=win
                        )
            elif style == "station":  # columns
                draw.rectangle(
                    (x, 0, x + int(0.08 * width), height), fill=_rgb(rng, (200, 200, 205))
                )
            if rng.random() < 0.5:  # signs and posters
                sx, sy = x + int(rng.uniform(0.1, 0.5) * w), int(rng.uniform(0.1, 0.5) * hz)
                draw.rectangle(
                    (sx, sy, sx + int(0.25 * width), sy + int(0.12 * height)),
                    fill=_rgb(rng, rng.integers(0, 256, size=3), 0),
                )
            x += w
        if style == "indoor":  # floor tiles
            step = int(rng.uniform(0.12, 0.25) * width) or 1
            line = _rgb(rng, (130, 120, 105), 10)
            for tx in range(0, pw, step):
                draw.line((tx, hz, tx + (tx - pw // 2) // 3, height), fill=line, width=1)
        draw.rectangle((0, hz, pw, hz + max(1, height // 60)), fill=_rgb(rng, (90, 90, 90)))
        if style == "street":  # kerb band
            draw.rectangle(
                (0, hz + int((height - hz) * 0.45), pw, hz + int((height - hz) * 0.5)),
                fill=_rgb(rng, (175, 175, 170)),
            )
    pixels = np.asarray(canvas, np.int16) + rng.integers(
        -8, 9, size=(height, pw, 1), dtype=np.int16
    )
    return np.clip(pixels, 0, 255).astype(np.uint8)


def background(
    panorama: np.ndarray, camera: dict, rng: np.random.Generator, width: int, person_height: float
) -> Image.Image:
    """A window of the panorama with random objects and partial bystanders drawn on it."""
    height = panorama.shape[0]
    x0 = int(rng.integers(0, panorama.shape[1] - width + 1))
    canvas = Image.fromarray(panorama[:, x0 : x0 + width])
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.poisson(1.2))):  # boxes, bins, signs
        w, h = rng.uniform(0.1, 0.5) * width, rng.uniform(0.05, 0.35) * height
        x, y = rng.uniform(-0.2, 1.0) * width, rng.uniform(0.1, 0.9) * height
        draw.rectangle((x, y, x + w, y + h), fill=_rgb(rng, rng.integers(0, 256, size=3), 0))
    if rng.random() < 0.3:  # a shadow band
        x, w = rng.uniform(-0.5, 1.0) * width, rng.uniform(0.3, 0.8) * width
        shade = np.asarray(canvas, np.float32)
        lo, hi = int(max(x, 0)), int(min(x + w, width))
        shade[:, lo:hi] *= rng.uniform(0.6, 0.85)
        canvas = Image.fromarray(shade.astype(np.uint8))
    painter = Painter(canvas)
    for _ in range(min(3, int(rng.poisson(1.5 * camera["crowd"])))):
        scale = rng.uniform(0.45, 1.05)
        h = person_height * scale
        far = scale < 0.7  # distant people stand higher, anywhere in the frame
        cx = (
            rng.uniform(0, width)
            if far
            else width * (rng.choice([-0.3, 1.3]) + rng.uniform(-0.15, 0.15))
        )
        top = camera["horizon"] * height - 0.9 * h if far else rng.uniform(-0.1, 0.1) * height
        draw_person(
            painter,
            sample_identity(rng),
            str(rng.choice(VIEWS)),
            cx,
            top,
            h,
            rng.uniform(0, 2 * np.pi),
        )
    return canvas


def draw_occluder(
    canvas: Image.Image, rng: np.random.Generator, person_height: float
) -> tuple[Image.Image, str]:
    """Draw a random foreground object on ``canvas``; returns its mask (L, 255 = occluder)."""
    width, height = canvas.size
    mask = Image.new("L", canvas.size, 0)
    painter = Painter(canvas, mask)
    kind = str(rng.choice(OCCLUDERS, p=[0.4, 0.2, 0.25, 0.15]))
    colour = _rgb(rng, rng.integers(0, 256, size=3), 0)
    if kind == "bottom":  # a car, bench, barrier or bin in front of the legs
        h = rng.uniform(0.18, 0.45) * height
        x = rng.uniform(-0.6, 0.4) * width
        painter.rectangle(
            (x, height - h, x + rng.uniform(0.6, 1.4) * width, height + 5),
            colour,
            radius=0.1 * width,
        )
        if rng.random() < 0.5:
            band = _rgb(rng, (230, 230, 230), 20)
            painter.rectangle((x, height - h * 0.8, x + width * 1.5, height - h * 0.65), band)
    elif kind == "pole":
        w = rng.uniform(0.07, 0.16) * width
        x = rng.uniform(0.15, 0.85) * width
        painter.rectangle((x - w / 2, -5, x + w / 2, height + 5), colour)
    elif kind == "side":  # a door frame or wall corner
        w = rng.uniform(0.15, 0.35) * width
        x = -5 if rng.random() < 0.5 else width - w
        painter.rectangle((x, rng.uniform(-0.1, 0.4) * height, x + w + 5, height + 5), colour)
    else:  # a passer-by in front
        h = person_height * rng.uniform(1.0, 1.2)
        cx = width / 2 + rng.choice([-1, 1]) * rng.uniform(0.4, 0.7) * width
        draw_person(
            painter,
            sample_identity(rng),
            str(rng.choice(VIEWS)),
            cx,
            rng.uniform(-0.05, 0.05) * height,
            h,
            rng.uniform(0, 2 * np.pi),
        )
    return mask, kind
