"""benchmarks/torchreid_rank.py on a fake torchreid tree, and bench_evaluation's agreement helper.

No network and no torchreid environment: the fake package's ``__init__``s raise if executed, so
the script must load ``torchreid/reid/metrics/rank.py`` alone, as it does with the real package.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

FAKE_INIT = 'raise ImportError("torch")\n'
FAKE_RANK = """
import warnings
import numpy as np

IS_CYTHON_AVAI = False
warnings.warn("Cython evaluation is unavailable, now use python evaluation.")


def evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50):
    print("Note: a print that must not reach the JSON")
    cmc = (np.arange(max_rank, dtype=np.float32) + 1) / max_rank
    return cmc, float(distmat.sum() + q_pids.sum() + g_pids.sum() + q_camids.sum() + g_camids.sum())
"""


def _fake_torchreid(root: Path) -> Path:
    package = root / "torchreid"
    metrics = package / "reid" / "metrics"
    metrics.mkdir(parents=True)
    (package / "__init__.py").write_text('__version__ = "0.0.fake"\n' + FAKE_INIT)
    (package / "reid" / "__init__.py").write_text(FAKE_INIT)
    (metrics / "__init__.py").write_text(FAKE_INIT)
    (metrics / "rank.py").write_text(FAKE_RANK)
    return package


def _load_bench_evaluation():
    spec = importlib.util.spec_from_file_location(
        "bench_evaluation", BENCHMARKS / "bench_evaluation.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_torchreid_rank_loads_only_rank_py(tmp_path):
    package = _fake_torchreid(tmp_path)
    npz = tmp_path / "problem.npz"
    np.savez(
        npz,
        distmat=np.full((2, 3), 0.5, dtype=np.float32),
        q_pids=np.array([1, 2]),
        g_pids=np.array([1, 2, 0]),
        q_camids=np.array([0, 1]),
        g_camids=np.array([1, 0, 2]),
    )
    script = BENCHMARKS / "torchreid_rank.py"
    cmd = [sys.executable, str(script), str(npz), "--repeat", "2", "--package", str(package)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)  # the whole of stdout is one JSON object
    assert record["mAP"] == pytest.approx(3.0 + 3 + 3 + 1 + 3)
    assert record["cmc"] == pytest.approx([(k + 1) / 50 for k in range(50)])
    assert record["torchreid_version"] == "0.0.fake"
    assert record["cython"] is False
    assert record["numpy"] == np.__version__
    assert record["seconds"] >= 0
    assert record["package"] == str(package.resolve())
    assert record["warnings"] == ["Cython evaluation is unavailable, now use python evaluation."]
    assert "must not reach the JSON" in done.stderr


def test_agreement_within_and_beyond_tolerance():
    be = _load_bench_evaluation()
    ours = {
        "cmc": np.array([0.5, 0.75, 1.0]),
        "mAP": 0.6,
        "num_valid_queries": 4,
        "num_skipped_queries": 1,
    }
    close = {"cmc": [0.5, 0.75 + 1e-7, 1.0], "mAP": 0.6 - 1e-9, "torchreid_version": "0.2.5"}
    agree = be.agreement(ours, close, tolerance=1e-4)
    assert agree["agree"] is True
    assert agree["max_abs_diff_cmc"] == pytest.approx(1e-7)
    assert agree["abs_diff_mAP"] == pytest.approx(1e-9)
    assert agree["cmc_ranks_differing"] == 0
    assert (agree["queries"], agree["num_valid_queries"]) == (5, 4)
    assert agree["torchreid_version"] == "0.2.5"

    # one query's first match one place later: CMC off by 1/4 at rank 2; shorter curve compared
    far = {"cmc": [0.5, 0.5], "mAP": 0.6, "cython": False}
    disagree = be.agreement(ours, far, tolerance=1e-4)
    assert disagree["agree"] is False
    assert disagree["ranks_compared"] == 2
    assert disagree["max_abs_diff_cmc"] == pytest.approx(0.25)
    assert disagree["max_abs_diff_cmc_in_queries"] == pytest.approx(1.0)
    assert disagree["cmc_ranks_differing"] == 1
    assert be.agreement(ours, {**close, "mAP": 0.61})["agree"] is False


def test_without_junk_drops_pid_minus_one_columns():
    be = _load_bench_evaluation()
    distmat = np.arange(8, dtype=np.float32).reshape(2, 4)
    problem = (distmat, np.array([1, 2]), np.array([1, -1, 0, -1]), np.zeros(2), np.arange(4))
    dist, q_pids, g_pids, q_camids, g_camids = be.without_junk(problem)
    np.testing.assert_array_equal(dist, [[0, 2], [4, 6]])
    np.testing.assert_array_equal(g_pids, [1, 0])
    np.testing.assert_array_equal(g_camids, [0, 2])
    assert dist.flags.c_contiguous
