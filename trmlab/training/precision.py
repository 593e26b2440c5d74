"""Device choice and mixed precision: bf16 autocast over fp32 master weights."""
from __future__ import annotations

import contextlib

import torch


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} asked for, but this PyTorch build sees no CUDA GPU")
    return torch.device(name)


def autocast(device, precision: str):
    """bf16 autocast on CPU or CUDA; fp32 runs without it."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision != "bf16":
        raise ValueError(f"unknown precision {precision!r}: choose 'bf16' or 'fp32'")
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
