"""Shared test set-up: one torch thread per test process (`pytest -n 2` already fills 2 cores)."""

import torch

torch.set_num_threads(1)
