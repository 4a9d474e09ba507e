"""Where the book's inputs live, and the notice a page shows when one of them is missing.

Book pages run in ``book/`` at build time; they find the repository through this module
(the folder holding ``pyproject.toml`` and ``experiments/``, searched upwards from the working
directory, else the folder above the installed package), so they work from any checkout.

Three environment variables point the book at other folders, e.g. to preview it on a scratch
set of runs without touching the committed results: ``RGA_RESULTS_ROOT`` (default
``experiments/results``), ``RGA_CHECKPOINT_ROOT`` (``checkpoints``) and ``RGA_BENCHMARKS_ROOT``
(``benchmarks/results``).
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SEPARATE_STUDIES",
    "SET_UP_EXPERIMENTS",
    "Notice",
    "benchmarks_dir",
    "book_dir",
    "checkpoints_dir",
    "in_comparisons",
    "missing_results_message",
    "repo_root",
    "results_dir",
]


# Experiments whose runs serve the study's set-up (the pretrained trunk, the schedule rule), not
# its comparisons: pages that gather runs of every experiment leave them out, so the grid's test
# metrics stay unseen (the Regime page shows their training losses).
SET_UP_EXPERIMENTS = ("pretrain", "regime")
# Experiments that are studies of their own, read by experiment on their own page and never
# pooled with the study's runs: the scale probes (book/scale.md), whose RGA-SC at other module
# sizes carries the study's setting label and profile.
SEPARATE_STUDIES = ("scale_ratios", "scale_positions")


def in_comparisons(path: str | Path, root: str | Path | None = None) -> bool:
    """Whether a file under the results root belongs to the study's comparisons: not to the
    set-up, nor to a study of its own (``SEPARATE_STUDIES``)."""
    relative = Path(path).resolve().relative_to(results_dir(None, root).resolve())
    return relative.parts[0] not in (*SET_UP_EXPERIMENTS, *SEPARATE_STUDIES)


def repo_root(start: str | Path | None = None) -> Path:
    """The repository root: the first folder upwards from ``start`` (default: the working
    directory) that holds ``pyproject.toml`` and ``experiments/`` or ``book/``; otherwise the
    folder above the ``rga`` package."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (
            (folder / "experiments").is_dir() or (folder / "book").is_dir()
        ):
            return folder
    return Path(__file__).resolve().parents[3]


def results_dir(experiment: str | None = None, root: str | Path | None = None) -> Path:
    """``experiments/results`` or ``experiments/results/<experiment>``."""
    base = _root(root, "RGA_RESULTS_ROOT", "experiments/results")
    return base / experiment if experiment else base


def benchmarks_dir(root: str | Path | None = None) -> Path:
    return _root(root, "RGA_BENCHMARKS_ROOT", "benchmarks/results")


def checkpoints_dir(root: str | Path | None = None) -> Path:
    return _root(root, "RGA_CHECKPOINT_ROOT", "checkpoints")


def _root(root: str | Path | None, variable: str, default: str) -> Path:
    """``root`` if given, else the environment variable, else ``<repository>/<default>``."""
    if root is not None:
        return Path(root)
    if os.environ.get(variable):
        return Path(os.environ[variable])
    return repo_root() / default


def rerun_dir(root: str | Path | None = None) -> Path:
    """``experiments/rerun`` of the repository (or `root`)."""
    return Path(root) if root is not None else repo_root() / "experiments" / "rerun"


def book_dir() -> Path:
    return repo_root() / "book"


@dataclass(frozen=True)
class Notice:
    """A boxed message in a page: an admonition in the HTML book, a plain line elsewhere.

    Display it as a cell's value (or with ``IPython.display.display``). ``kind`` is an
    admonition class of the book theme: "warning", "note", "important", "tip".
    """

    title: str
    body: str
    command: str | None = None
    kind: str = "warning"

    def _repr_html_(self) -> str:
        command = f"<pre><code>{html.escape(self.command)}</code></pre>" if self.command else ""
        return (
            f'<div class="admonition {html.escape(self.kind)} rga-notice">'
            f'<p class="admonition-title">{html.escape(self.title)}</p>'
            f"<p>{html.escape(self.body)}</p>{command}</div>"
        )

    def __repr__(self) -> str:
        text = f"{self.title.upper()}: {self.body}"
        return f"{text}\n    {self.command}" if self.command else text

    def __str__(self) -> str:
        return repr(self)


def missing_results_message(what: str, expected: str | Path, command: str | None = None) -> Notice:
    """The notice of a page whose input is missing: what, where it was looked for, how to make it.

    Example: ``missing_results_message("plug-in position runs",
    "experiments/results/plugin_position/*.json",
    "papermill experiments/plugin_position.ipynb out.ipynb")``.
    """
    expected = _relative(expected)
    body = f"No {what} found: looked for {expected}."
    if command:
        body += " This page fills in once they exist; produce them with:"
    return Notice(title=f"Missing: {what}", body=body, command=command)


def _relative(path: str | Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(repo_root()))
    except ValueError:
        return str(path)
