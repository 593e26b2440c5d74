"""What every peer driver shares: arguments, the trmlab timing harness, FLOP counts, output.

A driver runs inside the peer's own virtualenv (torch and the peer, no trmlab install);
it imports `trmlab.bench` from this checkout, whose timing helpers need only torch.
Every driver times the same training step: the peer's own forward and loss for one
supervision step (TRM: T cycles, the first T-1 without gradients), backward, gradient
clipping at 1.0, AdamW, and an EMA of the weights (as trmlab's Trainer does).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, for trmlab.bench
from trmlab.bench import peak_memory_mb, spread, time_it  # noqa: E402


def parse_args(**defaults) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--precision", default="bf16", choices=["bf16", "fp32"])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--compile", action="store_true", help="torch.compile the forward and loss")
    for name, value in defaults.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    return args


def maybe_compile(forward, args):
    """The peer's forward and loss through `torch.compile` when asked (as `trmlab bench --compile`
    compiles trmlab's networks); its backward is compiled with it."""
    return torch.compile(forward) if args.compile else forward


def autocast(precision: str):
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class Tail:
    """What follows the loss in every step: backward, clip, AdamW, zero_grad, EMA update."""

    def __init__(self, model: torch.nn.Module, lr: float = 1e-4):
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(self.params, lr=lr, betas=(0.9, 0.95), weight_decay=0.1)
        self.ema = [p.detach().clone() for p in self.params]

    def __call__(self, loss: torch.Tensor) -> float:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            torch._foreach_lerp_(self.ema, self.params, 0.001)
        return loss.item()


def net_flops(d: int, layers: int, L: int, mlp_per_token: int, attended: int | None = None) -> int:
    """Matmul FLOPs of one pass of an attention stack over one sequence (trmlab's convention:
    2 per multiply-add, Q/K/V/out projections, scores and values, the MLP)."""
    attended = L if attended is None else attended
    return layers * (2 * L * 4 * d * d + 4 * L * attended * d + 2 * L * mlp_per_token)


def trm_step_flops(net: int, n: int, T: int, head: int) -> int:
    """One supervision step: T-1 no-grad cycles of n+1 calls, then one with backward (3x)."""
    return (T - 1) * (n + 1) * net + 3 * ((n + 1) * net + head)


def report(name: str, args, step, *, batch: int, seq_len: int, flops_per_step: float, params: int,
           extra: dict | None = None) -> None:
    times = time_it(step, warmup=args.warmup, repeats=args.repeats)
    s = spread(times)
    med = s["median"]
    out = {"name": name, "precision": args.precision, "compile": args.compile, "threads": torch.get_num_threads(),
           "torch": torch.__version__, "params": params, "batch": batch, "seq_len": seq_len,
           "train": {"s_per_step": s, "examples_per_s": batch / med, "tokens_per_s": batch * seq_len / med,
                     "flops_per_step": flops_per_step, "flops_per_s": flops_per_step / med,
                     "peak_memory_mb": peak_memory_mb()},
           **(extra or {})}
    print("@@" + json.dumps(out))
