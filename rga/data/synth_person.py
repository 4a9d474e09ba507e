"""Drawing a stylised pedestrian (and its mask) from its attributes, a viewpoint and a gait phase.

The person is built from flat PIL primitives: legs, shoes, arms, torso, neck, head and hair, then
the view-dependent details (logo on the chest from the front, backpack on the back, straps from
the front, a slim profile from the side). Everything drawn is also drawn at 255 on the mask, so
the mask is the person's silhouette, bags included.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

VIEWS = ("front", "back", "left", "right")  # left / right: the direction the person faces


def _shade(rgb, factor: float) -> tuple[int, int, int]:
    return tuple(int(min(255, max(0, c * factor))) for c in rgb)


def _limb(p0, p1, w0: float, w1: float) -> list[tuple[float, float]]:
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


def _along(p0, p1, t: float) -> tuple[float, float]:
    return (p0[0] + (p1[0] - p0[0]) * t, p0[1] + (p1[1] - p0[1]) * t)


class Painter:
    """Draws on an RGB canvas and, when given, the same shapes at 255 on an L mask."""

    def __init__(self, canvas: Image.Image, mask: Image.Image | None = None):
        self.canvas, self.mask = canvas, mask
        self.draw = ImageDraw.Draw(canvas)
        self.mask_draw = ImageDraw.Draw(mask) if mask is not None else None

    def polygon(self, points, fill) -> None:
        self.draw.polygon(points, fill=tuple(fill))
        if self.mask_draw is not None:
            self.mask_draw.polygon(points, fill=255)

    def ellipse(self, box, fill) -> None:
        x0, y0, x1, y1 = box
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        self.draw.ellipse(box, fill=tuple(fill))
        if self.mask_draw is not None:
            self.mask_draw.ellipse(box, fill=255)

    def rectangle(self, box, fill, radius: float = 0.0) -> None:
        self.draw.rounded_rectangle(box, radius=radius, fill=tuple(fill))
        if self.mask_draw is not None:
            self.mask_draw.rounded_rectangle(box, radius=radius, fill=255)

    def garment(self, polygons, cloth: dict, period: float, vertical: bool = False) -> None:
        """Fill ``polygons`` with a garment's colour and pattern (solid, stripes or checks)."""
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
            bands = (xx if vertical else yy) // period
            second = bands % 2 == 1
            if cloth["pattern"] == "checks":
                second = (bands + (yy if vertical else xx) // period) % 2 == 1
            tile[second] = cloth["colour2"]
        self.canvas.paste(Image.fromarray(tile), (x0, y0), region)
        if self.mask is not None:
            self.mask.paste(255, (x0, y0, x0 + w, y0 + h), region)


def draw_person(
    painter: Painter, person: dict, view: str, cx: float, top: float, height: float, phase: float
) -> None:
    """Draw ``person`` seen from ``view`` with its head at ``top`` and soles at ``top + height``.

    ``cx`` is the body's centre line; ``phase`` (radians) sets the stride and arm swing.
    """
    if view not in VIEWS:
        raise KeyError(f"unknown view {view!r}; valid views: {', '.join(VIEWS)}")
    body, u = person["body"], height
    head_h = body["head"] * u
    head_w = head_h * 0.8
    side = view in ("left", "right")
    half = body["width"] * u / 2 * (0.55 if side else 1.0)
    y_sh = top + head_h + 0.025 * u
    y_hip = top + (1 - body["legs"]) * u
    y_sole = top + u
    shoe_h = 0.04 * u
    arm_w = 0.065 * u * math.sqrt(body["width"] / 0.25)
    leg_w = max(body["width"] * u * 0.42, 0.075 * u)
    stride = 0.32 * math.sin(phase)
    period = 0.028 * u
    skin, hair = person["skin"], person["hair"]
    upper, lower, bag = person["upper"], person["lower"], person["bag"]
    d = -1.0 if view == "left" else 1.0  # facing direction in side views

    # Hip, ankles and the far/near split; in side views the legs swing about the hip.
    leg_len = y_sole - shoe_h - y_hip
    if side:
        angles = (-stride, stride)  # far, near
        hips = [(cx, y_hip), (cx, y_hip)]
        ankles = [(cx + d * leg_len * math.sin(a), y_hip + leg_len * math.cos(a)) for a in angles]
    else:
        spread = half * 0.5
        lift = 0.03 * u * math.sin(phase)
        hips = [(cx - spread, y_hip), (cx + spread, y_hip)]
        ankles = [
            (cx - spread * 1.05, y_sole - shoe_h - max(lift, 0)),
            (cx + spread * 1.05, y_sole - shoe_h - max(-lift, 0)),
        ]
    legs = [_limb(h, a, leg_w, leg_w * 0.7) for h, a in zip(hips, ankles, strict=True)]

    # Shoulders, hands and arms (far arm first in side views).
    if side:
        swing = (stride * 0.9, -stride * 0.9)
        shoulders = [(cx + d * half * 0.1, y_sh + 0.02 * u)] * 2
        arm_len = 0.36 * u
        hands = [(s[0] + d * arm_len * math.sin(a), s[1] + arm_len * math.cos(a))
                 for s, a in zip(shoulders, swing, strict=True)]  # fmt: skip
    else:
        shoulders = [(cx - half + arm_w * 0.45, y_sh + 0.015 * u),
                     (cx + half - arm_w * 0.45, y_sh + 0.015 * u)]  # fmt: skip
        hands = [(cx - half - arm_w * 0.25, y_hip + 0.05 * u),
                 (cx + half + arm_w * 0.25, y_hip + 0.05 * u)]  # fmt: skip

    def draw_leg(i: int, factor: float) -> None:
        cloth = dict(lower, colour=_shade(lower["colour"], factor))
        if lower["kind"] != "trousers":
            painter.polygon(legs[i], _shade(skin, factor))
        if lower["kind"] in ("trousers", "shorts"):
            cover = 1.0 if lower["kind"] == "trousers" else 0.4
            end = _along(hips[i], ankles[i], cover)
            painter.garment([_limb(hips[i], end, leg_w, leg_w * (1 - 0.3 * cover))], cloth, period,
                            vertical=True)  # fmt: skip
        shoe_len = leg_w * (1.5 if side else 1.05)
        sx = ankles[i][0] + (d * shoe_len * 0.3 if side else 0.0)
        painter.ellipse((sx - shoe_len / 2, ankles[i][1] - shoe_h * 0.3,
                         sx + shoe_len / 2, ankles[i][1] + shoe_h * 1.05),
                        _shade(person["shoes"], factor))  # fmt: skip

    def draw_arm(i: int, factor: float) -> None:
        sleeve = {"t-shirt": 0.35}.get(upper["kind"], 0.93)
        painter.polygon(_limb(shoulders[i], hands[i], arm_w, arm_w * 0.75), _shade(skin, factor))
        end = _along(shoulders[i], hands[i], sleeve)
        cloth = dict(upper, colour=_shade(upper["colour"], 0.88 * factor))
        painter.garment([_limb(shoulders[i], end, arm_w * 1.1, arm_w * 0.9)], cloth, period)
        r = arm_w * 0.45
        hx, hy = hands[i]
        painter.ellipse((hx - r, hy - r, hx + r, hy + r), _shade(skin, factor))

    def draw_handbag(i: int, factor: float) -> None:
        hx, hy = hands[i]
        bw, bh = 0.11 * u, 0.1 * u
        if not side:
            hx += (bw * 0.35) * (1 if hx > cx else -1)
        colour = _shade(bag["colour"], factor)
        painter.polygon(_limb(shoulders[i], (hx, hy - bh * 0.2), 0.012 * u, 0.012 * u), colour)
        painter.rectangle((hx - bw / 2, hy - bh * 0.3, hx + bw / 2, hy + bh * 0.7), colour,
                          radius=bw * 0.15)  # fmt: skip

    # The person's own right is on the image left from the front and on the image right from
    # the back; from the side, the right side faces the camera when facing right.
    bag_index = None
    if bag["kind"] == "handbag":
        if side:
            bag_index = 1 if (bag["side"] == "right") == (d > 0) else 0
        else:
            bag_index = (0 if bag["side"] == "right" else 1) if view == "front" else (
                1 if bag["side"] == "right" else 0)  # fmt: skip

    # Behind the body.
    if hair["style"] == "long" and view != "back":
        back = -d * head_w * 0.25 if side else 0.0
        painter.rectangle((cx + back - head_w * 0.58, top + head_h * 0.35,
                           cx + back + head_w * 0.58, y_sh + 0.09 * u), hair["colour"],
                          radius=head_w * 0.3)  # fmt: skip
    if side:
        draw_arm(0, 0.78)
        draw_leg(0, 0.82)
        if bag_index == 0:
            draw_handbag(0, 0.8)
        if bag["kind"] == "backpack":
            x_back = cx - d * half
            painter.rectangle((min(x_back, x_back - d * 0.11 * u) - 0.01 * u, y_sh + 0.02 * u,
                               max(x_back, x_back - d * 0.11 * u) + 0.01 * u,
                               y_sh + 0.6 * (y_hip - y_sh)), bag["colour"],
                              radius=0.03 * u)  # fmt: skip
    else:
        draw_leg(0, 1.0)
        draw_leg(1, 1.0)

    # Torso (with hips so trousers join it), neck.
    waist = half * (0.82 if not side else 1.0)
    torso = [(cx - half, y_sh + 0.01 * u), (cx - half * 0.9, y_sh - 0.005 * u),
             (cx + half * 0.9, y_sh - 0.005 * u), (cx + half, y_sh + 0.01 * u),
             (cx + waist, y_hip - 0.03 * u), (cx + waist * 1.02, y_hip + 0.02 * u),
             (cx - waist * 1.02, y_hip + 0.02 * u), (cx - waist, y_hip - 0.03 * u)]  # fmt: skip
    hips_poly = [(cx - waist * 1.02, y_hip - 0.02 * u), (cx + waist * 1.02, y_hip - 0.02 * u),
                 (cx + waist, y_hip + 0.06 * u), (cx - waist, y_hip + 0.06 * u)]  # fmt: skip
    if lower["kind"] == "skirt":
        flare = waist * 1.5 if not side else waist * 1.3
        skirt = [(cx - waist, y_hip - 0.03 * u), (cx + waist, y_hip - 0.03 * u),
                 (cx + flare, y_hip + 0.45 * leg_len), (cx - flare, y_hip + 0.45 * leg_len)]  # fmt: skip
        painter.garment([skirt], lower, period, vertical=True)
    else:
        painter.garment([hips_poly], lower, period, vertical=True)
    neck_w = head_w * 0.42
    painter.rectangle((cx - neck_w / 2, top + head_h * 0.8, cx + neck_w / 2, y_sh + 0.01 * u),
                      _shade(skin, 0.9))  # fmt: skip
    painter.garment([torso], upper, period)
    if upper["kind"] == "jacket" and view == "front":
        zip_w = max(1.0, 0.012 * u)
        painter.rectangle((cx - zip_w, y_sh, cx + zip_w, y_hip), _shade(upper["colour"], 0.6))

    if side:
        draw_leg(1, 1.0)
    logo = person["logo"]
    if view == "front" and logo["shape"] != "none":
        _draw_logo(painter, logo, cx, y_sh + 0.3 * (y_hip - y_sh), half * 0.42)
    if bag["kind"] == "backpack":
        strap = 0.022 * u
        if view == "back":
            painter.rectangle((cx - half * 0.72, y_sh + 0.025 * u, cx + half * 0.72,
                               y_sh + 0.62 * (y_hip - y_sh)), bag["colour"],
                              radius=0.03 * u)  # fmt: skip
            painter.rectangle((cx - half * 0.72, y_sh + 0.025 * u, cx + half * 0.72,
                               y_sh + 0.2 * (y_hip - y_sh)), _shade(bag["colour"], 0.75),
                              radius=0.03 * u)  # fmt: skip
        elif view == "front":
            for s in (-1, 1):
                x = cx + s * half * 0.55
                painter.polygon(_limb((x, y_sh), (x + s * 0.01 * u, y_sh + 0.5 * (y_hip - y_sh)),
                                      strap, strap), _shade(bag["colour"], 0.85))  # fmt: skip
        else:
            painter.polygon(_limb((cx - d * half * 0.2, y_sh), (cx - d * half * 0.8,
                                  y_sh + 0.55 * (y_hip - y_sh)), strap, strap),
                            _shade(bag["colour"], 0.85))  # fmt: skip
    if side:
        draw_arm(1, 1.0)
        if bag_index == 1:
            draw_handbag(1, 1.0)
    else:
        for i in (0, 1):
            draw_arm(i, 1.0)
            if bag_index == i:
                draw_handbag(i, 1.0)
    _draw_head(painter, person, view, cx, top, head_w, head_h, d)


def _draw_logo(painter: Painter, logo: dict, x: float, y: float, r: float) -> None:
    colour = logo["colour"]
    shape = logo["shape"]
    if shape == "circle":
        painter.ellipse((x - r, y - r, x + r, y + r), colour)
    elif shape == "square":
        painter.rectangle((x - r * 0.85, y - r * 0.85, x + r * 0.85, y + r * 0.85), colour)
    elif shape == "triangle":
        painter.polygon([(x, y - r), (x + r, y + r * 0.8), (x - r, y + r * 0.8)], colour)
    elif shape == "diamond":
        painter.polygon([(x, y - r * 1.1), (x + r, y), (x, y + r * 1.1), (x - r, y)], colour)
    elif shape == "bar":
        painter.rectangle((x - r * 1.3, y - r * 0.45, x + r * 1.3, y + r * 0.45), colour)
    else:
        raise KeyError(f"unknown logo shape {shape!r}")


def _draw_head(painter, person, view, cx, top, head_w, head_h, d) -> None:
    skin, hair = person["skin"], person["hair"]
    box = (cx - head_w / 2, top, cx + head_w / 2, top + head_h)
    hair_box = (box[0] - head_w * 0.06, top - head_h * 0.04, box[2] + head_w * 0.06,
                top + head_h * 0.75)  # fmt: skip
    if view == "back":
        painter.ellipse(box, _shade(skin, 0.9))
        painter.ellipse(hair_box[:3] + (top + head_h * (1.0 if hair["style"] == "long" else 0.85),),
                        hair["colour"])  # fmt: skip
        if hair["style"] == "long":
            painter.rectangle((box[0] - head_w * 0.04, top + head_h * 0.4, box[2] + head_w * 0.04,
                               top + head_h * 1.55), hair["colour"], radius=head_w * 0.3)  # fmt: skip
    elif view == "front":
        painter.ellipse(hair_box, hair["colour"])
        painter.ellipse((box[0], top + head_h * 0.22, box[2], box[3]), skin)
        eye = max(0.6, head_w * 0.07)
        for s in (-1, 1):
            ex, ey = cx + s * head_w * 0.2, top + head_h * 0.55
            painter.ellipse((ex - eye, ey - eye, ex + eye, ey + eye), (40, 30, 30))
    else:
        painter.ellipse(box, skin)
        painter.ellipse((box[0] - d * head_w * 0.25, hair_box[1], box[2] - d * head_w * 0.25,
                         top + head_h * 0.7), hair["colour"])  # fmt: skip
        painter.ellipse((box[0] + d * head_w * 0.12, top + head_h * 0.3,
                         box[2] + d * head_w * 0.12, box[3]), skin)  # fmt: skip
        eye = max(0.6, head_w * 0.07)
        ex, ey = cx + d * head_w * 0.33, top + head_h * 0.55
        painter.ellipse((ex - eye, ey - eye, ex + eye, ey + eye), (40, 30, 30))
    if hair["style"] == "bun":
        r = head_w * 0.22
        bx = cx - (d * head_w * 0.45 if view in ("left", "right") else 0.0)
        painter.ellipse((bx - r, top - r * 0.9, bx + r, top + r * 1.1), hair["colour"])
