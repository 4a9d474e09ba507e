"""SynthReID parameters: the frozen :class:`SynthConfig`, its named presets and its cache key.

A configuration names a dataset: the same configuration (and generator version) always gives
byte-identical images, and :func:`config_key` is the short hash that names its cache folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

# Part of the cache key: bump it whenever the images a configuration produces change.
GENERATOR_VERSION = "1.0"


@dataclass(frozen=True)
class SynthConfig:
    """Sizes and nuisance levels of a SynthReID dataset.

    Every identity is seen by ``cams_per_id`` of the ``num_cameras`` cameras (a fixed-size random
    subset), with ``images_per_id_per_cam`` images in each. For a test identity the first image of
    each camera is a query and the rest go to the gallery, so every query has a same-id gallery
    image in another camera. The gallery also holds ``num_distractors`` images of people outside
    the identity set (pid 0) and ``num_junk`` bad detections (pid -1, dropped by the loaders).
    """

    num_train_ids: int
    num_test_ids: int
    num_cameras: int
    cams_per_id: int
    images_per_id_per_cam: int
    height: int
    width: int
    num_distractors: int
    num_junk: int
    # Fraction of the identities of each split that are near-copies of another identity of the
    # same split, differing only in the logo, the shoes or the bag.
    hard_negative_frac: float = 0.2
    # Mean per-camera probabilities; each camera draws its own level around them.
    occlusion_prob: float = 0.2
    clutter_person_prob: float = 0.4
    # Largest shift of the person inside the box, as a fraction of the box width (x) and height
    # (y / 2), like a detector's loose boxes.
    misalignment: float = 0.12
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.num_cameras <= 9:
            problems.append(
                f"num_cameras={self.num_cameras}: Market names hold one camera digit, use 1..9"
            )
        if not 2 <= self.cams_per_id <= max(self.num_cameras, 2):
            problems.append(
                f"cams_per_id={self.cams_per_id}: use 2..num_cameras ({self.num_cameras}) so that "
                "every query has a match in another camera"
            )
        if not 2 <= self.images_per_id_per_cam <= 99:
            problems.append(
                f"images_per_id_per_cam={self.images_per_id_per_cam}: use 2..99 (one query per "
                "camera, the rest in the gallery; names hold two digits)"
            )
        if self.num_train_ids < 1 or self.num_test_ids < 1:
            problems.append("num_train_ids and num_test_ids must be at least 1")
        if self.num_train_ids + self.num_test_ids > 9999:
            problems.append("at most 9999 identities in all: Market names hold four pid digits")
        if self.height < 32 or self.width < 16 or self.height < self.width:
            problems.append(
                f"image size {self.height}x{self.width}: use height >= width, at least 32x16"
            )
        if self.num_distractors < 0 or self.num_junk < 0:
            problems.append("num_distractors and num_junk must be >= 0")
        for name in ("hard_negative_frac", "occlusion_prob", "clutter_person_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name}={getattr(self, name)} must lie in [0, 1]")
        if not 0.0 <= self.misalignment <= 0.4:
            problems.append(f"misalignment={self.misalignment} must lie in [0, 0.4]")
        if problems:
            raise ValueError("invalid SynthConfig: " + "; ".join(problems))

    @property
    def num_train_images(self) -> int:
        return self.num_train_ids * self.cams_per_id * self.images_per_id_per_cam

    @property
    def num_query_images(self) -> int:
        return self.num_test_ids * self.cams_per_id

    @property
    def num_gallery_images(self) -> int:
        """Gallery files on disk: identity images, distractors and junk."""
        identity_images = self.num_test_ids * self.cams_per_id * (self.images_per_id_per_cam - 1)
        return identity_images + self.num_distractors + self.num_junk

    @property
    def num_images(self) -> int:
        return self.num_train_images + self.num_query_images + self.num_gallery_images


PRESETS: dict[str, SynthConfig] = {
    # Tiny: the tests and the smoke profile; about a second.
    "smoke": SynthConfig(
        num_train_ids=12,
        num_test_ids=12,
        num_cameras=2,
        cams_per_id=2,
        images_per_id_per_cam=2,
        height=64,
        width=32,
        num_distractors=8,
        num_junk=4,
    ),
    # The CPU study: 4,900 images at 128x64. 200 training ids keep an epoch (one pass over the
    # ids, 4 images each) at 800 images, so the `cpu` profile's 50 epochs fit a 2-core budget.
    "cpu": SynthConfig(
        num_train_ids=200,
        num_test_ids=300,
        num_cameras=4,
        cams_per_id=3,
        images_per_id_per_cam=3,
        height=128,
        width=64,
        num_distractors=300,
        num_junk=100,
    ),
    # The pretraining population that stands in for ImageNet (issue: the paper's regime): 1,000
    # identities drawn from their own seed (so no person, and no camera scene, of the `cpu` study
    # set), with the `cpu` preset's camera count and image size. Only its training split is used.
    "pretrain": SynthConfig(
        num_train_ids=1000,
        num_test_ids=20,
        num_cameras=4,
        cams_per_id=3,
        images_per_id_per_cam=3,
        height=128,
        width=64,
        num_distractors=0,
        num_junk=0,
        seed=1,
    ),
    # Market-1501 sized (751 + 750 ids, 6 cameras, 28,016 images) at the paper's 256x128, so the
    # paper's model (height=256, width=128) trains on it unchanged.
    "market": SynthConfig(
        num_train_ids=751,
        num_test_ids=750,
        num_cameras=6,
        cams_per_id=4,
        images_per_id_per_cam=4,
        height=256,
        width=128,
        num_distractors=3000,
        num_junk=1000,
    ),
}
# The scale probe's data (book/scale.md, probe 2): the `cpu` and `pretrain` populations drawn
# natively at 192x96 (not upsampled from a smaller size). The generator draws in coordinates
# relative to the image, so these are the same people, scenes and cameras at twice the size.
PRESETS["cpu-192x96"] = dataclasses.replace(PRESETS["cpu"], height=192, width=96)
PRESETS["pretrain-192x96"] = dataclasses.replace(PRESETS["pretrain"], height=192, width=96)


def synth_config(preset: str = "cpu", **overrides) -> SynthConfig:
    """The named preset with ``overrides`` (SynthConfig fields) replaced.

    Raises KeyError for an unknown preset and TypeError for an unknown field, each naming the
    valid choices.
    """
    if preset not in PRESETS:
        raise KeyError(f"unknown SynthReID preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    fields = [f.name for f in dataclasses.fields(SynthConfig)]
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise TypeError(
            f"unknown SynthConfig field(s) {', '.join(unknown)}; valid fields: {', '.join(fields)}"
        )
    return dataclasses.replace(PRESETS[preset], **overrides)


def config_key(config: SynthConfig) -> str:
    """Eight hex digits naming the dataset of ``config`` and the generator version."""
    payload = json.dumps(
        {"config": dataclasses.asdict(config), "version": GENERATOR_VERSION}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:8]
