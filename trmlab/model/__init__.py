"""Models: the recursive reasoner and its baselines, built from `blocks` (the recurrent rival from torch's LSTM/GRU)."""
from __future__ import annotations

from dataclasses import replace

from .config import (MODEL_CONFIGS, HRMConfig, NetConfig, ReasonerConfig, RecurrentConfig, TransformerConfig,
                     model_config_from_dict)
from .hrm import HRM
from .reasoner import RecursiveReasoner
from .recurrent import RecurrentSeq
from .registry import MODELS, build_model, count_params
from .transformer import TransformerLM

MODELS.update({"reasoner": RecursiveReasoner, "hrm": HRM, "transformer": TransformerLM, "recurrent": RecurrentSeq})


def match_transformer(target_params: int, base: TransformerConfig, vocab_size: int,
                      tolerance: float = 0.02, aspect: int = 64, max_layers: int = 16) -> TransformerConfig:
    """The transformer whose counted parameters are within `tolerance` of `target_params`.

    Searches depth and width (width a multiple of 2 * n_heads, for RoPE); among the
    shapes that match, takes the one closest to width = aspect * depth, a common shape
    for small LMs. Candidates are built on the meta device, so counting costs no memory.
    """
    step = 2 * base.n_heads
    best = None
    for layers in range(1, max_layers + 1):
        lo, hi = step, 64 * step
        while lo < hi:  # smallest width with at least the target count
            mid = (lo + hi) // 2 // step * step or step
            if _count(replace(base, n_layers=layers, d_model=mid), vocab_size) < target_params:
                lo = mid + step
            else:
                hi = mid
        for width in (lo - step, lo):
            if width <= 0:
                continue
            cfg = replace(base, n_layers=layers, d_model=width)
            error = abs(_count(cfg, vocab_size) - target_params) / target_params
            if error <= tolerance:
                score = abs(width - aspect * layers), error
                if best is None or score < best[0]:
                    best = (score, cfg)
    if best is None:
        raise ValueError(f"no transformer with {base.n_heads} heads is within "
                         f"{tolerance:.0%} of {target_params:,} parameters")
    return best[1]


def match_recurrent(target_params: int, base: RecurrentConfig, vocab_size: int, tolerance: float = 0.05) -> RecurrentConfig:
    """The recurrent network of `base`'s cell and depth whose counted parameters are closest to
    `target_params` (its width the only free dimension); an error past `tolerance`."""
    lo, hi = 1, 4096
    while lo < hi:  # the smallest width with at least the target count
        mid = (lo + hi) // 2
        if _count(replace(base, d_model=mid), vocab_size) < target_params:
            lo = mid + 1
        else:
            hi = mid
    best = min((replace(base, d_model=w) for w in (max(lo - 1, 1), lo)),
               key=lambda cfg: abs(_count(cfg, vocab_size) - target_params))
    error = abs(_count(best, vocab_size) - target_params) / target_params
    if error > tolerance:
        raise ValueError(f"no {base.n_layers}-layer {base.cell} is within {tolerance:.0%} of {target_params:,} parameters")
    return best


def _count(cfg, vocab_size: int) -> int:
    return count_params(build_model(cfg, vocab_size, device="meta"))


__all__ = ["MODEL_CONFIGS", "HRM", "HRMConfig", "NetConfig", "ReasonerConfig", "RecurrentConfig", "RecurrentSeq",
           "TransformerConfig", "RecursiveReasoner", "TransformerLM", "build_model", "count_params", "match_recurrent",
           "match_transformer", "model_config_from_dict"]
