"""Recursion schemes: how far each test-time iteration is from a fixed point."""
from __future__ import annotations

from .cells import in_group
from .steps import steps_table
from .view import TaskView


def section(t: TaskView) -> list[str]:
    schemes = [m for m in in_group(t.models, "schemes").values() if m.recursive]
    if not schemes:
        return []
    return (["### Recursion schemes: distance from a fixed point", "",
             "Mean state residual |f(s) − s| / |f(s)| of each test-time iteration (supervision step), "
             "over the (y, z) state at the real positions: near 0 once the iteration has reached a "
             "fixed point; a DEQ's solver stops when it falls below the tolerance.", ""]
            + steps_table(schemes, [s for s in ("test", "ood") if s in t.splits], t.eval_steps, "residual"))
