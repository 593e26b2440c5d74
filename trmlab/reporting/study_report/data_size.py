"""The report's training-set-size section: does a model learn more from fewer examples?

For a study whose tasks differ only in the number of training questions (TaskSpecs such as
`phop-n250`, `phop-n1000`, ...; grouped by the id before `-n<size>`, the size read from the cells'
`run_config.data.n_train`): test accuracy vs training-set size per model (a table and a PNG with a
log x axis and 95% bands), the train − test gap per size (the training examples scored as stored,
eval split "train"), the smallest size at which each model reaches given accuracies, and paired
differences of every recursive model against every transformer LM at each size.

The section is drawn once, under the group's first task, from the cells' summaries only.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..report import plt, table
from ..stats import describe, fmt, paired_difference
from .cells import TRAIN, models_of, slug

LEVELS = (0.5, 0.7, 0.9)  # "reaches": mean test accuracy over seeds at least this


def family_of(task_id: str) -> str:
    """`phop-n250` -> `phop`; an id without a size suffix is its own family."""
    return re.sub(r"-n\d+$", "", task_id)


def size_of(cells: list[dict]) -> int | None:
    """The training-set size of a task's cells (its run config's data.n_train, else the id's suffix)."""
    sizes = {((c.get("run_config") or {}).get("data") or {}).get("n_train") for c in cells} - {None}
    if len(sizes) == 1:
        return int(sizes.pop())
    m = re.search(r"-n(\d+)$", cells[0]["task"]) if cells else None
    return int(m.group(1)) if m else None


def size_groups(cells: list[dict]) -> dict[str, dict[int, list[dict]]]:
    """family -> {size: that task's cells}, for families run at two sizes or more."""
    by_task: dict[str, list[dict]] = {}
    for c in cells:
        by_task.setdefault(c["task"], []).append(c)
    groups: dict[str, dict[int, list[dict]]] = {}
    for task, cs in by_task.items():
        size = size_of(cs)
        if size is not None and re.search(r"-n\d+$", task):
            groups.setdefault(family_of(task), {})[size] = cs
    return {f: dict(sorted(g.items())) for f, g in groups.items() if len(g) >= 2}


def section(view) -> list[str]:
    family = family_of(view.task)
    group = size_groups(view.study_cells or view.cells).get(family)
    if not group or view.cells[0]["task"] != first_task(group):
        return []  # not a size study, or drawn under the family's first task
    return data_size_section(family, group, view.out / f"{slug(family)}_data_size.png")


def first_task(group: dict[int, list[dict]]) -> str:
    return next(iter(group.values()))[0]["task"]


def data_size_section(family: str, group: dict[int, list[dict]], figure: Path) -> list[str]:
    sizes = list(group)
    per_size = {n: models_of(cs) for n, cs in group.items()}
    ids = list(dict.fromkeys(mid for models in per_size.values() for mid in models))
    name = {mid: next(m[mid].name for m in per_size.values() if mid in m) for mid in ids}

    def at(mid, n, split="test", key="accuracy") -> dict:
        m = per_size[n].get(mid)
        return m.desc(split, key) if m else describe([])

    tasks = ", ".join(f"`{group[n][0]['task']}`" for n in sizes)
    lines = [f"### Accuracy vs training-set size: `{family}`", "",
             f"The same task at {', '.join(f'{n:,}' for n in sizes)} training questions (tasks "
             f"{tasks}): the same dev, test and OOD sets and the same "
             "optimiser steps at every size, so the smaller sets are seen for more epochs. Test accuracy, mean ± sd "
             "over seeds [95% interval]:", ""]
    rows = [[name[mid]] + [fmt(at(mid, n), ci=True) for n in sizes] for mid in ids]
    lines += [table(["model"] + [f"n = {n:,}" for n in sizes], rows), ""]
    if plot_size_curves(ids, name, sizes, at, figure):
        lines += [f"![test accuracy vs training-set size]({figure.name})", "",
                  "Solid: test accuracy (bands: 95% interval over seeds); dashed: accuracy on the training "
                  "questions; log x axis.", ""]
    lines += gap_table(ids, name, sizes, per_size)
    lines += reach_table(ids, name, sizes, at)
    lines += size_comparisons(ids, name, sizes, per_size)
    return lines


def gap_table(ids, name, sizes, per_size) -> list[str]:
    """Per model and size: training accuracy and the train − test gap, paired over seeds."""
    scored = [c["eval"][TRAIN].get("n", 0) for models in per_size.values() for m in models.values()
              for c in m.cells if TRAIN in c.get("eval", {})]
    if not scored:
        return []
    rows = []
    for mid in ids:
        row = [name[mid]]
        for n in sizes:
            m = per_size[n].get(mid)
            if m is None or not m.by_seed(TRAIN):
                row.append("—")
                continue
            gap = paired_difference(m.by_seed(TRAIN), m.by_seed("test"))
            row.append(f"{fmt(m.desc(TRAIN))} / {fmt(gap, signed=True)}")
        rows.append(row)
    return [f"Generalisation gap: accuracy on (up to {max(scored):,} of) the training questions, as stored (never "
            "augmented) / train − test, paired over seeds (mean ± sd):", "",
            table(["model"] + [f"n = {n:,}" for n in sizes], rows), ""]


def reach_table(ids, name, sizes, at) -> list[str]:
    """The smallest training set at which each model's mean test accuracy reaches each level."""
    rows = []
    for mid in ids:
        row = [name[mid]]
        for level in LEVELS:
            reached = [n for n in sizes if (at(mid, n)["mean"] or 0) >= level]
            row.append(f"{reached[0]:,}" if reached else f"not by {sizes[-1]:,}")
        rows.append(row)
    return ["Examples needed: the smallest training set at which the mean test accuracy reaches each level "
            "(of the sizes run):", "", table(["model"] + [f"test ≥ {level:.1f}" for level in LEVELS], rows), ""]


def size_comparisons(ids, name, sizes, per_size) -> list[str]:
    """Paired test differences, recursive model − transformer LM, at every size."""
    rows = []
    for n in sizes:
        models = per_size[n]
        recursive = [m for m in models.values() if m.recursive]
        lms = [m for m in models.values() if m.first.get("kind") == "transformer"]
        for r in recursive:
            for lm in lms:
                d = paired_difference(r.by_seed("test"), lm.by_seed("test"), names=(r.id, lm.id))
                if d["n"]:
                    rows.append([f"{n:,}", f"`{r.id}` − `{lm.id}`", d["n"], fmt(d, ci=True, signed=True),
                                 f"**{d['verdict']}**"])
    if not rows:
        return []
    return ["Recursive models vs the transformer LMs on test, paired over seeds, at each size:", "",
            table(["n", "difference", "paired seeds", "mean ± sd [95% CI]", "verdict"], rows), ""]


def plot_size_curves(ids, name, sizes, at, path: Path) -> bool:
    curves = {mid: [at(mid, n) for n in sizes] for mid in ids}
    if not any(d["mean"] is not None for ds in curves.values() for d in ds):
        return False
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for i, mid in enumerate(ids):
        points = [(n, d) for n, d in zip(sizes, curves[mid]) if d["mean"] is not None]
        if not points:
            continue
        xs = [n for n, _ in points]
        ax.plot(xs, [d["mean"] for _, d in points], marker="o", markersize=4, linewidth=1.3, color=f"C{i}",
                label=name[mid])
        banded = [(n, d) for n, d in points if d["half_width"] is not None]
        if banded:
            ax.fill_between([n for n, _ in banded], [d["ci95_low"] for _, d in banded],
                            [d["ci95_high"] for _, d in banded], color=f"C{i}", alpha=0.15, linewidth=0)
        train = [(n, at(mid, n, TRAIN)) for n in sizes]
        train = [(n, d["mean"]) for n, d in train if d["mean"] is not None]
        if train:
            ax.plot([n for n, _ in train], [v for _, v in train], linestyle="--", linewidth=0.9, color=f"C{i}")
    ax.set_xscale("log")
    ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("training questions (log scale)")
    ax.set_ylabel("exact-match accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return True
