"""Results files as a run writes them, for the tests of the loader, the report and the pages."""

from rga.engine.config import model_label, run_id
from rga.study.results import make_record, write_result

FINGERPRINT = "0123abcd"  # a data tag (the first characters of a data fingerprint)
# a training curve that ends well fitted (cross-entropy far below a uniform guess's)
FITTED = [
    {"epoch": 0, "loss": 1.0, "ce": 0.5, "triplet": 0.1, "images_per_s": 100.0, "seconds": 8.0}
]


def scores(mAP: float, R1: float | None = None) -> dict:
    """The metrics of a run whose two features score the same: mAP, R1 (mAP + 5 unless given)."""
    R1 = mAP + 5 if R1 is None else R1
    one = {"R1": R1, "R5": 99.0, "R10": 99.0, "mAP": mAP, "mINP": 50.0}
    return {feature: dict(one) for feature in ("z", "z_hat")}


def fake_record(
    config,
    *,
    metrics: dict | None = None,
    curve: list[dict] | None = None,
    train_time_s: float = 1.0,
    data: dict | None = None,
    dataset_statistics: dict | None = None,
    hardware: dict | None = None,
    **extra,
) -> dict:
    """The record `rga.study.results.make_record` gives a run of `config` with these results.

    `data` defaults to a summary holding only `FINGERPRINT`; `extra`: further keys of the record
    (e.g. ``attention_parts``).
    """
    data = {"fingerprint": FINGERPRINT} if data is None else data
    return make_record(
        config,
        run_id=run_id(config, data["fingerprint"]),
        label=model_label(config),
        metrics={} if metrics is None else metrics,
        curve=[] if curve is None else curve,
        train_time_s=train_time_s,
        eval_time_s=1.0,
        dataset_statistics=dataset_statistics or {"train": {"ids": 4, "images": 8, "cameras": 2}},
        data=data,
        hardware=hardware or {"device_name": "cpu-x"},
        **extra,
    )


def write_fake_run(root, config, **record):
    """Write `fake_record(config, **record)` under `root` as a run would; returns its path."""
    return write_result(fake_record(config, **record), root)
