"""Answer losses shared by every model: mean over an example's answer tokens, then
over the batch, so every example weighs the same whatever its answer length and
padding never enters the loss."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..tokenizer import PAD


def log_stablemax(logits: torch.Tensor) -> torch.Tensor:
    """TRM's stablemax: s(x) = 1/(1-x) for x < 0, x + 1 otherwise, normalised; in float64."""
    x = logits.double()
    # Each branch sees only its own half of the line: 1 / (1 - x) at x = 1 would put an
    # inf into the unused branch, and its gradient (inf * 0) would turn the loss into NaN.
    s = torch.where(x < 0, 1 / (1 - x.clamp(max=0)), x.clamp(min=0) + 1)
    return torch.log(s / s.sum(-1, keepdim=True))


def answer_loss(logits: torch.Tensor, targets: torch.Tensor, kind: str = "softmax") -> torch.Tensor:
    """Cross-entropy over answer positions; targets equal to PAD are ignored.

    logits [B, F, V], targets [B, F] -> scalar.
    """
    valid = targets != PAD
    if kind == "softmax":
        logp = F.log_softmax(logits.float(), dim=-1)
    elif kind == "stablemax":
        logp = log_stablemax(logits)
    else:
        raise ValueError(f"unknown loss {kind!r}: choose 'softmax' or 'stablemax'")
    token_nll = -logp.gather(-1, targets.clamp(min=0)[..., None]).squeeze(-1)
    per_example = (token_nll * valid).sum(-1) / valid.sum(-1).clamp(min=1)
    return per_example.mean().float()


def exactly_right(predicted: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """[B] bool: every answer position (tokens and EOS) predicted exactly."""
    valid = targets != PAD
    return ((predicted == targets) | ~valid).all(-1)
