"""Paired-over-seeds comparisons of the reference model with every other model."""
from __future__ import annotations

from ..report import table
from ..stats import fmt, fmt_ci, paired_difference
from .cells import Model, split_name
from .view import TaskView


def section(t: TaskView) -> list[str]:
    if not (t.ref and t.others and t.tested):
        return []
    block = comparisons(t.ref, t.others, t.tested, note=not t.grid)
    if block and t.grid:
        block = (["Exact accuracy:", ""] + block + ["Cell accuracy:", ""]
                 + comparisons(t.ref, t.others, t.tested, "cell_accuracy"))
    return [f"### `{t.ref.id}` vs every other model (paired over seeds)", ""] + block if block else []


def comparisons(ref: Model, others: list[Model], splits: list[str], key: str = "accuracy",
                note: bool = True) -> list[str]:
    """Paired-over-seeds differences ref − other on each split, with a plain verdict."""
    rows = []
    for o in others:
        for s in splits:
            d = paired_difference(ref.by_seed(s, key), o.by_seed(s, key), names=(ref.id, o.id))
            if d["n"] == 0:
                continue
            rows.append([f"`{ref.id}` − `{o.id}`", split_name(s), d["n"], fmt(d, signed=True),
                         fmt_ci(d, signed=True), f"**{d['verdict']}**"])
    if not rows:
        return []
    return [table(["difference", "split", "paired seeds", "mean ± sd", "95% CI", "verdict"], rows), ""] + (
        ["Differences pair runs with the same seed. *within noise*: the 95% interval of the paired "
         "difference contains 0, so these seeds cannot tell the two apart.", ""] if note else [])


