"""Optimiser, learning-rate schedule and the EMA of weights."""
from __future__ import annotations

import copy
import math

import torch


def make_optimizer(model: torch.nn.Module, name: str, lr: float, weight_decay: float,
                   betas: tuple[float, float]) -> torch.optim.Optimizer:
    """AdamW, or AdamATan2 from the pure-PyTorch `adam-atan2-pytorch` package (extra `atan2`).

    Weight decay applies to matrices only; norms have no gains, embeddings and biases
    are left undecayed as usual. Per-puzzle embeddings are not here: see `sign_sgd_`.
    """
    named = [(n, p) for n, p in model.named_parameters() if not n.startswith(PUZZLE_EMBED)]
    decay = [p for n, p in named if p.ndim >= 2 and "embed" not in n]
    keep = [p for n, p in named if not (p.ndim >= 2 and "embed" not in n)]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": keep, "weight_decay": 0.0}]
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=betas)
    if name == "adam_atan2":
        try:
            from adam_atan2_pytorch import AdamAtan2
        except ImportError as e:
            raise ImportError("optimizer 'adam_atan2' needs the adam-atan2-pytorch package (a trmlab dependency)") from e
        return AdamAtan2(groups, lr=lr, betas=betas)
    raise ValueError(f"unknown optimizer {name!r}: choose 'adamw' or 'adam_atan2'")


PUZZLE_EMBED = "puzzle_embed"


@torch.no_grad()
def sign_sgd_(model: torch.nn.Module, lr: float, weight_decay: float) -> None:
    """TRM's optimiser for the per-puzzle embeddings: p <- p (1 - lr wd) - lr sign(grad), on
    the rows this batch touched only (the others have zero gradient and keep their value);
    the gradient is used up (set to None). Stateless, so nothing to checkpoint; a few lines,
    so written here rather than imported."""
    for name, p in model.named_parameters():
        if name.startswith(PUZZLE_EMBED) and p.grad is not None:
            touched = p.grad.abs().sum(-1, keepdim=True) > 0
            p.copy_(torch.where(touched, p * (1 - lr * weight_decay) - lr * p.grad.sign(), p))
            p.grad = None


def lr_at(step: int, *, lr: float, warmup: int, total: int, schedule: str, min_ratio: float) -> float:
    """Linear warm-up, then constant or cosine decay to lr * min_ratio."""
    if step < warmup:
        return lr * (step + 1) / warmup
    if schedule == "constant":
        return lr
    if schedule == "cosine":
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))
    raise ValueError(f"unknown schedule {schedule!r}: choose 'cosine' or 'constant'")


class EMA:
    """Exponential moving average of the weights, kept as a full model for evaluation.

    The decay warms up as min(decay, (1 + t) / (10 + t)), so short runs are not
    dominated by the random initial weights.
    """

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(list(self.model.parameters()), list(model.parameters()), 1 - decay)
