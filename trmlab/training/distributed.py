"""Data-parallel training with torch.distributed, launched by torchrun:

    torchrun --nproc_per_node=4 -m trmlab train --preset default

NCCL on GPUs (one per process, by LOCAL_RANK), gloo on CPUs. The layout keeps a run of W
processes equal to a one-process run over the same global batch B:

- Rank r computes rows [r B/W, (r+1) B/W) of the global batch (B must divide by W).
- Every rank keeps the same small bookkeeping for all B rows (which example each row of
  the deep-supervision carry holds, its step count, whether it halted) and draws the same
  indices from the same `IndexStream` and the same generator, then takes its own rows: the
  examples are disjoint across ranks and come in the one-process order. The halting
  decisions, the only per-row results the bookkeeping needs, are gathered every step.
- Only the carried states y, z (the large tensors) live per rank; a checkpoint gathers them,
  so it holds the whole global carry and resumes on any number of processes.
- Gradients are averaged by one all-reduce after backward. Not DDP's module wrapper: the
  objectives call several model methods (not `forward`) and the network n*T times per step,
  partly under no_grad, which DDP's reducer does not follow; one flat all-reduce after
  backward is correct for all of it (it gives up overlapping communication with backward,
  small next to the recursion's many forward passes). Identical gradients give identical
  weights, optimiser and EMA on every rank (checked at every checkpoint).
- Rank 0 evaluates and writes (checkpoints, metrics, reports); the others wait for its result.
- The DEQ scheme's stopping test sees this rank's rows only (ranks may iterate differently).
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


class Comm:
    """This process's place in a data-parallel run; for one process every method is a no-op."""

    def __init__(self, rank: int = 0, world: int = 1, device: str = "cpu"):
        self.rank, self.world, self.device = rank, world, device

    @property
    def main(self) -> bool:
        return self.rank == 0

    def rows(self, batch_size: int) -> slice:
        """This rank's rows of a global batch."""
        if batch_size % self.world:
            raise ValueError(f"train.batch_size={batch_size} must be divisible by the number of "
                             f"processes ({self.world}): each computes an equal share of the batch")
        n = batch_size // self.world
        return slice(self.rank * n, (self.rank + 1) * n)

    def gather_rows(self, t: torch.Tensor) -> torch.Tensor:
        """Every rank's rows of `t`, concatenated in rank order (the global batch)."""
        if self.world == 1:
            return t
        send = t.to(self.device, torch.uint8 if t.dtype == torch.bool else t.dtype).contiguous()
        parts = [torch.empty_like(send) for _ in range(self.world)]
        dist.all_gather(parts, send)
        return torch.cat(parts).to(t.device, t.dtype)

    def mean(self, values: list[float]) -> list[float]:
        """The mean over ranks of each value (equal shards: the mean over the global batch)."""
        if self.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return (t / self.world).tolist()

    def broadcast(self, value: float) -> float:
        """Rank 0's value, on every rank."""
        if self.world == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.broadcast(t, 0)
        return t.item()

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def average_gradients(self, params) -> None:
        """Replace each gradient by its mean over ranks, in one all-reduce. Parameters without
        a gradient stay without one (the same ones on every rank: the same code ran)."""
        if self.world == 1:
            return
        params = [p for p in params if p.grad is not None]
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        dist.all_reduce(flat)
        flat /= self.world
        for p, g in zip(params, flat.split([p.numel() for p in params])):
            p.grad = g.view_as(p)

    def check_in_sync(self, tensors: dict) -> None:
        """Fail loudly if the ranks' weights have drifted apart (they must be identical)."""
        if self.world == 1:
            return
        total = sum(t.double().sum() for t in tensors.values()).reshape(1).to(self.device)
        sums = self.gather_rows(total)
        if not bool((sums == sums[0]).all()):
            raise RuntimeError(f"data-parallel ranks hold different weights (checksums {sums.tolist()})")


LOCAL = Comm()


def connect(device: str = "auto") -> Comm:
    """Join the process group torchrun describes (WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR,
    MASTER_PORT); one process without torchrun."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return LOCAL
    cuda = not device.startswith("cpu") and torch.cuda.is_available()
    if not dist.is_initialized():
        if cuda:  # one GPU per process; "cuda" then means this one
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo")
    return Comm(dist.get_rank(), dist.get_world_size(), "cuda" if cuda else "cpu")


def is_main() -> bool:
    """Whether this process writes and prints (rank 0, or the only process)."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def disconnect() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
