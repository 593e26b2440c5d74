"""What an answer costs at test time: FLOPs and milliseconds per question, and the iterations (a
recursive model) or generated tokens (an LM) it took. Models that think for different lengths are
compared on accuracy *and* on this: a loop that iterates T(n) times, an LM that writes a
chain-of-thought trace and an LSTM that reads once may reach the same answer at very different cost.

FLOPs are counted per question from the model's own formula (`answer_flops`: matmuls, 2 per
multiply-add; an LM decodes with its KV cache) at that question's length and the steps it spent.
Milliseconds are measured: the first `TIMED` questions of the set answered in one batch, a recursive
model iterating until the last of them has reached its readout (a whole batch stops together, as a
server would run it), on the cell's threads, after one warm-up call.
"""
from __future__ import annotations

import time

import torch

from ..precision import autocast

TIMED = 100  # questions timed per set, in one batch


def steps_spent(model, result, tokenizer, readout: torch.Tensor | None) -> torch.Tensor:
    """[N]: iterations each question ran to its readout (`readout`: per-row steps of a recursive model),
    tokens an LM generated (its answer and the EOS, at most its field), or 1 (one pass)."""
    if readout is not None:
        return readout.long()
    if model.cfg.kind == "transformer":
        field = model.cfg.answer_len
        return torch.tensor([min(len(tokenizer.encode(p)) + 1, field) for p in result.predictions], dtype=torch.long)
    return torch.ones(len(result.predictions), dtype=torch.long)


@torch.no_grad()
def answer_cost(model, split, result, tokenizer, readout: torch.Tensor | None = None, *, device="cpu",
                precision: str = "auto") -> dict:
    """The set's mean steps, FLOPs and milliseconds per question (see the module's docstring)."""
    steps = steps_spent(model, result, tokenizer, readout)
    lengths = split.question_len.tolist()
    flops = [model.answer_flops(q, s) for q, s in zip(lengths, steps.tolist())]
    n = min(TIMED, len(split))
    if not n:
        return {}
    batch = split.batch(torch.arange(n), device, model.cfg.fixed_question_width)
    timed_steps = int(steps[:n].max()) if readout is not None else None
    with autocast(device, precision):
        model.predict(split.batch(torch.arange(1), device, model.cfg.fixed_question_width), timed_steps and 1)
        start = time.perf_counter()
        model.predict(batch, timed_steps)
        seconds = time.perf_counter() - start
    return {"steps_per_question": steps.float().mean().item(), "flops_per_question": sum(flops) / len(flops),
            "ms_per_question": 1000 * seconds / n, "timed_questions": n}
