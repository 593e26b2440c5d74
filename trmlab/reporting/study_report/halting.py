"""Depth axis (c): training-time halting variants, accuracy vs test-time steps."""
from __future__ import annotations

from .cells import in_group
from .steps import steps_figure, steps_table
from .view import TaskView


def section(t: TaskView) -> list[str]:
    halting = [m for m in in_group(t.models, "halting").values() if m.recursive]
    if len(halting) <= 1:
        return []
    lines = ["### Depth axis (c): halting / number of supervision steps in training", "",
             "A fixed step count in training is known to give U-shaped accuracy-vs-test-depth curves; "
             "compare the peak with the last column.", ""]
    return (lines + steps_table(halting, t.splits, t.eval_steps)
            + steps_figure(t, halting, [], "halting", "halting variants",
                           f"{t.task}: training-time halting variants\n(mean ± sd; ★ = trained N_sup)"))
