"""How the recursion is trained: one network, four schemes (`model.recursion`).

Every scheme iterates the same map — one iteration is a supervision step's forward,
T latent recursions (`RecursiveReasoner.iteration`) — and reads the answer after an
iteration. Evaluation is the same for all: iterate from the fixed initial state and read
the answer after every iteration, as many as asked. What differs is training:

  trm              one iteration per optimiser step; the state is carried, detached, to the
                   row's next step (deep supervision: `training/objectives.DeepSupervision`)
  looped           N_sup iterations from the initial state, backpropagation through all of
                   them (Saunshi et al. 2025); `progressive`: a loss after every iteration
  recurrent_depth  r iterations, r drawn per optimiser step (mean N_sup), from a random
                   state; gradients through the last `grad_iters` only (Geiping et al. 2025)
  deq              iterate without gradients until |f(s) - s| / |f(s)| < deq_tol (at most
                   N_sup iterations), then the phantom gradient (`grad_iters` iterations from
                   the fixed point) or the implicit one (Bai et al. 2019)

The last three train on fresh batches (`training/objectives.Unrolled`) through `unroll`.
They backpropagate through every cycle of an iteration that has gradients (TRM: `grad_cycles`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass
class UnrollOutput:
    """What a carry-less scheme's training forward returns."""
    readouts: list  # (answer logits, halt logit) of each iteration that carries a loss
    free: int  # iterations run without gradients
    grad: int  # iterations run with gradients
    residual: float  # the last iteration's mean state residual |f(s) - s| / |f(s)|
    weights: list | None = None  # each readout's share of the loss; None = equal


def unroll(model, x, ctx, valid, generator: torch.Generator, shard: tuple[int, slice] | None = None) -> UnrollOutput:
    """A training forward of a scheme without a carry; `valid` [B, L] marks the real positions.
    `shard`: (global batch size, this process's rows) in data-parallel training."""
    cfg = model.cfg
    y, z = model.initial_state(x)
    if cfg.recursion == "looped":
        if cfg.loops_per_token or cfg.extra_loops or cfg.incremental_alpha:
            return looped_per_row(model, x, y, z, ctx, valid, generator, shard)
        return iterate(model, x, y, z, ctx, valid, free=0, grad=cfg.n_sup, every=cfg.progressive)
    if cfg.recursion == "recurrent_depth":
        y, z = random_state(y, generator, shard), random_state(z, generator, shard)
        r = draw_depth(cfg.n_sup, cfg.depth_dist, generator)
        k = min(cfg.grad_iters or r, r)
        return iterate(model, x, y, z, ctx, valid, free=r - k, grad=k)
    if cfg.recursion == "deq":
        return deq(model, x, y, z, ctx, valid)
    raise ValueError(f"model.recursion={cfg.recursion!r} trains with deep supervision, not unroll")


def iterate(model, x, y, z, ctx, valid, *, free: int, grad: int, every: bool = False) -> UnrollOutput:
    """`free` iterations without gradients, then `grad` with them (every cycle); the loss is
    read after the last iteration, or after every one with gradients (`every`)."""
    with torch.no_grad():
        for _ in range(free):
            y, z = model.iteration(x, y, z, ctx, grad_cycles=0)
    readouts = []
    for i in range(grad):
        y_new, z_new = model.iteration(x, y, z, ctx, grad_cycles=0)
        if every or i == grad - 1:
            readouts.append(model.readout(y_new))
        if i == grad - 1:
            residual = state_residual((y, z), (y_new, z_new), valid).mean().item()
        y, z = y_new, z_new
    return UnrollOutput(readouts, free, grad, residual)


def looped_per_row(model, x, y, z, ctx, valid, generator: torch.Generator,
                   shard: tuple[int, slice] | None = None) -> UnrollOutput:
    """The looped recipes for extrapolation. Row i runs m_i iterations: the size rule's count
    (or N_sup) plus U{0..extra_loops}. Its loss is read after m_i iterations with gradients
    through all of them (weight 1 - alpha) and, with Bansal et al.'s incremental-progress loss
    (weight alpha), after n_i + k_i iterations of a second pass whose first n_i ~ U{0..m_i-1}
    carry no gradient (k_i ~ U{1..m_i-n_i}): a step that improves any state it is handed."""
    cfg = model.cfg
    batch, rows = shard or (x.shape[0], slice(None))

    def uniform(high: torch.Tensor) -> torch.Tensor:  # [B]: U{0..high-1}, drawn for the global batch
        return (torch.rand(batch, generator=generator)[rows] * high).long().clamp(max=high - 1)

    question_len = valid.sum(1) - (cfg.n_registers + cfg.answer_len)
    m = model.loop_counts(question_len.cpu())
    m = torch.full((x.shape[0],), cfg.n_sup) if m is None else m
    if cfg.extra_loops:
        m = m + uniform(torch.full_like(m, cfg.extra_loops + 1))
    alpha = cfg.incremental_alpha
    readouts, weights, run = [], [], 0
    if alpha < 1:
        out, residual = read_rows(model, x, y, z, ctx, valid, m)
        readouts.append(out), weights.append(1 - alpha)
        run += int(m.max())
    if alpha > 0:
        n = uniform(m)
        k = 1 + uniform(m - n)
        out, residual = read_rows(model, x, y, z, ctx, valid, n + k, detach_after=n)
        readouts.append(out), weights.append(alpha)
        run += int((n + k).max())
    return UnrollOutput(readouts, 0, run, residual, weights)


def read_rows(model, x, y, z, ctx, valid, stop: torch.Tensor, detach_after: torch.Tensor | None = None):
    """Iterate until every row has reached its `stop` [B] and read each row's (answer logits,
    halt logit) after its own stop; a row's state is detached after `detach_after` [B]
    iterations (no gradient reaches the iterations before). Returns (readout, last residual)."""
    stop = stop.to(x.device)
    detach_after = None if detach_after is None else detach_after.to(x.device)
    logits = q = None
    for t in range(1, int(stop.max()) + 1):
        y_new, z_new = model.iteration(x, y, z, ctx, grad_cycles=0)
        if detach_after is not None and bool((detach_after == t).any()):
            cut = (detach_after == t)[:, None, None]
            y_new, z_new = torch.where(cut, y_new.detach(), y_new), torch.where(cut, z_new.detach(), z_new)
        here = stop == t
        if bool(here.any()):
            step_logits, step_q = model.readout(y_new)
            logits = step_logits if logits is None else torch.where(here[:, None, None], step_logits, logits)
            q = step_q if q is None else torch.where(here, step_q, q)
        y_old, z_old, y, z = y, z, y_new, z_new
    residual = state_residual((y_old, z_old), (y, z), valid).mean().item()
    return (logits, q), residual


def state_residual(old: tuple, new: tuple, valid: torch.Tensor) -> torch.Tensor:
    """[B]: |new - old| / |new| over the (y, z) state at the valid positions."""
    diff = sum(((n.float() - o.float()).square().sum(-1) * valid).sum(-1) for o, n in zip(old, new))
    norm = sum((n.float().square().sum(-1) * valid).sum(-1) for n in new)
    return (diff / norm.clamp(min=1e-12)).sqrt()


def answer_entropy(logits: torch.Tensor) -> torch.Tensor:
    """[B]: mean entropy of the predicted distribution over the answer positions."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1).mean(-1)


def random_state(init: torch.Tensor, generator: torch.Generator, shard: tuple[int, slice] | None = None) -> torch.Tensor:
    """A fresh random state per example and position, distributed as the fixed initial
    state's vector (truncated normal, std 1): Huginn starts every example from noise.
    Data-parallel: drawn for the whole global batch, so each rank gets its own rows' noise."""
    batch, rows = shard or (init.shape[0], slice(None))
    noise = torch.randn((batch, *init.shape[1:]), generator=generator)[rows].clamp_(-2, 2)
    return noise.to(device=init.device, dtype=init.dtype)


def draw_depth(mean: int, dist: str, generator: torch.Generator) -> int:
    """Iterations for one optimiser step: uniform in 1..2·mean−1, or Huginn's
    r = Poisson(e^τ) + 1 with τ ~ N(log(mean−1) − σ²/2, σ), σ = 1/2 (capped at 4·mean)."""
    if dist == "uniform":
        return int(torch.randint(1, 2 * mean, (1,), generator=generator))
    sigma = 0.5
    tau = math.log(max(mean - 1, 1e-3)) - sigma ** 2 / 2 + sigma * float(torch.randn(1, generator=generator))
    return min(int(torch.poisson(torch.tensor([math.exp(tau)]), generator=generator)) + 1, 4 * mean)


def deq(model, x, y, z, ctx, valid) -> UnrollOutput:
    """Fixed-point iteration without gradients, then a gradient at the fixed point."""
    cfg = model.cfg
    free = 0
    with torch.no_grad():
        while free < cfg.n_sup:
            y_new, z_new = model.iteration(x, y, z, ctx, grad_cycles=0)
            residual = state_residual((y, z), (y_new, z_new), valid).max().item()
            y, z, free = y_new, z_new, free + 1
            if residual < cfg.deq_tol:
                break
    if cfg.deq_grad == "phantom":
        out = iterate(model, x, y, z, ctx, valid, free=0, grad=cfg.grad_iters or 1)
        return UnrollOutput(out.readouts, free, out.grad, out.residual)
    return implicit(model, x, y, z, ctx, valid, free)


def implicit(model, x, y, z, ctx, valid, free: int) -> UnrollOutput:
    """One iteration with gradients from the fixed point s*, whose backward solves the
    adjoint fixed point u = g + J^T u (J = df/ds at s*) by iteration, so the parameters get
    the implicit-function gradient of s* instead of one step's."""
    cfg = model.cfg
    d = y.shape[-1]
    s_star = torch.cat([y, z], dim=-1).detach().requires_grad_()
    y_new, z_new = model.iteration(x, s_star[..., :d], s_star[..., d:], ctx, grad_cycles=0)
    out = torch.cat([y_new, z_new], dim=-1)

    def adjoint(g):
        hook.remove()  # the vector-Jacobian products below pass through `out` again
        u = g
        for _ in range(cfg.n_sup):
            u_next = torch.autograd.grad(out, s_star, u, retain_graph=True)[0] + g
            done = (u_next - u).float().norm() <= cfg.deq_tol * u_next.float().norm()
            u = u_next
            if done:
                break
        return u

    hook = out.register_hook(adjoint)
    residual = state_residual((y, z), (y_new, z_new), valid).mean().item()
    return UnrollOutput([model.readout(out[..., :d])], free, 1, residual)
