"""Adaptive compute: when the recursive models halt, and whether they think longer on harder problems."""
from __future__ import annotations

from ..report import table
from ..stats import describe, fmt
from .cells import Model, split_name
from .difficulty import by_difficulty
from .view import TaskView


def section(t: TaskView) -> list[str]:
    if not t.recursive:
        return []
    block = adaptive(t.recursive, t.tested, t.eval_steps)
    if not block:
        return []
    return (["### Adaptive compute", ""] + block
            + ["Mean halting step by difficulty (test + OOD; ± sd over seeds) — does the model think "
               "longer on harder problems?", ""]
            + by_difficulty(t.recursive, "halt_step_by_difficulty", t.train_max, t.fig("halt_by_difficulty"),
                            "Mean halting step by difficulty", "mean halting step (± sd over seeds)", t.colors))


def adaptive(models: list[Model], splits: list[str], eval_steps: int) -> list[str]:
    rows = []
    for m in models:
        train_halt = m.mean_of("train_mean_halt_step")
        for s in splits:
            if not m.evals(s):
                continue
            last = describe(e["accuracy_by_step"][-1] for _, e in m.evals(s) if e.get("accuracy_by_step"))
            rows.append([m.name, split_name(s), f"{train_halt:.2f}" if train_halt is not None else "—",
                         fmt(m.desc(s, "mean_halt_step"), 2), fmt(m.desc(s, "never_halted")),
                         fmt(m.desc(s, "accuracy_at_halt")), fmt(m.desc(s, "mean_min_entropy_step"), 2),
                         fmt(m.desc(s, "accuracy_at_min_entropy")), fmt(m.desc(s)), fmt(last)])
    if not rows:
        return []
    return [table(["model", "split", "mean halt step (training)", "mean halt step", "never halted",
                   "acc stopping at halt", "min-entropy step", "acc at min-entropy step",
                   "acc at trained N_sup", f"acc after {eval_steps} steps"], rows), "",
            f"Halting step: the first test-time step whose halting probability exceeds 0.5 (capped at "
            f"{eval_steps}; *never halted* counts the examples that never crossed it). Min-entropy step: "
            f"the step whose answer distribution is most confident (Fan et al.'s stopping rule), per "
            f"example; '—' for results from before it was recorded.", ""]


