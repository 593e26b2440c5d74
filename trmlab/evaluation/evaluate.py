"""Evaluation: exact-match accuracy, the whole depth curve in one pass, halting.

For the reasoner, one pass over S supervision steps gives the decoded answer after
every step (accuracy vs depth, any S, beyond training's N_sup too) and the step at
which the halting head would have stopped. The transformer has one "step".
Accuracy always means `answers_match(decoded, target)`, the tasks' one scoring rule;
for grid puzzles (answers in place) it is the whole board right, token for token, and
cell accuracy is reported beside it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import torch

from ..data import EncodedSplit
from ..tasks import answers_match
from ..tokenizer import PAD
from ..precision import autocast


@dataclass
class EvalResult:
    correct: torch.Tensor  # [S, N] bool: right after step s (S = 1 for the transformer)
    halt_step: torch.Tensor  # [N] long, 1-based first step with halt prob > 0.5; S+1 = never
    predictions: list[str]  # decoded answers after the last step
    difficulty: torch.Tensor  # [N]
    cells: torch.Tensor | None = None  # [S, N] float: share of scored cells right (grids only)
    fill: torch.Tensor | None = None  # [S, N] float: share right of the cells the answer changes
    residual: torch.Tensor | None = None  # [S, N] float: |f(s) - s| / |f(s)| of each iteration
    entropy: torch.Tensor | None = None  # [S, N] float: the answer distribution's mean entropy
    changed: torch.Tensor | None = None  # [S, N] bool: the answer differs from the step before (step 1: True)
    rule_step: torch.Tensor | None = None  # [N] long: a size-rule model's own iteration count per row

    @property
    def steps(self) -> int:
        return self.correct.shape[0]

    def accuracy_at(self, step: int | None = None) -> float:
        """Accuracy after `step` supervision steps (default: the last one run)."""
        row = self.correct[(step or self.steps) - 1]
        return row.float().mean().item() if row.numel() else 0.0

    @property
    def accuracy(self) -> float:
        """Accuracy after the last step run, or at each row's own count for a size-rule model."""
        return self.accuracy_at() if self.rule_step is None else self.accuracy_at_rows(self.rule_step)

    def accuracy_at_rows(self, steps: torch.Tensor) -> float:
        """Accuracy reading row i after steps[i] iterations (capped at the last step run)."""
        return self.correct_at_rows(steps).float().mean().item() if len(steps) else 0.0

    def correct_at_rows(self, steps: torch.Tensor) -> torch.Tensor:
        return self.correct[steps.clamp(1, self.steps) - 1, torch.arange(len(steps))]

    def settle_step(self, patience: int) -> torch.Tensor:
        return settle_steps(self.changed, patience)

    def accuracy_by_step(self) -> list[float]:
        return self.correct.float().mean(1).tolist()

    def accuracy_by_difficulty(self, step: int | None = None) -> dict[int, float]:
        return mean_by(self.difficulty, self.correct[(step or self.steps) - 1].float())

    def halting(self) -> dict:
        """Where the halting head stops, and the accuracy if we stopped there."""
        S, N = self.correct.shape
        stop = self.halt_step.clamp(max=S) - 1
        at_halt = self.correct[stop, torch.arange(N)].float()
        out = {"mean_halt_step": self.halt_step.clamp(max=S).float().mean().item(),
               "never_halted": (self.halt_step > S).float().mean().item(),
               "accuracy_at_halt": at_halt.mean().item() if N else 0.0,
               "halt_step_by_difficulty": mean_by(self.difficulty, self.halt_step.clamp(max=S).float())}
        if self.entropy is not None and N:  # Fan et al.'s rule: stop at the most confident step
            step = self.entropy.argmin(0)
            out |= {"mean_min_entropy_step": (step + 1).float().mean().item(),
                    "accuracy_at_min_entropy": self.correct[step, torch.arange(N)].float().mean().item(),
                    "min_entropy_step_by_difficulty": mean_by(self.difficulty, (step + 1).float())}
        return out

    def summary(self, step: int | None = None, patience: int = 0) -> dict:
        """Headline numbers at `step` (default: the last step run; a size-rule model: each row's
        own count), the whole depth curve, halting; with `patience`, the settled answer's
        accuracy and the iterations it took (see `stopping`)."""
        step = min(step or self.steps, self.steps)
        out = {"n": self.correct.shape[1], "step": step, "accuracy": self.accuracy_at(step),
               "accuracy_by_step": self.accuracy_by_step(),
               "accuracy_by_difficulty": self.accuracy_by_difficulty(step), **self.halting()}
        if self.rule_step is not None:  # the size rule is the headline readout
            at_rule = self.correct_at_rows(self.rule_step).float()
            out |= {"accuracy": at_rule.mean().item() if len(at_rule) else 0.0, "readout": "size rule",
                    "accuracy_by_difficulty": mean_by(self.difficulty, at_rule),
                    "rule_step_by_difficulty": mean_by(self.difficulty, self.rule_step.float()),
                    "rule_capped": bool((self.rule_step > self.steps).any())}
        if self.steps > 1:
            out |= self.stopping(step, patience)
        if self.residual is not None:  # how close each iteration is to a fixed point
            out["residual_by_step"] = self.residual.mean(1).tolist()
        if self.cells is not None:
            out["cell_accuracy"] = self.cells[step - 1].mean().item() if self.cells.numel() else 0.0
            out["cell_accuracy_by_step"] = self.cells.mean(1).tolist()
            # Cells the model must change (Sudoku blanks, maze path): copying the board scores 0.
            out["fill_accuracy"] = self.fill[step - 1].mean().item() if self.fill.numel() else 0.0
            out["fill_accuracy_by_step"] = self.fill.mean(1).tolist()
        return out


    OVERTHINK = (1, 2, 8, 32)  # multiples of the iterations a row needs, for the overthinking table

    def stopping(self, step: int, patience: int) -> dict:
        """Accuracy by size x iterations (the heat map); after 1, 2, 8, 32 times the iterations a
        row needs (its size rule's count, else `step`), capped at the last step run; and, with
        `patience`, at the settled answer (`settle_step`) with the iterations that took."""
        need = self.rule_step if self.rule_step is not None else torch.full_like(self.difficulty, step)
        out = {"accuracy_by_difficulty_by_step": mean_by_rows(self.difficulty, self.correct.float().t()),
               "accuracy_at_multiple": {k: self.accuracy_at_rows(k * need) for k in self.OVERTHINK},
               "multiple_capped": {k: bool((k * need > self.steps).any()) for k in self.OVERTHINK}}
        if patience and self.changed is not None and self.correct.shape[1]:
            stop = self.settle_step(patience)
            right = self.correct_at_rows(stop).float()
            out |= {"settle_patience": patience, "accuracy_at_settle": right.mean().item(),
                    "mean_settle_step": stop.float().mean().item(),
                    "never_settled": (stop == self.steps).float().mean().item() if patience < self.steps else 1.0,
                    "accuracy_at_settle_by_difficulty": mean_by(self.difficulty, right),
                    "settle_step_by_difficulty": mean_by(self.difficulty, stop.float())}
        return out


def settle_steps(changed: torch.Tensor, patience: int) -> torch.Tensor:
    """[N]: the first iteration whose answer is the same as the `patience` iterations before it
    (the answer has settled), or the last one run (S) when it never does; `changed` [S, N] says
    whether each iteration's answer differs from the one before. Label-free: it reads the model's
    own answers only."""
    S, N = changed.shape
    run = torch.zeros(N, dtype=torch.long)  # consecutive unchanged iterations so far
    stop = torch.full((N,), S, dtype=torch.long)
    for s in range(S):
        run = torch.where(changed[s], 0, run + 1)
        stop = torch.where((run >= patience) & (stop == S), s + 1, stop)
    return stop


def mean_by_rows(keys: torch.Tensor, rows: torch.Tensor) -> dict[int, list[float]]:
    """Per key, the mean of `rows` [N, S] over the examples with that key: [S] lists."""
    return {k: rows[keys == k].mean(0).tolist() for k in sorted(set(keys.tolist()))}


def mean_by(keys: torch.Tensor, values: torch.Tensor) -> dict[int, float]:
    groups = defaultdict(list)
    for k, v in zip(keys.tolist(), values.tolist()):
        groups[k].append(v)
    return {k: sum(v) / len(v) for k, v in sorted(groups.items())}


@torch.no_grad()
def evaluate(model, split: EncodedSplit, tokenizer, *, steps: int | None = None, batch_size: int = 256,
             device="cpu", precision: str = "auto") -> EvalResult:
    """Accuracy of `model` on `split` after each of `steps` supervision steps."""
    model.eval()
    width = model.cfg.fixed_question_width
    in_place = model.cfg.answer_len == 0
    rule = model.loop_counts(split.question_len) if hasattr(model, "loop_counts") else None
    if steps is None and rule is not None and len(rule):  # every row reaches its own count
        steps = int(rule.max())
    same = (lambda p, t: p == t) if split.exact else answers_match
    per_step, halts, final, cells, fill, changed = [], [], [], [], [], []
    traces = {"residuals": [], "entropy": []}  # per-iteration diagnostics a recursive model returns
    # Rows of like length batch together (a batch is as wide as its longest question): on sizes
    # 4-16 in batches of 250, a quarter less computed than in stored order. Results come back in
    # stored order.
    order = torch.argsort(split.question_len, stable=True)
    for idx, batch in split.batches(batch_size, device, width, order):
        with autocast(device, precision):
            out = model.predict(batch, steps)
        tokens = out["tokens"].cpu()  # [S, B, F]
        if in_place:  # boards: token for token, PAD cells unscored
            answer = batch["answer"].cpu()[None, :, :tokens.shape[-1]]
            scored = answer != PAD
            per_step.append(((tokens == answer) | ~scored).all(-1))
            cells.append(((tokens == answer) & scored).sum(-1) / scored.sum(-1).clamp(min=1))
            to_fill = scored & (answer != batch["question"].cpu()[None, :, :answer.shape[-1]])
            fill.append(((tokens == answer) & to_fill).sum(-1) / to_fill.sum(-1).clamp(min=1))
            final += [board_text(row[:n], tokenizer) for row, n in zip(tokens[-1], batch["question_len"].tolist())]
            # The whole written answer (the question's positions, not its padding) moved or not.
            real = torch.arange(tokens.shape[-1])[None] < batch["question_len"].cpu()[:, None]
            moved = ((tokens[1:] != tokens[:-1]) & real).any(-1)
        else:
            targets = [split.examples[i].answer for i in idx.tolist()]
            decoded = [[tokenizer.decode(row) for row in step] for step in tokens]
            per_step.append(torch.tensor([[same(p, t) for p, t in zip(step, targets)]
                                          for step in decoded], dtype=torch.bool))
            final += decoded[-1]
            moved = torch.tensor([[a != b for a, b in zip(now, before)] for before, now in zip(decoded, decoded[1:])],
                                 dtype=torch.bool).view(len(decoded) - 1, len(idx))
        changed.append(torch.cat([torch.ones(1, len(idx), dtype=torch.bool), moved]))
        for key, parts in traces.items():
            if key in out:
                parts.append(out[key].float().cpu())
        if "halt_logits" in out:
            q = out["halt_logits"].cpu() > 0  # [S, B]
            first = torch.where(q.any(0), q.float().argmax(0) + 1, q.shape[0] + 1)
        else:
            first = torch.ones(tokens.shape[1], dtype=torch.long)
        halts.append(first)
    stored = torch.argsort(order)  # column j of the batches' output is row order[j]

    def rows(parts: list) -> torch.Tensor | None:  # the batches' outputs, back in stored order
        return torch.cat(parts, dim=-1)[..., stored] if parts else None
    correct = rows(per_step) if per_step else torch.zeros(1, 0, dtype=torch.bool)
    halt = rows(halts) if halts else torch.zeros(0, dtype=torch.long)
    cell_share = rows(cells).float() if cells else None
    fill_share = rows(fill).float() if fill else None
    residual, entropy = (rows(parts) for parts in traces.values())
    final = [final[j] for j in stored.tolist()]
    return EvalResult(correct, halt, final, split.difficulty, cell_share, fill_share, residual, entropy,
                      rows(changed), rule)


def board_text(ids, tokenizer) -> str:
    """An answer written in place as text, one piece per position: a character per cell, or a
    word per word of a story ('?' for a special token)."""
    return tokenizer.separator.join(tokenizer.symbol(i, "?") for i in ids.tolist())


@torch.no_grad()
def board_samples(model, split: EncodedSplit, tokenizer, *, steps: int, k: int = 3, device="cpu",
                  precision: str = "auto") -> list[dict]:
    """The first k boards of a grid split: question, answer and the model's board after
    steps 1, 2, 4, 8, ... (up to `steps`), for the report's pictures."""
    model.eval()
    idx = torch.arange(min(k, len(split)))
    batch = split.batch(idx, device, model.cfg.fixed_question_width)
    with autocast(device, precision):
        tokens = model.predict(batch, steps if model.cfg.recursive else None)["tokens"].cpu()
    shown = [s for s in (1, 2, 4, 8, 16, 32, 64) if s <= tokens.shape[0]]
    return [{"question": split.examples[i].question, "answer": split.examples[i].answer,
             "by_step": {s: board_text(tokens[s - 1, j], tokenizer) for s in shown}}
            for j, i in enumerate(idx.tolist())]
