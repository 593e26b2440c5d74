"""What one optimiser step computes, per kind of model.

`TeacherForcing` (the transformer LM): a fresh batch, one loss.

`Unrolled` (the reasoner under the looped, recurrent-depth and DEQ schemes): a fresh
batch, the whole recursion in one forward (`model/recursion.py`), one loss.

`DeepSupervision` (the reasoner under TRM's scheme, and HRM), as in TRM's reference code: a
persistent batch of rows ("the carry"). Every optimiser step runs one supervision step
on all rows; a row keeps its example and its detached (y, z) until it halts, then is
refilled with a fresh example (augmented, for grid tasks that have augmentations) and
fresh states. When a row halts is `model.halting`:
  act     the halting head says so, or N_sup steps; with probability `halt_explore_prob`
          a new row must first reach a random minimum step in [2, N_sup] (exploration);
  fixed   always after N_sup steps (the head is still trained, never obeyed);
  random  after a number of steps drawn uniformly from [1, N_sup] when the row starts.
Probes of the stall: `model.carry="reset"` starts every supervision step from the initial
state (a row still trains N_sup times on its example); `model.sup_curriculum` grows the most
steps per row from 1 to N_sup over that many optimiser steps; `model.stagger` desynchronises
the rows (otherwise, with no row halting early, every batch is the same N_sup times in a row).

Both expose `step() -> (loss, stats)` and a `state_dict()` holding everything needed
to resume exactly (the carry and the random generator).

Data-parallel runs (`distributed.py`): every rank draws the global batch and keeps the
bookkeeping of all its rows, but computes only its own `rows`; the carried states y, z
hold those rows only.
"""
from __future__ import annotations

import torch

from ..data import EncodedSplit, IndexStream
from ..model.losses import exactly_right
from ..model.recursion import unroll
from ..tasks.grid.base import apply_augmentations
from ..tokenizer import PAD
from .distributed import LOCAL


def fresh_rows(data: EncodedSplit, index: torch.Tensor, width: int | None, generator: torch.Generator) -> dict:
    """The rows of `index` (the global batch) as a CPU batch, augmented afresh where the task has
    augmentations (grids: the same relabelling of board and answer; text with data.augment: each
    example relabelled and re-encoded, `data.Relabel`)."""
    batch = data.batch(index, width=width)
    if data.relabel is not None:
        batch = data.relabel(data, index, batch, generator)
    augmentations = data.augment(len(index), generator) if data.augment else None
    if augmentations is not None:  # None: a task whose augmentations are its examples (ARC)
        batch["question"] = apply_augmentations(batch["question"], *augmentations)
        batch["answer"] = apply_augmentations(batch["answer"], *augmentations)
    return batch


class TeacherForcing:
    def __init__(self, model, data: EncodedSplit, stream: IndexStream, batch_size: int, device, comm=LOCAL,
                 seed: int = 0):
        self.model, self.data, self.stream = model, data, stream
        self.batch_size, self.device = batch_size, device
        self.rows = comm.rows(batch_size)
        self.generator = torch.Generator().manual_seed(seed)  # augmentations (data.augment)

    def step(self):
        index = self.stream.take(self.batch_size)
        width = int(self.data.question_len[index].max())  # the global batch's, on every rank
        if self.data.relabel is None:
            batch = self.data.batch(index[self.rows], self.device, width)
        else:  # every rank relabels the global batch (the same draws), then keeps its rows
            batch = fresh_rows(self.data, index, width, self.generator)
            batch = {k: v[self.rows].to(self.device) for k, v in batch.items()}
        loss, predicted = self.model.loss(batch)
        width, answer = batch["question"].shape[1], int((batch["answer"] != PAD).sum(1).max())
        return loss, {"rows": self.batch_size, "new_examples": self.batch_size,
                      "flops": self.batch_size * self.model.train_flops(width, answer),
                      "row_acc": exactly_right(predicted, batch["answer"]).float().mean().item()}

    def state_dict(self) -> tuple[dict, dict]:  # the generator only draws with data.augment
        return ({"objective.generator": self.generator.get_state()} if self.data.relabel is not None else {}), {}

    def load_state_dict(self, tensors: dict, meta: dict) -> None:
        if self.data.relabel is not None:
            self.generator.set_state(tensors["objective.generator"])

    def drop_nonfinite(self) -> None:
        pass  # nothing carried over


class DeepSupervision:
    SHARDED = ("y", "z")  # carry entries held per rank (this rank's rows only)

    def __init__(self, model, data: EncodedSplit, stream: IndexStream, batch_size: int, device,
                 seed: int = 0, comm=LOCAL):
        self.model, self.data, self.stream = model, data, stream
        self.batch_size, self.device = batch_size, device
        self.comm, self.rows = comm, comm.rows(batch_size)
        cfg = model.cfg
        # The carry spans the widest question it can hold; each step slices what it needs.
        self.width = cfg.fixed_question_width or data.question.shape[1]
        seq = model.sequence_len(self.width)
        self.generator = torch.Generator().manual_seed(seed)
        self.updates = 0  # optimiser steps taken (the N_sup curriculum's clock)
        B = batch_size
        self.carry = {
            "index": torch.zeros(B, dtype=torch.long),
            "question": torch.zeros(B, self.width, dtype=torch.long),
            "question_len": torch.ones(B, dtype=torch.long),
            "answer": torch.zeros(B, data.answer.shape[1], dtype=torch.long),
            "puzzle": torch.zeros(B, dtype=torch.long),
            "y": torch.zeros(B // comm.world, seq, cfg.d_model, device=device),
            "z": torch.zeros(B // comm.world, seq, cfg.d_model, device=device),
            "steps": torch.zeros(B, dtype=torch.long),
            "min_steps": torch.zeros(B, dtype=torch.long),
            "max_steps": torch.zeros(B, dtype=torch.long),
            "halted": torch.ones(B, dtype=torch.bool),  # every row starts empty: refilled first
        }

    def _refill(self) -> int:
        c, cfg = self.carry, self.model.cfg
        halted = c["halted"]
        k = int(halted.sum())
        if k:
            c["index"][halted] = index = self.stream.take(k)
            fresh = fresh_rows(self.data, index, self.width, self.generator)
            c["question"][halted], c["answer"][halted] = fresh["question"], fresh["answer"]
            c["question_len"][halted] = fresh["question_len"]
            if "puzzle" in fresh:
                c["puzzle"][halted] = fresh["puzzle"]
            c["steps"][halted] = 0
            c["min_steps"][halted], c["max_steps"][halted] = self._step_limits(fresh["question_len"])
            if self.updates == 0 and cfg.stagger:  # row i's first example: 1 + i % N_sup steps
                first = torch.arange(k) % cfg.n_sup + 1
                c["min_steps"][halted] = torch.minimum(c["min_steps"][halted], first)
                c["max_steps"][halted] = first
            h = halted[self.rows].to(self.device)[:, None, None]
            c["y"] = torch.where(h, self.model.y_init, c["y"])
            c["z"] = torch.where(h, self.model.z_init, c["z"])
        return k

    def _step_limits(self, question_len: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(fewest, most) supervision steps for new rows of these question lengths, by the halting
        mode: at most N_sup, or with `loops_per_token` the row's T(n) (a longer question may think
        longer, as under the looped recipe)."""
        cfg, g, k = self.model.cfg, self.generator, len(question_len)
        rule = self.model.loop_counts(question_len)  # None without loops_per_token
        if rule is not None:
            return self._row_limits(rule)
        n_sup = cfg.n_sup
        if cfg.sup_curriculum:  # 1 step at first, N_sup after sup_curriculum updates
            n_sup = min(cfg.n_sup, 1 + self.updates * cfg.n_sup // cfg.sup_curriculum)
        most = torch.full((k,), n_sup, dtype=torch.long)
        if cfg.halting == "fixed":
            return most, most
        if cfg.halting == "random":
            drawn = torch.randint(1, n_sup + 1, (k,), generator=g)
            return drawn, drawn
        explore = torch.rand(k, generator=g) < cfg.halt_explore_prob
        lowest = torch.randint(2, max(n_sup, 2) + 1, (k,), generator=g)
        return torch.where(explore, lowest, 0), most

    def _row_limits(self, most: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`_step_limits` where each row has its own most steps (`most` [k])."""
        cfg, g = self.model.cfg, self.generator
        if cfg.sup_curriculum:
            most = torch.minimum(most, 1 + self.updates * most // cfg.sup_curriculum)
        if cfg.halting == "fixed":
            return most, most
        if cfg.halting == "random":
            drawn = 1 + (torch.rand(len(most), generator=g) * most).long()  # U{1..most}
            return drawn, drawn
        explore = torch.rand(len(most), generator=g) < cfg.halt_explore_prob
        lowest = 2 + (torch.rand(len(most), generator=g) * (most - 1).clamp(min=1)).long()  # U{2..most}
        return torch.where(explore, lowest, 0), most

    def step(self):
        c, model = self.carry, self.model
        new = self._refill()
        # Trim to the longest question in the carry (the mlp mixer needs its fixed width).
        width = model.cfg.fixed_question_width or int(c["question_len"].max())
        question, answer, question_len, puzzle = (c[k][self.rows].to(self.device)
                                                  for k in ("question", "answer", "question_len", "puzzle"))
        puzzle = puzzle if self.data.puzzle is not None else None
        x, ctx = model.embed(question[:, :width], question_len, puzzle)
        L = x.shape[1]
        y, z = c["y"][:, :L], c["z"][:, :L]
        if model.cfg.carry == "reset":  # the probe: every step starts afresh
            y, z = model.initial_state(y)
        y, z, logits, q = model.supervision_step(x, y, z, ctx)
        last_step = (c["steps"] + 1 >= c["max_steps"])[self.rows]
        loss, correct = model.step_loss(logits, q, answer[:, :logits.shape[1]], last_step=last_step)
        with torch.no_grad():  # the carry is detached
            c["y"][:, :L], c["z"][:, :L] = y.float(), z.float()
        c["steps"] += 1
        self.updates += 1
        wants_halt = self.comm.gather_rows(model.halt_logit(q.detach()) > 0).cpu() & (c["steps"] >= c["min_steps"])
        c["halted"] = (c["steps"] >= c["max_steps"]) | wants_halt
        finished = c["steps"][c["halted"]]
        return loss, {"rows": self.batch_size, "new_examples": new,
                      "flops": self.batch_size * model.step_flops(L - model.sequence_len(0)),
                      "row_acc": correct.float().mean().item(),
                      "halted": int(c["halted"].sum()),
                      "halt_steps_sum": int(finished.sum())}

    def state_dict(self) -> tuple[dict, dict]:
        tensors = {f"carry.{k}": (self.comm.gather_rows(v) if k in self.SHARDED else v).cpu()
                   for k, v in self.carry.items()}
        tensors["carry.generator"] = self.generator.get_state()
        return tensors, {"updates": self.updates}

    def load_state_dict(self, tensors: dict, meta: dict) -> None:
        for k in self.carry:
            saved = tensors[f"carry.{k}"]
            self.carry[k] = (saved[self.rows] if k in self.SHARDED else saved).to(self.carry[k].device)
        self.generator.set_state(tensors["carry.generator"])
        self.updates = meta.get("updates", 0)

    def drop_nonfinite(self) -> None:
        """After a skipped step: restart every row whose carried state is not finite."""
        finite = torch.stack([self.carry[k].isfinite().flatten(1).all(1) for k in self.SHARDED]).all(0)
        self.carry["halted"] |= ~self.comm.gather_rows(finite).cpu()


class Unrolled:
    """A fresh batch per optimiser step, the scheme's whole recursion in one forward, the
    mean loss over the iterations that carry one (looped: the last, or every one)."""

    def __init__(self, model, data: EncodedSplit, stream: IndexStream, batch_size: int, device,
                 seed: int = 0, comm=LOCAL):
        self.model, self.data, self.stream = model, data, stream
        self.batch_size, self.device = batch_size, device
        self.rows = comm.rows(batch_size)
        self.generator = torch.Generator().manual_seed(seed)  # augmentations, depths, random states

    def step(self):
        model = self.model
        width = model.cfg.fixed_question_width
        batch = fresh_rows(self.data, self.stream.take(self.batch_size), width, self.generator)  # global
        batch = {k: v[self.rows].to(self.device) for k, v in batch.items()}
        x, ctx = model.embed(batch["question"], batch["question_len"], batch.get("puzzle"))
        valid = model.valid_positions(batch["question_len"], x.shape[1])
        out = unroll(model, x, ctx, valid, self.generator, (self.batch_size, self.rows))
        losses = [model.step_loss(logits, q, batch["answer"][:, :logits.shape[1]]) for logits, q in out.readouts]
        if out.weights is None:
            loss = sum(l for l, _ in losses) / len(losses)
        else:
            loss = sum(w * l for w, (l, _) in zip(out.weights, losses)) / sum(out.weights)
        q_len = x.shape[1] - model.sequence_len(0)
        per_example = (out.free * model.step_flops(q_len, train=False)
                       + out.grad * model.step_flops(q_len, train=True, grad_cycles=0))
        return loss, {"rows": self.batch_size, "new_examples": self.batch_size,
                      "flops": self.batch_size * per_example, "row_acc": losses[-1][1].float().mean().item(),
                      "iterations": out.free + out.grad, "residual": out.residual}

    def state_dict(self) -> tuple[dict, dict]:
        return {"objective.generator": self.generator.get_state()}, {}

    def load_state_dict(self, tensors: dict, meta: dict) -> None:
        self.generator.set_state(tensors["objective.generator"])

    def drop_nonfinite(self) -> None:
        pass  # nothing carried over


def make_objective(model, data, stream, batch_size, device, seed=0, comm=LOCAL):
    if model.cfg.deep_supervision:
        return DeepSupervision(model, data, stream, batch_size, device, seed, comm)
    if model.cfg.recursive:
        return Unrolled(model, data, stream, batch_size, device, seed, comm)
    return TeacherForcing(model, data, stream, batch_size, device, comm, seed)
