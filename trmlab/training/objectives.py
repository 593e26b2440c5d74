"""What one optimiser step computes, per kind of model.

`TeacherForcing` (the transformer LM): a fresh batch, one loss.

`DeepSupervision` (the recursive reasoner and HRM), as in TRM's reference code: a
persistent batch of rows ("the carry"). Every optimiser step runs one supervision step
on all rows; a row keeps its example and its detached (y, z) until it halts, then is
refilled with a fresh example (augmented, for grid tasks that have augmentations) and
fresh states. When a row halts is `model.halting`:
  act     the halting head says so, or N_sup steps; with probability `halt_explore_prob`
          a new row must first reach a random minimum step in [2, N_sup] (exploration);
  fixed   always after N_sup steps (the head is still trained, never obeyed);
  random  after a number of steps drawn uniformly from [1, N_sup] when the row starts.

Both expose `step() -> (loss, stats)` and a `state_dict()` holding everything needed
to resume exactly (the carry and the random generator).
"""
from __future__ import annotations

import torch

from ..data import EncodedSplit, IndexStream
from ..model.losses import exactly_right
from ..tasks.grid.base import apply_augmentations


class TeacherForcing:
    def __init__(self, model, data: EncodedSplit, stream: IndexStream, batch_size: int, device):
        self.model, self.data, self.stream = model, data, stream
        self.batch_size, self.device = batch_size, device

    def step(self):
        batch = self.data.batch(self.stream.take(self.batch_size), self.device)
        loss, predicted = self.model.loss(batch)
        width = batch["question"].shape[1]
        return loss, {"rows": self.batch_size, "new_examples": self.batch_size,
                      "flops": self.batch_size * self.model.train_flops(width),
                      "row_acc": exactly_right(predicted, batch["answer"]).float().mean().item()}

    def state_dict(self) -> tuple[dict, dict]:
        return {}, {}

    def load_state_dict(self, tensors: dict, meta: dict) -> None:
        pass


class DeepSupervision:
    def __init__(self, model, data: EncodedSplit, stream: IndexStream, batch_size: int, device,
                 seed: int = 0):
        self.model, self.data, self.stream = model, data, stream
        self.batch_size, self.device = batch_size, device
        cfg = model.cfg
        # The carry spans the widest question it can hold; each step slices what it needs.
        self.width = cfg.fixed_question_width or data.question.shape[1]
        seq = model.sequence_len(self.width)
        self.generator = torch.Generator().manual_seed(seed)
        B = batch_size
        self.carry = {
            "index": torch.zeros(B, dtype=torch.long),
            "question": torch.zeros(B, self.width, dtype=torch.long),
            "question_len": torch.ones(B, dtype=torch.long),
            "answer": torch.zeros(B, data.answer.shape[1], dtype=torch.long),
            "puzzle": torch.zeros(B, dtype=torch.long),
            "y": torch.zeros(B, seq, cfg.d_model, device=device),
            "z": torch.zeros(B, seq, cfg.d_model, device=device),
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
            fresh = self.data.batch(index, width=self.width)
            question, answer = fresh["question"], fresh["answer"]
            augmentations = self.data.augment(k, self.generator) if self.data.augment else None
            if augmentations is not None:  # grids: the same relabelling of board and answer
                question = apply_augmentations(question, *augmentations)
                answer = apply_augmentations(answer, *augmentations)
            c["question"][halted], c["answer"][halted] = question, answer
            c["question_len"][halted] = fresh["question_len"]
            if "puzzle" in fresh:
                c["puzzle"][halted] = fresh["puzzle"]
            c["steps"][halted] = 0
            c["min_steps"][halted], c["max_steps"][halted] = self._step_limits(k)
            h = halted.to(self.device)[:, None, None]
            c["y"] = torch.where(h, self.model.y_init, c["y"])
            c["z"] = torch.where(h, self.model.z_init, c["z"])
        return k

    def _step_limits(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(fewest, most) supervision steps for k new rows, by the halting mode."""
        cfg, g = self.model.cfg, self.generator
        most = torch.full((k,), cfg.n_sup, dtype=torch.long)
        if cfg.halting == "fixed":
            return most, most
        if cfg.halting == "random":
            drawn = torch.randint(1, cfg.n_sup + 1, (k,), generator=g)
            return drawn, drawn
        explore = torch.rand(k, generator=g) < cfg.halt_explore_prob
        lowest = torch.randint(2, max(cfg.n_sup, 2) + 1, (k,), generator=g)
        return torch.where(explore, lowest, 0), most

    def step(self):
        c, model = self.carry, self.model
        new = self._refill()
        # Trim to the longest question in the carry (the mlp mixer needs its fixed width).
        width = model.cfg.fixed_question_width or int(c["question_len"].max())
        question, answer = (c[k].to(self.device) for k in ("question", "answer"))
        puzzle = c["puzzle"].to(self.device) if self.data.puzzle is not None else None
        x, ctx = model.embed(question[:, :width], c["question_len"].to(self.device), puzzle)
        L = x.shape[1]
        y, z, logits, q = model.supervision_step(x, c["y"][:, :L], c["z"][:, :L], ctx)
        last_step = c["steps"] + 1 >= c["max_steps"]
        loss, correct = model.step_loss(logits, q, answer[:, :logits.shape[1]], last_step=last_step)
        with torch.no_grad():  # the carry is detached
            c["y"][:, :L], c["z"][:, :L] = y.float(), z.float()
        c["steps"] += 1
        wants_halt = (model.halt_logit(q.detach()) > 0).cpu() & (c["steps"] >= c["min_steps"])
        c["halted"] = (c["steps"] >= c["max_steps"]) | wants_halt
        finished = c["steps"][c["halted"]]
        return loss, {"rows": self.batch_size, "new_examples": new,
                      "flops": self.batch_size * model.step_flops(L - model.sequence_len(0)),
                      "row_acc": correct.float().mean().item(),
                      "halted": int(c["halted"].sum()),
                      "halt_steps_sum": int(finished.sum())}

    def state_dict(self) -> tuple[dict, dict]:
        tensors = {f"carry.{k}": v.cpu() for k, v in self.carry.items()}
        tensors["carry.generator"] = self.generator.get_state()
        return tensors, {}

    def load_state_dict(self, tensors: dict, meta: dict) -> None:
        for k in self.carry:
            self.carry[k] = tensors[f"carry.{k}"].to(self.carry[k].device)
        self.generator.set_state(tensors["carry.generator"])


def make_objective(model, data, stream, batch_size, device, seed=0):
    if model.cfg.recursive:
        return DeepSupervision(model, data, stream, batch_size, device, seed)
    return TeacherForcing(model, data, stream, batch_size, device)
