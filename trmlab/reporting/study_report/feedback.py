"""Feedback ablation: continuous y vs decoded answer tokens."""
from __future__ import annotations

from ..report import table
from ..stats import fmt
from .cells import in_group, split_name
from .comparisons import comparisons
from .view import TaskView


def section(t: TaskView) -> list[str]:
    feedback = list(in_group(t.models, "feedback").values())
    if len(feedback) <= 1:
        return []
    lines = ["### Feedback ablation: continuous y vs decoded answer tokens", "",
             table(["model", "id"] + [f"{split_name(s)} acc" for s in t.splits] + ["seeds"],
                   [[m.name, f"`{m.id}`"] + [fmt(m.desc(s), ci=True) for s in t.splits] + [len(m.cells)]
                    for m in feedback]), ""]
    if t.tested:
        lines += comparisons(feedback[0], feedback[1:], t.tested)
    return lines
