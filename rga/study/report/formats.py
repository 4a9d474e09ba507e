"""How the book writes numbers: each kind of value in its own format, never one global precision.

Every table of the book is turned into text by these functions before it is shown, so a learning
rate of 8e-4 is never printed as "0.001", a count never as "3368.000", a tolerance of 1e-4 never as
"0.0", and a missing value never as "NaN". Formats:

* percentages (R1, mAP, mINP, already in %): one decimal, ``percent(23.16) == "23.2"``;
* learning rates and tiny quantities: scientific notation, ``scientific(8e-4) == "8e-4"``;
* counts: integers with thousands separators, ``count(3368.0) == "3,368"``;
* durations: hours and minutes, ``duration(8400) == "2:20"`` (h:mm);
* ratios: ``ratio(1.36) == "1.36x"``;
* a statistic over seeds: ``mean_sd([20, 22]) == "21.0 ± 1.4"`` (sample sd) and its 95 %
  t-interval, ``t_interval([20, 22]) == (8.3, 33.7)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = [
    "MISSING",
    "count",
    "decimal",
    "duration",
    "format_columns",
    "format_field",
    "interval_text",
    "mean_sd",
    "mean_sd_ci",
    "percent",
    "ratio",
    "scientific",
    "short_commit",
    "t_interval",
]

MISSING = "–"  # shown where a value does not exist (a stage without a module, a setting not run)
CONFIDENCE = 0.95


def _absent(value) -> bool:
    if value is None:
        return True
    if isinstance(value, list | tuple | dict | set | np.ndarray):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _fixed(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals, never "-0.0" (a tiny negative rounds to "0.0")."""
    return f"{round(float(value), digits) + 0.0:.{digits}f}"


def decimal(value, digits: int = 1) -> str:
    """A fixed number of decimals: ``decimal(0.5683, 3) == "0.568"``, ``decimal(-0.004) ==
    "0.0"``; missing -> "–"."""
    if _absent(value):
        return MISSING
    return _fixed(value, digits)


def percent(value, digits: int = 1) -> str:
    """A value already in percent, one decimal: ``percent(23.16) == "23.2"``."""
    return decimal(value, digits)


def scientific(value, digits: int = 4) -> str:
    """Scientific notation with at most ``digits`` significant digits and no padding:
    ``scientific(8e-4) == "8e-4"``, ``scientific(3.125e-6) == "3.125e-6"``,
    ``scientific(1.7874e-9, 2) == "1.8e-9"``, ``scientific(0) == "0"``."""
    if _absent(value):
        return MISSING
    value = float(value)
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def count(value) -> str:
    """An integer with thousands separators: ``count(3368.0) == "3,368"``."""
    if _absent(value):
        return MISSING
    return f"{round(float(value)):,d}"


def duration(seconds) -> str:
    """Hours and minutes, rounded to the minute: ``duration(8400) == "2:20"``,
    ``duration(59) == "0:01"``, ``duration(0) == "0:00"``."""
    if _absent(seconds):
        return MISSING
    minutes = round(float(seconds) / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def ratio(value, digits: int = 2) -> str:
    """A ratio of two measurements: ``ratio(1.3604) == "1.36x"``."""
    if _absent(value):
        return MISSING
    return f"{float(value):.{digits}f}x"


def _values(values: Iterable) -> np.ndarray:
    return np.asarray([float(v) for v in values if not _absent(v)], dtype=float)


def t_interval(values: Iterable, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The t-interval of the mean over seeds: mean ± t(1 - a/2, n - 1) · sd / sqrt(n), with the
    sample sd; None for fewer than two values. ``t_interval([20, 22])`` is (8.3, 33.7):
    t(0.975, 1) = 12.706, sd = 1.414, so 21 ± 12.7."""
    from scipy.stats import t

    v = _values(values)
    if v.size < 2:
        return None
    half = t.ppf(0.5 + confidence / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
    return float(v.mean() - half), float(v.mean() + half)


def mean_sd(values: Iterable, digits: int = 1, signed: bool = False) -> str:
    """ "21.0 ± 1.4": mean ± sample sd over seeds; "21.0" for one value; "–" for none.
    ``signed``: the mean of a difference with its sign, "+2.4 ± 0.5" ("0.0" stays unsigned)."""
    v = _values(values)
    if v.size == 0:
        return MISSING
    mean = _fixed(v.mean(), digits)
    if signed and float(mean) > 0:
        mean = f"+{mean}"
    if v.size == 1:
        return mean
    return f"{mean} ± {_fixed(v.std(ddof=1), digits)}"


def mean_sd_ci(
    values: Iterable,
    digits: int = 1,
    separator: str = "\n",
    bounds: tuple[float, float] | None = None,
) -> str:
    """ "21.0 ± 1.4" and, after ``separator``, the 95 % t-interval "[8.3, 33.7]"; one value or
    none as in :func:`mean_sd`. A score that cannot leave ``bounds`` (an AUROC: (0, 1)) has its
    interval cut to them: ``mean_sd_ci([0.1, 0.5], 3, bounds=(0, 1))`` ends "[0.000, 1.000]"
    where the t-interval is [-2.24, 2.84]."""
    text = mean_sd(values, digits)
    interval = t_interval(values)
    if interval is None:
        return text
    if bounds is not None:
        interval = (max(interval[0], bounds[0]), min(interval[1], bounds[1]))
    return f"{text}{separator}{interval_text(interval, digits)}"


def interval_text(interval: tuple[float, float] | None, digits: int = 1) -> str:
    """ "[8.3, 33.7]"; "–" for no interval."""
    if interval is None:
        return MISSING
    return f"[{_fixed(interval[0], digits)}, {_fixed(interval[1], digits)}]"


def _is_rate(name: str) -> bool:
    """Fields holding learning rates, decays or tolerances: "base_lr", "warmup_begin_lr",
    "weight_decay", "tolerance" (not "lr_factor", a plain factor)."""
    return name.endswith(("lr", "_decay")) or name in ("tolerance", "eps")


def format_field(name: str, value) -> str:
    """A config or record field's value as text, by what it holds: learning rates and decays in
    scientific notation (``format_field("base_lr", 8e-4) == "8e-4"``), sequences joined by ", ",
    None as "none", other floats as short as exact (``0.3`` -> "0.3"), integers as they are."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, list | tuple):
        return ", ".join(format_field(name, v) for v in value) if value else MISSING
    if isinstance(value, float):
        if _is_rate(name) or (value != 0 and abs(value) < 1e-2):
            return scientific(value)
        return f"{value:g}"
    return str(value)


def format_columns(
    table: pd.DataFrame, formats: Mapping[str, Callable[[object], str]], default=None
) -> pd.DataFrame:
    """``table`` with each column in ``formats`` turned into text by its formatter; columns not
    named keep their values unless ``default`` (a formatter) is given. Missing values become "–"
    in every formatted column."""
    out = table.copy()
    for column in out.columns:
        formatter = formats.get(column, default)
        if formatter is None:
            continue
        out[column] = [MISSING if _absent(v) else formatter(v) for v in out[column]]
    return out


def short_commit(commit, dirty: bool = False) -> str:
    """ "a11773076b" (10 characters), "a11773076b (dirty)" when the working tree had uncommitted
    changes; "unknown" for a run made outside git."""
    text = str(commit)[:10] if isinstance(commit, str) and commit else "unknown"
    return text + (" (dirty)" if dirty else "")
