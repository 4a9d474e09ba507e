"""The package layout: imports point one way between the layers, and run ids stay stable.

Layers, from the bottom: ``rga.synth`` (imports nothing else of rga) <- the library
(``rga.model``, ``rga.losses``, ``rga.evaluation``, ``rga.data``) <- ``rga.engine`` <-
``rga.analysis`` <- ``rga.study``. A module may import its own layer and those below it.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from rga.engine.config import config_from_dict, run_id

PACKAGE = Path(__file__).resolve().parents[1] / "rga"
RESULTS = PACKAGE.parent / "experiments" / "results"

LAYERS = {
    "synth": {"synth"},
    "library": {"synth", "library"},
    "engine": {"synth", "library", "engine"},
    "analysis": {"synth", "library", "engine", "analysis"},
    "study": {"synth", "library", "engine", "analysis", "study"},
}
LIBRARY = {"model", "losses", "evaluation", "data"}


def layer_of(dotted: str) -> str | None:
    """ "rga.model.reid" -> "library"; "rga" itself and non-rga names -> None."""
    parts = dotted.split(".")
    if parts[0] != "rga" or len(parts) < 2:
        return None
    top = parts[1]
    return "library" if top in LIBRARY else top


def rga_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of an rga module in `path`, at any depth of the file."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[: -node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name == "rga":  # from rga import engine -> rga.engine
                found += [(node.lineno, f"rga.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, name))
    return [(line, name) for line, name in found if name.split(".")[0] == "rga"]


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE or p.stem != "__init__")


def test_every_module_belongs_to_a_layer():
    for path in modules():
        dotted = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        assert layer_of(dotted) in LAYERS, f"{dotted} is in no layer: move it into one"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way(path):
    dotted = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    own = layer_of(dotted)
    wrong = [
        f"line {line}: {name}"
        for line, name in rga_imports(path)
        if layer_of(name) is not None and layer_of(name) not in LAYERS[own]
    ]
    assert not wrong, f"{dotted} ({own}) imports against the layer direction: {wrong}"


def test_the_checker_sees_a_wrong_import(tmp_path, monkeypatch):
    fake = tmp_path / "rga" / "engine" / "bad.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("def f():\n    from rga.study.results import write_result\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", tmp_path / "rga")
    assert rga_imports(fake) == [(2, "rga.study.results")]
    assert layer_of("rga.study.results") not in LAYERS["engine"]


COMMITTED = sorted(p for p in RESULTS.glob("*/*.json"))


@pytest.mark.parametrize("path", COMMITTED[:: max(1, len(COMMITTED) // 6)], ids=lambda p: p.stem)
def test_committed_run_ids_equal_their_file_names(path):
    record = json.loads(path.read_text())
    fingerprint = record["data"]["fingerprint"]
    assert run_id(config_from_dict(record["config"]), fingerprint) == path.stem == record["run_id"]


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_committed_results_hold_no_machine_paths(path):
    record = json.loads(path.read_text())
    paths = {"data_root": record["config"].get("data_root"), "checkpoint": record.get("checkpoint")}
    for where, value in paths.items():
        assert value is None or not Path(value).is_absolute(), f"{where}={value!r}"


def test_training_one_run_and_running_an_experiment_import_one_way():
    """rga.study.experiments runs trainings through rga.study.train; train records a run through
    rga.study.recording, never through experiments (which would close a circle)."""
    study = PACKAGE / "study"
    train = {m for _, m in rga_imports(study / "train.py")}
    recording = {m for _, m in rga_imports(study / "recording.py")}
    assert "rga.study.experiments" not in train and "rga.study.recording" in train
    assert not {"rga.study.experiments", "rga.study.train"} & recording


def test_the_data_side_of_the_book_never_imports_a_page():
    """``rga.study.report`` (data: runs, paper, claims, formats, ...) sits under
    ``rga.study.pages`` (one module per book page): a page may import the data side, never the
    reverse, so that a page's code is in its own module."""
    report = PACKAGE / "study" / "report"
    wrong = [
        f"{path.relative_to(PACKAGE)} line {line}: {name}"
        for path in sorted(report.rglob("*.py"))
        for line, name in rga_imports(path)
        if name.startswith("rga.study.pages")
    ]
    assert not wrong, "the data side imports a page:\n" + "\n".join(wrong)


def test_every_book_page_has_its_module():
    """Each page of the book's table of contents that runs code has a module of its name in
    ``rga.study.pages`` (the landing page's is ``summary``)."""
    import re

    book = PACKAGE.parent / "book"
    toc = (book / "_toc.yml").read_text()
    names = re.findall(r"(?:root|file): (\w+)", toc)
    pages = PACKAGE / "study" / "pages"
    missing = []
    for name in names:
        source = next(book.glob(f"{name}.*"))
        if "code-cell" not in source.read_text() and source.suffix == ".md":
            continue
        module = "summary" if name == "introduction" else name
        if not ((pages / f"{module}.py").is_file() or (pages / module / "__init__.py").is_file()):
            missing.append(name)
    assert not missing, f"pages without their module in rga/study/pages: {missing}"


def test_a_page_never_imports_another_page():
    """The code behind a page is in its module (or package): a page may import the data side and
    the ablation pages' shared ``experiment`` module, never another page; what two pages share
    lives in ``rga.study.report``. The book's page sources import their own module only."""
    import re

    pages = PACKAGE / "study" / "pages"
    wrong = []
    for path in sorted(pages.rglob("*.py")):
        own = path.relative_to(pages).parts[0].removesuffix(".py")
        for line, name in rga_imports(path):
            if not name.startswith("rga.study.pages."):
                continue
            other = name.split(".")[3]
            if other not in (own, "experiment"):
                wrong.append(f"{path.relative_to(PACKAGE)} line {line}: {name}")
    book = PACKAGE.parent / "book"
    for source in sorted(book.glob("*.md")):
        own = "summary" if source.stem == "introduction" else source.stem
        for found in re.findall(
            r"from rga\.study\.pages(?:\.(\w+))? import (\w+)", source.read_text()
        ):
            module = found[0] or found[1]
            if module != own:
                wrong.append(f"book/{source.name}: rga.study.pages.{module}")
    assert not wrong, "a page imports another page:\n" + "\n".join(wrong)
