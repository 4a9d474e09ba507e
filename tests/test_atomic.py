"""One atomic write for every file the package writes (rga.engine.atomic)."""

import os

import pytest

from rga.engine.atomic import atomic_write, temporary_path
from rga.engine.checkpoint import remove_stale_temporaries


def test_a_finished_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "run.json"  # the folder is made
    with atomic_write(target) as tmp:
        assert tmp == tmp_path / "sub" / f".run.json.{os.getpid()}.tmp" == temporary_path(target)
        tmp.write_text("new")
        assert not target.exists()  # nothing is visible before the block ends
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["run.json"]


def test_a_failed_write_leaves_the_old_file_and_removes_its_temporary(tmp_path):
    target = tmp_path / "run.json"
    target.write_text("old")
    with pytest.raises(ValueError), atomic_write(target) as tmp:
        tmp.write_text("half")
        raise ValueError("the writer failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_a_killed_writers_temporary_is_cleaned_once_its_process_is_gone(tmp_path):
    dead = tmp_path / ".last.pt.999999999.tmp"  # no such pid
    alive = temporary_path(tmp_path / "final.pt")  # this process, still writing
    dead.write_bytes(b"x")
    alive.write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path) == [dead]
    assert alive.exists() and not dead.exists()


@pytest.mark.parametrize("writer", ["results", "npz", "ranked", "checkpoint"])
def test_every_writer_of_the_package_goes_through_it(tmp_path, monkeypatch, writer):
    """A failure inside each writer's write leaves the previous file byte for byte."""
    import numpy as np

    import rga.engine.atomic as atomic
    from rga.engine.checkpoint import save_checkpoint
    from rga.study.report.attention_arrays import write_npz
    from rga.study.report.ranked_lists import save_ranked_lists
    from rga.study.results import write_json

    target = tmp_path / "file"
    target.write_bytes(b"previous")
    write = {
        "results": lambda: write_json(target, {"a": 1}),
        "npz": lambda: write_npz(target, {"a": np.zeros(2)}),
        "ranked": lambda: save_ranked_lists(target, {}, []),
        "checkpoint": lambda: save_checkpoint({"a": 1}, target),
    }[writer]

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write()
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]
