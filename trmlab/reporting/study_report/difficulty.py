"""Generalisation: accuracy (or another per-difficulty measure) by difficulty, test and OOD merged."""
from __future__ import annotations

from pathlib import Path

from ..report import plot_by_difficulty, table
from ..stats import describe, fmt
from .cells import Model, int_keys
from .view import TaskView


def section(t: TaskView) -> list[str]:
    block = by_difficulty(t.ms, "accuracy_by_difficulty", t.train_max, t.fig("by_difficulty"),
                          "Accuracy by difficulty (test + OOD)", "exact-match accuracy (± sd over seeds)",
                          t.colors, plot_models=t.main)
    if not block:
        return []
    return ["### Generalisation: accuracy by difficulty", "",
            "Test (trained difficulties) and OOD (harder) merged, at each model's trained depth; "
            "columns marked OOD are harder than anything in training."
            + (" The plot shows the main comparison's models; the table every model." if t.main != t.ms else ""),
            ""] + block


def merged_by_difficulty(m: Model, key: str) -> dict[int, dict]:
    """difficulty -> describe(over seeds) of summary[key] (a per-difficulty dict), test and OOD merged."""
    per_seed: dict[int, list[float]] = {}
    for split in ("test", "ood"):
        for _, e in m.evals(split):
            for d, v in int_keys(e.get(key)).items():
                per_seed.setdefault(d, []).append(v)
    return {d: describe(v) for d, v in sorted(per_seed.items())}


def by_difficulty(models: list[Model], key: str, train_max: int | None, path: Path, title: str, ylabel: str,
                  colors: dict, plot_models: list[Model] | None = None) -> list[str]:
    """Table (every model) and grouped-bar plot (plot_models) of summary[key] by difficulty."""
    data = {m.name: merged_by_difficulty(m, key) for m in models}
    data = {k: v for k, v in data.items() if v}
    if not data:
        return []
    keys = sorted({d for v in data.values() for d in v})
    header = ["model"] + [f"{d}{' (OOD)' if train_max is not None and d > train_max else ''}" for d in keys]
    rows = [[name] + [fmt(v[d]) if d in v else "—" for d in keys] for name, v in data.items()]
    shown = [m.name for m in (plot_models or models) if m.name in data]
    plot_by_difficulty({n: {d: x["mean"] for d, x in data[n].items()} for n in shown}, path, title=title,
                       ylabel=ylabel, trained_max=train_max,
                       errors={n: {d: x["sd"] for d, x in data[n].items()} for n in shown},
                       colors={n: colors[n] for n in shown})
    return [table(header, rows), "", f"![{title}]({path.name})", ""]


