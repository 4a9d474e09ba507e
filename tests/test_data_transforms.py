"""Transforms: output shapes, official crop ranges, Random Erasing sampling, torch seeding."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from rga.data import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Random2DTranslation,
    RandomErasing,
    build_transforms,
)


def gradient_image(width=20, height=40):
    img = Image.new("RGB", (width, height))
    img.putdata([(x * 12, y * 6, 100) for y in range(height) for x in range(width)])
    return img


@pytest.mark.parametrize("train", [True, False])
def test_output_shape_and_normalisation(train):
    out = build_transforms(32, 16, train=train)(gradient_image())
    assert out.shape == (3, 32, 16) and out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_test_transform_is_resize_totensor_normalize():
    img = Image.new("RGB", (16, 32), (255, 0, 128))
    out = build_transforms(32, 16, train=False)(img)
    expected = [
        (c / 255 - m) / s
        for c, m, s in zip((255, 0, 128), IMAGENET_MEAN, IMAGENET_STD, strict=True)
    ]
    torch.testing.assert_close(out[:, 5, 5], torch.tensor(expected), rtol=0, atol=1e-5)


def test_train_transform_is_deterministic_under_manual_seed():
    transform = build_transforms(32, 16, train=True)
    img = gradient_image()
    torch.manual_seed(0)
    a = [transform(img) for _ in range(6)]
    torch.manual_seed(0)
    b = [transform(img) for _ in range(6)]
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    assert any(not torch.equal(a[0], x) for x in a[1:])


def test_translation_is_a_crop_of_the_enlarged_image():
    t = Random2DTranslation(32, 16, p=1.0)
    img = gradient_image()
    big = torch.as_tensor(np.array(img.resize((18, 36), Image.BILINEAR)))  # (36, 18, 3)
    offsets = set()
    torch.manual_seed(1)
    for _ in range(40):
        out = torch.as_tensor(np.array(t(img)))  # (32, 16, 3)
        hits = [
            (y, x)
            for y in range(5)
            for x in range(3)
            if torch.equal(big[y : y + 32, x : x + 16], out)
        ]
        assert len(hits) == 1
        offsets.add(hits[0])
    assert len(offsets) > 3  # y1 in 0..4, x1 in 0..2
    plain = Random2DTranslation(32, 16, p=0.0)(img)
    assert np.array_equal(np.asarray(plain), np.asarray(img.resize((16, 32), Image.BILINEAR)))


def test_random_erasing_official_sampling():
    erase = RandomErasing(p=1.0)
    torch.manual_seed(0)
    ratios, areas = [], []
    for _ in range(300):
        out = erase(torch.ones(3, 64, 32))
        zero = out[0] == 0
        rows, cols = zero.any(1).nonzero(), zero.any(0).nonzero()
        h, w = len(rows), len(cols)
        assert torch.equal(out[:, zero], torch.zeros(3, h * w))  # one filled box on all channels
        ratios.append(h / w)
        areas.append(h * w / (64 * 32))
    assert 0.015 < min(areas) and max(areas) < 0.45
    # aspect ~ U(0.3, 3.33): ~82% of accepted boxes are taller than wide (torchvision: ~59%)
    share_above_one = sum(r > 1 for r in ratios) / len(ratios)
    assert 0.7 < share_above_one < 0.9
    assert math.isclose(erase.r1, 0.3) and erase.max_attempts == 100
    never = RandomErasing(p=0.0)
    assert torch.equal(never(torch.ones(3, 8, 4)), torch.ones(3, 8, 4))
