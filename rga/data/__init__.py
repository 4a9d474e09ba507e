"""Re-id datasets (Market-1501, CUHK03-NP, MSMT17, SynthReID), their fingerprints and image
verification, the P x K sampler, the transforms.

Names are imported on first use, so importing `rga.data` does not load torch.

Part of the library. Imports: ``rga.synth`` (the SynthReID loader generates the set on first
use); nothing else of ``rga``.
"""

from importlib import import_module

_EXPORTS = {
    "CorruptImageError": "rga.data.dataset",
    "DatasetFormatError": "rga.data.dataset",
    "DatasetNotFoundError": "rga.data.dataset",
    "ImageDataset": "rga.data.dataset",
    "ReIDDataset": "rga.data.dataset",
    "Sample": "rga.data.dataset",
    "dataset_fingerprint": "rga.data.fingerprint",
    "dataset_summary": "rga.data.fingerprint",
    "format_summary": "rga.data.fingerprint",
    "summary_changes": "rga.data.fingerprint",
    "LOADERS": "rga.data.registry",
    "load_dataset": "rga.data.registry",
    "RandomIdentitySampler": "rga.data.sampler",
    "IMAGENET_MEAN": "rga.data.transforms",
    "IMAGENET_STD": "rga.data.transforms",
    "Random2DTranslation": "rga.data.transforms",
    "RandomErasing": "rga.data.transforms",
    "build_transforms": "rga.data.transforms",
    "check_image": "rga.data.verify",
    "verify_images": "rga.data.verify",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rga.data' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
