"""SynthReID identities: the attributes that define a person, and hard-negative near-copies.

An identity is a JSON-ready dict with one entry per attribute group (``body``, ``skin``,
``hair``, ``upper``, ``logo``, ``lower``, ``shoes``, ``bag``); colours are RGB lists. A hard
negative copies another identity and changes exactly one of the local groups in
:data:`HARD_NEGATIVE_GROUPS`, so telling the two apart needs attention on that region.
"""

from __future__ import annotations

import copy

import numpy as np

ATTRIBUTE_GROUPS = ("body", "skin", "hair", "upper", "logo", "lower", "shoes", "bag")
HARD_NEGATIVE_GROUPS = ("logo", "shoes", "bag")

CLOTHES = {
    "black": (30, 30, 32),
    "dark grey": (75, 75, 80),
    "grey": (130, 130, 135),
    "light grey": (190, 190, 195),
    "white": (235, 235, 232),
    "navy": (30, 40, 95),
    "blue": (40, 85, 185),
    "light blue": (120, 170, 225),
    "denim": (70, 95, 140),
    "teal": (20, 125, 125),
    "green": (45, 135, 60),
    "dark green": (30, 75, 40),
    "olive": (110, 115, 50),
    "yellow": (225, 200, 50),
    "orange": (230, 125, 35),
    "red": (200, 35, 40),
    "dark red": (120, 25, 35),
    "pink": (230, 140, 175),
    "purple": (110, 55, 150),
    "beige": (210, 190, 150),
    "khaki": (165, 145, 100),
    "brown": (110, 70, 40),
}
# Trousers and skirts lean to darker, common colours.
LOWER_COLOURS = (
    "black",
    "dark grey",
    "grey",
    "navy",
    "denim",
    "blue",
    "khaki",
    "beige",
    "brown",
    "white",
    "dark green",
    "red",
    "olive",
)
SHOE_COLOURS = ("black", "white", "brown", "red", "blue", "grey", "yellow", "green", "orange")
SKIN = (
    (255, 220, 190),
    (240, 195, 160),
    (215, 165, 125),
    (180, 125, 85),
    (140, 90, 60),
    (95, 60, 40),
)
HAIR = ((20, 18, 18), (55, 35, 25), (100, 65, 35), (200, 165, 95), (150, 60, 30), (150, 150, 150))
LOGO_SHAPES = ("circle", "square", "triangle", "diamond", "bar")
PATTERNS = ("solid", "stripes", "checks")


def _jitter(rgb, rng: np.random.Generator, amount: int = 14) -> list[int]:
    values = np.asarray(rgb) + rng.integers(-amount, amount + 1, size=3)
    return [int(v) for v in np.clip(values, 0, 255)]


def _distance(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a, float) - np.asarray(b, float)))


def _colour(rng: np.random.Generator, names=tuple(CLOTHES), avoid=(), min_distance=90.0):
    """A jittered palette colour at least ``min_distance`` away from every colour in ``avoid``."""
    for _ in range(64):
        rgb = _jitter(CLOTHES[names[rng.integers(len(names))]], rng)
        if all(_distance(rgb, other) >= min_distance for other in avoid):
            return rgb
    # Unreachable in practice: at most three colours are avoided and the palettes are spread out.
    raise RuntimeError(f"no palette colour {min_distance} away from {avoid} in 64 draws")


def sample_logo(rng: np.random.Generator, upper: dict, exclude: dict | None = None) -> dict:
    """A logo (shape and colour) that contrasts with the shirt and differs from ``exclude``."""
    shapes = [s for s in LOGO_SHAPES if exclude is None or s != exclude.get("shape")]
    avoid = [upper["colour"], upper["colour2"]] + ([exclude["colour"]] if exclude else [])
    avoid = [c for c in avoid if c is not None]
    return {"shape": str(rng.choice(shapes)), "colour": _colour(rng, avoid=avoid)}


def sample_bag(rng: np.random.Generator, exclude: dict | None = None) -> dict:
    """``{"kind": "none"}`` or a backpack / handbag with a colour (and a side for handbags)."""
    kinds = ("none", "backpack", "handbag")
    kind = str(rng.choice(kinds, p=[0.45, 0.35, 0.2]))
    if exclude is not None and exclude["kind"] == "none":  # a twin of a bag-less person has one
        kind = str(rng.choice(kinds[1:]))
    if kind == "none":
        return {"kind": "none"}
    avoid = [exclude["colour"]] if exclude is not None and exclude["kind"] == kind else []
    bag = {"kind": kind, "colour": _colour(rng, avoid=avoid, min_distance=110.0)}
    if kind == "handbag":
        bag["side"] = str(rng.choice(("left", "right")))
    return bag


def sample_identity(rng: np.random.Generator) -> dict:
    """A random person: body proportions, colours, garments and accessories."""
    body = {
        "height": round(float(rng.uniform(0.84, 0.96)), 3),  # of the box height when centred
        "width": round(float(rng.uniform(0.21, 0.30)), 3),  # shoulders, of the body height
        "head": round(float(rng.uniform(0.115, 0.145)), 3),  # of the body height
        "legs": round(float(rng.uniform(0.44, 0.51)), 3),  # hip to sole, of the body height
    }
    upper_colour = _colour(rng)
    upper_pattern = str(rng.choice(PATTERNS, p=[0.55, 0.25, 0.2]))
    upper = {
        "kind": str(rng.choice(("t-shirt", "long sleeves", "jacket"), p=[0.4, 0.35, 0.25])),
        "colour": upper_colour,
        "pattern": upper_pattern,
        "colour2": None if upper_pattern == "solid" else _colour(rng, avoid=[upper_colour]),
    }
    lower_kind = str(rng.choice(("trousers", "shorts", "skirt"), p=[0.65, 0.18, 0.17]))
    lower_colour = _colour(rng, LOWER_COLOURS, avoid=[upper_colour], min_distance=60.0)
    lower_pattern = str(rng.choice(PATTERNS, p=[0.8, 0.1, 0.1]))
    lower = {
        "kind": lower_kind,
        "colour": lower_colour,
        "pattern": lower_pattern,
        "colour2": None if lower_pattern == "solid" else _colour(rng, avoid=[lower_colour]),
    }
    return {
        "body": body,
        "skin": _jitter(SKIN[rng.integers(len(SKIN))], rng, 8),
        "hair": {
            "colour": _jitter(HAIR[rng.integers(len(HAIR))], rng, 8),
            "style": str(rng.choice(("short", "long", "bun"), p=[0.55, 0.35, 0.1])),
        },
        "upper": upper,
        "logo": sample_logo(rng, upper) if rng.random() < 0.35 else {"shape": "none"},
        "lower": lower,
        "shoes": _colour(rng, SHOE_COLOURS, min_distance=0.0),
        "bag": sample_bag(rng),
    }


def hard_negative(source: dict, group: str, rng: np.random.Generator) -> dict:
    """A copy of ``source`` whose ``group`` (one of HARD_NEGATIVE_GROUPS) visibly differs."""
    if group not in HARD_NEGATIVE_GROUPS:
        raise KeyError(f"unknown hard-negative group {group!r}; valid: {HARD_NEGATIVE_GROUPS}")
    twin = copy.deepcopy(source)
    if group == "logo":
        has_logo = source["logo"]["shape"] != "none"
        if has_logo and rng.random() < 0.5:
            twin["logo"] = {"shape": "none"}
        else:
            twin["logo"] = sample_logo(rng, source["upper"], source["logo"] if has_logo else None)
    elif group == "shoes":
        twin["shoes"] = _colour(rng, SHOE_COLOURS, avoid=[source["shoes"]], min_distance=120.0)
    else:
        twin["bag"] = sample_bag(rng, exclude=source["bag"])
    return twin


def differing_groups(a: dict, b: dict) -> list[str]:
    """Attribute groups whose values differ between two identities."""
    return [g for g in ATTRIBUTE_GROUPS if a[g] != b[g]]
