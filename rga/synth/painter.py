"""Flat drawing for SynthReID: a painter that draws every shape on the image and on a mask, and
the small geometry helpers of the figures (limbs as quadrilaterals, points along a segment)."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw


def shade(rgb, factor: float) -> tuple[int, int, int]:
    """``rgb`` darkened (factor < 1) or lightened, clipped to 0..255."""
    return tuple(int(min(255, max(0, c * factor))) for c in rgb)


def limb(p0, p1, w0: float, w1: float) -> list[tuple[float, float]]:
    """Quadrilateral from ``p0`` (width ``w0``) to ``p1`` (width ``w1``)."""
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    norm = math.hypot(dx, dy) or 1.0
    nx, ny = -dy / norm, dx / norm
    return [
        (p0[0] + nx * w0 / 2, p0[1] + ny * w0 / 2),
        (p1[0] + nx * w1 / 2, p1[1] + ny * w1 / 2),
        (p1[0] - nx * w1 / 2, p1[1] - ny * w1 / 2),
        (p0[0] - nx * w0 / 2, p0[1] - ny * w0 / 2),
    ]


def along(p0, p1, t: float) -> tuple[float, float]:
    """The point a fraction ``t`` of the way from ``p0`` to ``p1``."""
    return (p0[0] + (p1[0] - p0[0]) * t, p0[1] + (p1[1] - p0[1]) * t)


class Painter:
    """Draws on an RGB canvas and, when given, the same shapes at 255 on an L mask and at the
    current ``part`` label on an L part map.

    The part map only records what is drawn: the canvas and the mask are the same with or without
    it, so adding part maps left every SynthReID image byte-identical.
    """

    def __init__(
        self,
        canvas: Image.Image,
        mask: Image.Image | None = None,
        parts: Image.Image | None = None,
    ):
        self.canvas, self.mask, self.parts = canvas, mask, parts
        self.part = 0  # the label the next shapes get on the part map (set by the person drawer)
        self.draw = ImageDraw.Draw(canvas)
        self.mask_draw = ImageDraw.Draw(mask) if mask is not None else None
        self.parts_draw = ImageDraw.Draw(parts) if parts is not None else None

    def polygon(self, points, fill) -> None:
        self.draw.polygon(points, fill=tuple(fill))
        if self.mask_draw is not None:
            self.mask_draw.polygon(points, fill=255)
        if self.parts_draw is not None:
            self.parts_draw.polygon(points, fill=self.part)

    def ellipse(self, box, fill) -> None:
        x0, y0, x1, y1 = box
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        self.draw.ellipse(box, fill=tuple(fill))
        if self.mask_draw is not None:
            self.mask_draw.ellipse(box, fill=255)
        if self.parts_draw is not None:
            self.parts_draw.ellipse(box, fill=self.part)

    def circle(self, x: float, y: float, r: float, fill) -> None:
        self.ellipse((x - r, y - r, x + r, y + r), fill)

    def rectangle(self, box, fill, radius: float = 0.0) -> None:
        self.draw.rounded_rectangle(box, radius=radius, fill=tuple(fill))
        if self.mask_draw is not None:
            self.mask_draw.rounded_rectangle(box, radius=radius, fill=255)
        if self.parts_draw is not None:
            self.parts_draw.rounded_rectangle(box, radius=radius, fill=self.part)

    def garment(self, polygons, cloth: dict, period: float, vertical: bool = False) -> None:
        """Fill ``polygons`` with a garment's colour and pattern (solid, stripes or checks).

        ``cloth`` holds ``colour``, ``pattern`` and ``colour2``; stripes are ``period`` pixels
        wide, horizontal unless ``vertical``.
        """
        xs = [x for poly in polygons for x, _ in poly]
        ys = [y for poly in polygons for _, y in poly]
        x0, y0 = math.floor(min(xs)), math.floor(min(ys))
        w, h = math.ceil(max(xs)) - x0 + 1, math.ceil(max(ys)) - y0 + 1
        region = Image.new("L", (w, h), 0)
        region_draw = ImageDraw.Draw(region)
        for poly in polygons:
            region_draw.polygon([(x - x0, y - y0) for x, y in poly], fill=255)
        tile = np.empty((h, w, 3), np.uint8)
        tile[:] = cloth["colour"]
        if cloth["pattern"] != "solid":
            period = max(2, round(period))
            yy, xx = np.mgrid[0:h, 0:w]
            across, other = (xx, yy) if vertical else (yy, xx)
            bands = across // period
            if cloth["pattern"] == "checks":
                bands = bands + other // period
            tile[bands % 2 == 1] = cloth["colour2"]
        self.canvas.paste(Image.fromarray(tile), (x0, y0), region)
        if self.mask is not None:
            self.mask.paste(255, (x0, y0, x0 + w, y0 + h), region)
        if self.parts is not None:
            self.parts.paste(self.part, (x0, y0, x0 + w, y0 + h), region)
