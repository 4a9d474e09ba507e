"""Drawing a stylised pedestrian (and its mask) from its attributes, a viewpoint and a gait phase.

:func:`skeleton` places the joints; the part functions draw legs and shoes, arms, torso and
lower garment, head and hair, and the view-dependent details: the logo on the chest (front only),
the backpack (a pack from the back, straps from the front, a pack behind the shoulders from the
side), the handbag on its side. The painter draws every part on the mask too, so the mask is the
silhouette, bags included, and labels it on the part map (``PARTS``) when it has one: what is
drawn last at a pixel is the part seen there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rga.synth.painter import Painter, along, limb, shade

VIEWS = ("front", "back", "left", "right")  # left / right: the direction the person faces
# Labels of the part map, in the order of their values (0 = background). The neck and long hair
# count as head; the lower garment's hips and a skirt as legs; logo and zip as torso.
PARTS = ("background", "head", "torso", "arms", "legs", "shoes", "bag")
HEAD, TORSO, ARMS, LEGS, SHOES, BAG = range(1, len(PARTS))
EYE = (40, 30, 30)


@dataclass(frozen=True)
class Skeleton:
    """Joint positions and part sizes in pixels; index 0 of pairs is the image-left limb from
    the front and back, the far limb from the side."""

    view: str
    cx: float
    top: float
    u: float  # body height
    head_w: float
    head_h: float
    half: float  # half shoulder width (half depth from the side)
    y_sh: float  # shoulder line
    y_hip: float
    arm_w: float
    leg_w: float
    shoe_h: float
    period: float  # pattern stripe width
    d: float  # facing direction from the side: -1 left, +1 right
    hips: tuple
    ankles: tuple
    shoulders: tuple
    hands: tuple

    @property
    def side(self) -> bool:
        return self.view in ("left", "right")


def skeleton(body: dict, view: str, cx: float, top: float, u: float, phase: float) -> Skeleton:
    """Joints of a body (``person["body"]``) ``u`` pixels tall, walking at gait ``phase``."""
    side = view in ("left", "right")
    head_h = body["head"] * u
    half = body["width"] * u / 2 * (0.55 if side else 1.0)
    y_sh = top + head_h + 0.025 * u
    y_hip = top + (1 - body["legs"]) * u
    shoe_h = 0.04 * u
    arm_w = 0.065 * u * math.sqrt(body["width"] / 0.25)
    d = -1.0 if view == "left" else 1.0
    stride = 0.32 * math.sin(phase)
    y_ankle = top + u - shoe_h
    leg_len = y_ankle - y_hip
    if side:  # legs and arms swing about the hip and the shoulder
        hips = ((cx, y_hip), (cx, y_hip))
        ankles = tuple(
            (cx + d * leg_len * math.sin(a), y_hip + leg_len * math.cos(a))
            for a in (-stride, stride)
        )
        shoulder = (cx + d * half * 0.1, y_sh + 0.02 * u)
        shoulders = (shoulder, shoulder)
        hands = tuple(
            (shoulder[0] + d * 0.36 * u * math.sin(a), shoulder[1] + 0.36 * u * math.cos(a))
            for a in (0.9 * stride, -0.9 * stride)
        )
    else:  # legs apart, the swinging foot a little raised
        spread, lift = half * 0.5, 0.03 * u * math.sin(phase)
        hips = ((cx - spread, y_hip), (cx + spread, y_hip))
        ankles = (
            (cx - spread * 1.05, y_ankle - max(lift, 0)),
            (cx + spread * 1.05, y_ankle - max(-lift, 0)),
        )
        shoulders = tuple((cx + s * (half - arm_w * 0.45), y_sh + 0.015 * u) for s in (-1, 1))
        hands = tuple((cx + s * (half + arm_w * 0.25), y_hip + 0.05 * u) for s in (-1, 1))
    return Skeleton(
        view=view,
        cx=cx,
        top=top,
        u=u,
        head_w=head_h * 0.8,
        head_h=head_h,
        half=half,
        y_sh=y_sh,
        y_hip=y_hip,
        arm_w=arm_w,
        leg_w=max(body["width"] * u * 0.42, 0.075 * u),
        shoe_h=shoe_h,
        period=0.028 * u,
        d=d,
        hips=hips,
        ankles=ankles,
        shoulders=shoulders,
        hands=hands,
    )


def draw_person(
    painter: Painter, person: dict, view: str, cx: float, top: float, height: float, phase: float
) -> None:
    """Draw ``person`` seen from ``view`` with its head at ``top`` and soles at ``top + height``.

    ``cx`` is the body's centre line; ``phase`` (radians) sets the stride and arm swing. Parts
    are drawn back to front.
    """
    if view not in VIEWS:
        raise KeyError(f"unknown view {view!r}; valid views: {', '.join(VIEWS)}")
    s = skeleton(person["body"], view, cx, top, height, phase)
    bag = person["bag"]
    handbag_limb = _handbag_limb(bag, s) if bag["kind"] == "handbag" else None
    if person["hair"]["style"] == "long" and view != "back":
        painter.part = HEAD
        back = -s.d * s.head_w * 0.25 if s.side else 0.0
        box = (cx + back - s.head_w * 0.58, top + s.head_h * 0.35)
        box += (cx + back + s.head_w * 0.58, s.y_sh + 0.09 * s.u)
        painter.rectangle(box, person["hair"]["colour"], radius=s.head_w * 0.3)
    if s.side:  # far limbs in shadow, then what hangs behind the body
        _arm(painter, person, s, 0, 0.78)
        _leg(painter, person, s, 0, 0.82)
        if handbag_limb == 0:
            _handbag(painter, bag, s, 0, 0.8)
        if bag["kind"] == "backpack":
            painter.part = BAG
            x0, x1 = sorted((cx - s.d * s.half, cx - s.d * (s.half + 0.11 * s.u)))
            box = (x0 - 0.01 * s.u, s.y_sh + 0.02 * s.u, x1 + 0.01 * s.u, _torso_y(s, 0.6))
            painter.rectangle(box, bag["colour"], radius=0.03 * s.u)
    else:
        _leg(painter, person, s, 0, 1.0)
        _leg(painter, person, s, 1, 1.0)
    _torso(painter, person, s)
    if s.side:
        _leg(painter, person, s, 1, 1.0)
    if view == "front" and person["logo"]["shape"] != "none":
        painter.part = TORSO
        _logo(painter, person["logo"], cx, _torso_y(s, 0.3), s.half * 0.42)
    if bag["kind"] == "backpack":
        _backpack(painter, bag, s)
    for i in (1,) if s.side else (0, 1):
        _arm(painter, person, s, i, 1.0)
        if handbag_limb == i:
            _handbag(painter, bag, s, i, 1.0)
    _head(painter, person, s)


def _torso_y(s: Skeleton, t: float) -> float:
    """Height a fraction ``t`` of the way from the shoulders to the hips."""
    return s.y_sh + t * (s.y_hip - s.y_sh)


def _leg(painter: Painter, person: dict, s: Skeleton, i: int, factor: float) -> None:
    lower, hip, ankle = person["lower"], s.hips[i], s.ankles[i]
    painter.part = LEGS
    if lower["kind"] != "trousers":  # bare legs under shorts and skirts
        painter.polygon(limb(hip, ankle, s.leg_w, s.leg_w * 0.7), shade(person["skin"], factor))
    if lower["kind"] in ("trousers", "shorts"):
        cover = 1.0 if lower["kind"] == "trousers" else 0.4
        cloth = dict(lower, colour=shade(lower["colour"], factor))
        leg = limb(hip, along(hip, ankle, cover), s.leg_w, s.leg_w * (1 - 0.3 * cover))
        painter.garment([leg], cloth, s.period, vertical=True)
    length = s.leg_w * (1.5 if s.side else 1.05)
    x = ankle[0] + (s.d * length * 0.3 if s.side else 0.0)  # shoes point forward
    box = (x - length / 2, ankle[1] - s.shoe_h * 0.3, x + length / 2, ankle[1] + s.shoe_h * 1.05)
    painter.part = SHOES
    painter.ellipse(box, shade(person["shoes"], factor))


def _arm(painter: Painter, person: dict, s: Skeleton, i: int, factor: float) -> None:
    upper, shoulder, hand = person["upper"], s.shoulders[i], s.hands[i]
    painter.part = ARMS
    skin = shade(person["skin"], factor)
    painter.polygon(limb(shoulder, hand, s.arm_w, s.arm_w * 0.75), skin)
    sleeve = along(shoulder, hand, 0.35 if upper["kind"] == "t-shirt" else 0.93)
    cloth = dict(upper, colour=shade(upper["colour"], 0.88 * factor))  # sleeves set off the torso
    painter.garment([limb(shoulder, sleeve, s.arm_w * 1.1, s.arm_w * 0.9)], cloth, s.period)
    painter.circle(hand[0], hand[1], s.arm_w * 0.45, skin)


def _torso(painter: Painter, person: dict, s: Skeleton) -> None:
    """Lower garment's hips or skirt, neck, shirt; the zip of a jacket from the front."""
    cx, u, half, y_sh, y_hip = s.cx, s.u, s.half, s.y_sh, s.y_hip
    upper, lower = person["upper"], person["lower"]
    waist = half if s.side else half * 0.82
    if lower["kind"] == "skirt":
        flare = waist * (1.3 if s.side else 1.5)
        y_hem = y_hip + 0.45 * (s.top + u - s.shoe_h - y_hip)
        hips = [(cx - waist, y_hip - 0.03 * u), (cx + waist, y_hip - 0.03 * u)]
        hips += [(cx + flare, y_hem), (cx - flare, y_hem)]
    else:  # joins the trouser legs to the shirt
        hips = [(cx - waist * 1.02, y_hip - 0.02 * u), (cx + waist * 1.02, y_hip - 0.02 * u)]
        hips += [(cx + waist, y_hip + 0.06 * u), (cx - waist, y_hip + 0.06 * u)]
    painter.part = LEGS  # the lower garment
    painter.garment([hips], lower, s.period, vertical=True)
    painter.part = HEAD  # the neck
    neck = s.head_w * 0.21
    neck_box = (cx - neck, s.top + s.head_h * 0.8, cx + neck, y_sh + 0.01 * u)
    painter.rectangle(neck_box, shade(person["skin"], 0.9))
    torso = [(cx - half, y_sh + 0.01 * u), (cx - half * 0.9, y_sh - 0.005 * u)]
    torso += [(cx + half * 0.9, y_sh - 0.005 * u), (cx + half, y_sh + 0.01 * u)]
    torso += [(cx + waist, y_hip - 0.03 * u), (cx + waist * 1.02, y_hip + 0.02 * u)]
    torso += [(cx - waist * 1.02, y_hip + 0.02 * u), (cx - waist, y_hip - 0.03 * u)]
    painter.part = TORSO
    painter.garment([torso], upper, s.period)
    if upper["kind"] == "jacket" and s.view == "front":
        zip_w = max(1.0, 0.012 * u)
        painter.rectangle((cx - zip_w, y_sh, cx + zip_w, y_hip), shade(upper["colour"], 0.6))


def _backpack(painter: Painter, bag: dict, s: Skeleton) -> None:
    """The pack on the back, or its straps from the front and the side."""
    strap, straps = 0.022 * s.u, shade(bag["colour"], 0.85)
    painter.part = BAG
    if s.view == "back":
        x0, x1, y0 = s.cx - s.half * 0.72, s.cx + s.half * 0.72, s.y_sh + 0.025 * s.u
        painter.rectangle((x0, y0, x1, _torso_y(s, 0.62)), bag["colour"], radius=0.03 * s.u)
        painter.rectangle((x0, y0, x1, _torso_y(s, 0.2)), shade(bag["colour"], 0.75), 0.03 * s.u)
    elif s.view == "front":
        for side in (-1, 1):
            x = s.cx + side * s.half * 0.55
            end = (x + side * 0.01 * s.u, _torso_y(s, 0.5))
            painter.polygon(limb((x, s.y_sh), end, strap, strap), straps)
    else:
        start, end = (
            (s.cx - s.d * s.half * 0.2, s.y_sh),
            (s.cx - s.d * s.half * 0.8, _torso_y(s, 0.55)),
        )
        painter.polygon(limb(start, end, strap, strap), straps)


def _handbag_limb(bag: dict, s: Skeleton) -> int:
    """Which arm carries the handbag. The person's own right is on the image left from the
    front, on the image right from the back, and faces the camera when facing right."""
    right = bag["side"] == "right"
    if s.side:
        return 1 if right == (s.d > 0) else 0
    return int(right) if s.view == "back" else int(not right)


def _handbag(painter: Painter, bag: dict, s: Skeleton, i: int, factor: float) -> None:
    hx, hy = s.hands[i]
    painter.part = BAG
    bw, bh = 0.11 * s.u, 0.1 * s.u
    if not s.side:  # hangs beside the hand, away from the body
        hx += bw * 0.35 * (1 if hx > s.cx else -1)
    colour = shade(bag["colour"], factor)
    painter.polygon(limb(s.shoulders[i], (hx, hy - bh * 0.2), 0.012 * s.u, 0.012 * s.u), colour)
    painter.rectangle((hx - bw / 2, hy - bh * 0.3, hx + bw / 2, hy + bh * 0.7), colour, bw * 0.15)


def _logo(painter: Painter, logo: dict, x: float, y: float, r: float) -> None:
    colour, shape = logo["colour"], logo["shape"]
    if shape == "circle":
        painter.circle(x, y, r, colour)
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


def _head(painter: Painter, person: dict, s: Skeleton) -> None:
    """Face and hair: all hair from the back, a fringe from the front, the back of the head
    and the face turned forward from the side."""
    skin, hair = person["skin"], person["hair"]
    painter.part = HEAD
    cx, top, w, h, d = s.cx, s.top, s.head_w, s.head_h, s.d
    x0, x1 = cx - w / 2, cx + w / 2
    hair_x0, hair_y0, hair_x1 = x0 - w * 0.06, top - h * 0.04, x1 + w * 0.06
    eye = max(0.6, w * 0.07)
    if s.view == "back":
        painter.ellipse((x0, top, x1, top + h), shade(skin, 0.9))
        bottom = top + h * (1.0 if hair["style"] == "long" else 0.85)
        painter.ellipse((hair_x0, hair_y0, hair_x1, bottom), hair["colour"])
        if hair["style"] == "long":
            box = (x0 - w * 0.04, top + h * 0.4, x1 + w * 0.04, top + h * 1.55)
            painter.rectangle(box, hair["colour"], radius=w * 0.3)
    elif s.view == "front":
        painter.ellipse((hair_x0, hair_y0, hair_x1, top + h * 0.75), hair["colour"])
        painter.ellipse((x0, top + h * 0.22, x1, top + h), skin)
        for side in (-1, 1):
            painter.circle(cx + side * w * 0.2, top + h * 0.55, eye, EYE)
    else:
        painter.ellipse((x0, top, x1, top + h), skin)
        painter.ellipse(
            (x0 - d * w * 0.25, hair_y0, x1 - d * w * 0.25, top + h * 0.7), hair["colour"]
        )
        painter.ellipse((x0 + d * w * 0.12, top + h * 0.3, x1 + d * w * 0.12, top + h), skin)
        painter.circle(cx + d * w * 0.33, top + h * 0.55, eye, EYE)
    if hair["style"] == "bun":
        r = w * 0.22
        bx = cx - (d * w * 0.45 if s.side else 0.0)
        painter.ellipse((bx - r, top - r * 0.9, bx + r, top + r * 1.1), hair["colour"])
