"""Train and test transforms of the official RGA code (spec section 2.1).

Train: Random2DTranslation -> RandomHorizontalFlip -> ToTensor -> Normalize(ImageNet) ->
RandomErasing (after normalisation, fill 0 = the ImageNet mean colour).
Test: bilinear resize to (height, width) -> ToTensor -> Normalize.

All randomness comes from torch's generator, so ``torch.manual_seed`` makes a pipeline
deterministic (DataLoader workers are seeded from it too). The official code drew from Python's
``random``, which it never seeded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from PIL import Image
from torch import nn
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Random2DTranslation(nn.Module):
    """Resize-up and random crop (the official ``Random2DTranslation``; not zero-padding).

    With probability ``1 - p`` a plain bilinear resize to ``(height, width)``; otherwise a
    bilinear resize to ``(round(1.125 height), round(1.125 width))`` and a ``(height, width)`` crop
    with top-left ``x1 = round(U(0, W' - width))``, ``y1 = round(U(0, H' - height))``.
    Works on PIL images and on ``(..., H, W)`` tensors.
    """

    def __init__(self, height: int, width: int, p: float = 0.5, scale: float = 1.125):
        super().__init__()
        self.height, self.width, self.p, self.scale = height, width, p, scale

    def forward(self, img: Image.Image | torch.Tensor) -> Image.Image | torch.Tensor:
        size = [self.height, self.width]
        if torch.rand(()).item() >= self.p:
            return F.resize(img, size, InterpolationMode.BILINEAR)
        big_h, big_w = round(self.height * self.scale), round(self.width * self.scale)
        img = F.resize(img, [big_h, big_w], InterpolationMode.BILINEAR)
        u = torch.rand(2).tolist()
        x1, y1 = round(u[0] * (big_w - self.width)), round(u[1] * (big_h - self.height))
        return F.crop(img, y1, x1, self.height, self.width)

    def extra_repr(self) -> str:
        return f"height={self.height}, width={self.width}, p={self.p}, scale={self.scale}"


class RandomErasing(nn.Module):
    """Random Erasing (Zhong et al., AAAI 2020) as in the official code, on a (C, H, W) tensor.

    With probability ``p``: up to ``max_attempts`` draws of an area ``U(sl, sh) * H * W`` and an
    aspect ratio ``U(r1, 1 / r1)``; ``h = round(sqrt(area * ratio))``,
    ``w = round(sqrt(area / ratio))``; the first box with ``h < H`` and ``w < W`` is placed with
    a uniform top-left corner and filled with ``value``. torchvision's ``RandomErasing`` differs:
    log-uniform aspect ratio and 10 attempts, so it is not used here.
    """

    def __init__(
        self,
        p: float = 0.5,
        sl: float = 0.02,
        sh: float = 0.4,
        r1: float = 0.3,
        value: float | Sequence[float] = 0.0,
        max_attempts: int = 100,
    ):
        super().__init__()
        self.p, self.sl, self.sh, self.r1 = p, sl, sh, r1
        self.value = value
        self.max_attempts = max_attempts

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        if torch.rand(()).item() >= self.p:
            return img
        _, height, width = img.shape
        for _ in range(self.max_attempts):
            area = height * width * torch.empty(()).uniform_(self.sl, self.sh).item()
            ratio = torch.empty(()).uniform_(self.r1, 1 / self.r1).item()
            h = round(math.sqrt(area * ratio))
            w = round(math.sqrt(area / ratio))
            if h < height and w < width:
                top = int(torch.randint(0, height - h + 1, ()).item())
                left = int(torch.randint(0, width - w + 1, ()).item())
                img = img.clone()
                value = torch.as_tensor(self.value, dtype=img.dtype).reshape(-1, 1, 1)
                img[:, top : top + h, left : left + w] = value  # (C or 1, 1, 1) broadcast
                return img
        return img

    def extra_repr(self) -> str:
        return (
            f"p={self.p}, sl={self.sl}, sh={self.sh}, r1={self.r1}, value={self.value}, "
            f"max_attempts={self.max_attempts}"
        )


def build_transforms(
    height: int,
    width: int,
    train: bool,
    random_erasing: bool = True,
    translate_p: float = 0.5,
    flip_p: float = 0.5,
    erasing_p: float = 0.5,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> T.Compose:
    """The official train (``train=True``) or test pipeline: PIL RGB image -> (3, height, width)."""
    normalize = T.Normalize(mean=list(mean), std=list(std))
    if not train:
        return T.Compose(
            [T.Resize((height, width), InterpolationMode.BILINEAR), T.ToTensor(), normalize]
        )
    steps = [
        Random2DTranslation(height, width, p=translate_p),
        T.RandomHorizontalFlip(p=flip_p),
        T.ToTensor(),
        normalize,
    ]
    if random_erasing:
        steps.append(RandomErasing(p=erasing_p))
    return T.Compose(steps)
