"""Re-id datasets (Market-1501, CUHK03-NP, MSMT17, SynthReID), the P x K sampler, the transforms."""

from rga.data.dataset import (
    CorruptImageError,
    DatasetFormatError,
    DatasetNotFoundError,
    ImageDataset,
    ReIDDataset,
    Sample,
)
from rga.data.registry import LOADERS, load_dataset
from rga.data.sampler import RandomIdentitySampler
from rga.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Random2DTranslation,
    RandomErasing,
    build_transforms,
)

__all__ = [
    "CorruptImageError",
    "DatasetFormatError",
    "DatasetNotFoundError",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageDataset",
    "LOADERS",
    "RandomErasing",
    "Random2DTranslation",
    "RandomIdentitySampler",
    "ReIDDataset",
    "Sample",
    "build_transforms",
    "load_dataset",
]
