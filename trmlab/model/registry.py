"""Building a model from its config: the kind -> class table (filled by `trmlab.model` as it imports
the classes) and the parameter count. Below the model classes, so that reading an exported folder
(`pretrained.py`, which every model class mixes in) builds any kind without importing upwards."""
from __future__ import annotations

import torch

from .config import NetConfig

MODELS: dict[str, type[torch.nn.Module]] = {}  # kind -> class: reasoner, hrm, transformer


def build_model(cfg: NetConfig, vocab_size: int, device: str | torch.device = "cpu") -> torch.nn.Module:
    with torch.device(device):
        return MODELS[cfg.kind](cfg, vocab_size)


def count_params(model: torch.nn.Module) -> int:
    """Parameters as counted from the model itself (buffers excluded)."""
    return sum(p.numel() for p in model.parameters())
