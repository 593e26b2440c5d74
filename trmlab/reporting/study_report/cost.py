"""Accuracy vs parameters and training FLOPs: the iso-parameter and iso-compute views."""
from __future__ import annotations

from ..report import plot_accuracy_vs_cost
from .cells import split_name
from .view import TaskView


def section(t: TaskView) -> list[str]:
    points = {m.name: {"params": m.mean_of("params"), "flops": m.mean_of("train_flops"),
                       "splits": {split_name(s): (m.desc(s)["mean"], m.desc(s)["sd"]) for s in t.cost_splits
                                  if m.desc(s)["mean"] is not None}} for m in t.ms}
    if not any(p["splits"] for p in points.values()):
        return []
    plot_accuracy_vs_cost(points, t.fig("cost"), colors=t.colors,
                          title=f"{t.task}: accuracy vs size and training compute\n(mean ± sd over seeds)")
    return ["### Accuracy vs parameters and training FLOPs", "",
            "Iso-parameter view (left) and iso-compute view (right); one point per model and split.", "",
            f"![accuracy vs parameters and FLOPs]({t.fig('cost').name})", ""]
