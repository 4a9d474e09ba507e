import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from rga.engine.checkpoint import FINAL, LOG
from rga.engine.config import make_config, run_id
from rga.engine.distributed import gather, gather_with_grad, mean_over_ranks
from rga.losses import triplet_hard
from rga.study.results import read_result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gather_worker(rank: int, world_size: int, port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        torch.manual_seed(0)
        full = torch.randn(8, 5, dtype=torch.float64)  # the global batch, 4 ids x 2 images
        targets = torch.arange(4).repeat_interleave(2)
        rows = slice(rank * 4, (rank + 1) * 4)
        local = full[rows].clone().requires_grad_()

        gathered = gather_with_grad(local)
        torch.testing.assert_close(gathered, full, rtol=0, atol=0)
        torch.testing.assert_close(gather(targets[rows]), targets, rtol=0, atol=0)
        triplet_hard(gathered, targets).backward()

        reference = full.clone().requires_grad_()
        triplet_hard(reference, targets).backward()
        # every rank backpropagates the same global loss: the local gradient is world_size times
        # the true one, and DDP's averaging over ranks divides it back
        torch.testing.assert_close(
            local.grad, world_size * reference.grad[rows], rtol=1e-12, atol=0
        )

        mean = mean_over_ranks(torch.tensor([float(rank)]))
        torch.testing.assert_close(mean, torch.tensor([0.5]))
    finally:
        dist.destroy_process_group()


def test_gather_with_grad_gives_the_global_batch_gradient():
    mp.spawn(_gather_worker, args=(2, _free_port()), nprocs=2, join=True)


def test_single_process_gathers_are_identities():
    x = torch.randn(3, 2)
    assert gather_with_grad(x) is x and gather(x) is x and mean_over_ranks(x) is x


def test_torchrun_two_processes_on_gloo(tmp_path):
    config = make_config("smoke", data_root=str(tmp_path / "data"), experiment="ddp")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "rga.study.train",
        "smoke",
        f"data_root={config.data_root}",
        "experiment=ddp",
        "--checkpoint-root",
        str(tmp_path / "checkpoints"),
        "--results-root",
        str(tmp_path / "results"),
        "--no-progress",
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    (record_path,) = (tmp_path / "results" / "ddp").glob("*.json")
    record = read_result(record_path)
    assert record["run_id"] == run_id(config, record["data"]["fingerprint"])
    run_dir = tmp_path / "checkpoints" / record["run_id"]
    assert (run_dir / FINAL).exists() and not (run_dir / "train.lock").exists()
    epoch_lines = [
        line for line in (run_dir / LOG).read_text().splitlines() if line.startswith("epoch")
    ]
    assert len(epoch_lines) == config.epochs  # rank 0 alone writes the log
    assert record["hardware"]["world_size"] == 2
    assert len(record["curve"]) == config.epochs and set(record["metrics"]) == {"z", "z_hat"}
    # each rank drew half of every 4 x 2 batch: 24 sampled images per epoch over both ranks
    assert all(e["images_per_s"] * e["seconds"] == pytest.approx(24) for e in record["curve"])
