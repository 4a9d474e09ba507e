"""Every experiment notebook runs under papermill in the smoke profile, as a user runs it.

Both notebooks share one scratch results/checkpoint root, so the second one must reuse the
baseline and RGA-SC runs the first trained.
"""

import json
import os
from pathlib import Path

import nbformat
import pytest

papermill = pytest.importorskip("papermill")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("plugin_position", "attention_variants", "embedding_functions", "scale")
COMMITTED = (
    *NOTEBOOKS,
    "attention_designs",
    "from_scratch",
    "pretrain",
    "regime",
)  # every notebook of experiments/; the three of NOTEBOOKS also run here
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("notebooks")]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    base = tmp_path_factory.mktemp("study")
    env = {
        "RGA_RESULTS_ROOT": str(base / "results"),
        "RGA_CHECKPOINT_ROOT": str(base / "checkpoints"),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits them
    yield base
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def run_notebook(name: str, base: Path) -> nbformat.NotebookNode:
    out = base / f"{name}.out.ipynb"
    papermill.execute_notebook(
        str(ROOT / "experiments" / f"{name}.ipynb"),
        str(out),
        parameters={"profile": "smoke", "data_root": str(base / "data")},
        cwd=str(base),
        progress_bar=False,
    )
    return nbformat.read(out, as_version=4)


def test_committed_notebooks_have_a_parameters_cell_and_no_outputs():
    assert sorted(COMMITTED) == sorted(p.stem for p in (ROOT / "experiments").glob("*.ipynb"))
    for name in COMMITTED:
        nb = nbformat.read(ROOT / "experiments" / f"{name}.ipynb", as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, name
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), name
        assert not any("def " in c.source or "class " in c.source for c in code), name


def test_notebooks_run_in_smoke_profile_and_share_runs(scratch):
    for name in NOTEBOOKS:
        nb = run_notebook(name, scratch)
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
        assert not errors, errors
        images = [
            o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
        ]
        assert images, f"{name} drew no figure"

    results = scratch / "results"
    for name, expected in (
        ("plugin_position", 6),
        ("attention_variants", 12),
        ("embedding_functions", 3),
        ("scale_ratios", 3),
    ):
        files = sorted((results / name).glob("*.json"))
        assert len(files) == expected, files
        records = [json.loads(f.read_text()) for f in files]
        for record in records:
            assert set(record["metrics"]) == {"z", "z_hat"}
            assert record["config"]["profile"] == "smoke"
            assert (results / name / "attention" / f"{record['run_id']}.npz").exists()
            assert (results / name / "attention" / f"{record['run_id']}.ranked.json").exists()
            if record["config"]["kind"] in ("rga-sc", "rga-s", "rga-sc-norel", "cbam", "rga-cs"):
                precision = record["attention_precision"]
                assert all(0 <= s["auroc"] <= 1 for s in precision.values()), precision
                assert set(record["attention_parts"]) == set(precision)

    # 6 + 12 + 3 + 3 runs; the baseline and RGA-SC at all four stages (asymmetric embedding) are
    # shared: 6 + 10 + 2 = 18 trained, and the scale probe's 3 (other module sizes: other runs)
    logs = sorted((scratch / "checkpoints").glob("*/train.log"))
    assert len(logs) == 21
    for log in logs:
        starts = [
            line
            for line in log.read_text().splitlines()
            if line.startswith("# ") and "start" in line
        ]
        assert len(starts) == 1, log  # trained once, reused by the second notebook
