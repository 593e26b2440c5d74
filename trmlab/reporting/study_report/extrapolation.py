"""The report's extrapolation section: thinking longer to solve bigger problems.

For a task trained on small sizes and tested on larger ones (the test split at the trained
sizes, the OOD split and extra evaluation sets at 2x and 4x the largest), with evaluations that
carry the settle stop (`EvalResult.stopping`): accuracy per size at each model's own readout
and at the oracle-free stop, the iterations the stop spends, the largest size solved, the
overthinking table, and a heat map of accuracy by size x test-time iterations per recursive model.

Models are the study report's `Model`s (all seeds of one model on one task); only their
summaries are read, so the section knows nothing of how they were trained.
"""
from __future__ import annotations

import math
from pathlib import Path

from ..report import human, plt, table
from ..stats import describe, fmt, paired_difference

SOLVED = 0.90  # "solves a size": accuracy at least this, at the model's stop (or its one pass)
PLATEAU = 0.02  # the overthinking target: 32x the iterations within this of the best


def applies(models: list) -> bool:
    """A study evaluated with the settle stop (`StudyConfig.settle_patience`)."""
    return any("accuracy_at_settle" in s for m in models for _, s in m.evals("test"))


def sizes_of(m, split: str) -> list[int]:
    return sorted({int(d) for _, s in m.evals(split) for d in (s.get("accuracy_by_difficulty") or {})})


def per_size(m, split: str, key: str) -> dict[int, dict]:
    """size -> describe() over seeds of summary[key][size]."""
    values: dict[int, list] = {}
    for _, s in m.evals(split):
        for d, v in (s.get(key) or {}).items():
            values.setdefault(int(d), []).append(v)
    return {d: describe(v) for d, v in sorted(values.items())}


def stop_key(m, by_size: bool = False) -> str:
    """The readout a model is judged at beyond its trained sizes: the settle stop for a recursive
    model, its one pass otherwise."""
    key = "accuracy_at_settle" if m.recursive else "accuracy"
    return key + ("_by_difficulty" if by_size else "")


def size_label(splits: list[str], m) -> dict[str, str]:
    """split -> "n = 32" for a split of one size, the range for the test split."""
    out = {}
    for s in splits:
        sizes = sizes_of(m, s)
        out[s] = (f"n = {sizes[0]}" if len(sizes) == 1 else f"n = {sizes[0]}–{sizes[-1]}") if sizes else s
    return out


def largest_solved(m, splits: list[str]) -> int | None:
    """The largest size whose mean accuracy over seeds (at the stop) is at least SOLVED."""
    solved = [d for s in splits for d, desc in per_size(m, s, stop_key(m, True)).items()
              if desc["mean"] is not None and desc["mean"] >= SOLVED]
    return max(solved) if solved else None


def section(view) -> list[str]:
    return extrapolation_section(view.ms, view.tested, view.fig("extrapolation"))


def extrapolation_section(models: list, splits: list[str], heatmap: Path) -> list[str]:
    if not applies(models):
        return []
    splits = [s for s in splits if s != "dev"]
    labels = size_label(splits, next(m for m in models if m.recursive))
    recursive = [m for m in models if m.recursive]
    patience = next(s["settle_patience"] for m in recursive for _, s in m.evals("test") if "settle_patience" in s)
    lines = ["### Extrapolation: thinking longer on bigger problems", "",
             f"Sizes: {', '.join(f'{split_name_of(s)} {labels[s]}' for s in splits)}. *Readout*: each model's "
             "own, fixed before training — a looped model with a size rule at T(n) iterations computed from the "
             "question's length, a fixed-count model at its trained count, a one-pass model once. *Stop*: the "
             f"oracle-free rule — iterate until the answer is the same as {patience} iterations before (capped "
             "at the evaluation's last iteration); it reads only the model's own answers. Mean ± sd over seeds.", ""]
    rows = []
    for m in models:
        params = m.mean_of("params")
        row = [m.name, f"{params:,.0f}" if params else "—", human(m.mean_of("train_flops_per_example") or 0), m.lr]
        row += [fmt(m.desc(s)) for s in splits]
        row += [fmt(m.desc(s, "accuracy_at_settle")) if m.recursive else "—" for s in splits]
        row += [" / ".join(f"{describe(v for v in m.by_seed(s, 'mean_settle_step').values())['mean']:.1f}"
                           for s in splits) if m.recursive else "1"]
        largest = largest_solved(m, splits)
        row += [str(largest) if largest is not None else "none", len(m.cells)]
        rows.append(row)
    head = (["model", "params", "train FLOPs / example", "lr"] + [f"{labels[s]} readout" for s in splits]
            + [f"{labels[s]} at stop" for s in splits] + ["iterations at stop", f"largest n at ≥ {SOLVED:.2f}", "seeds"])
    lines += [table(head, rows), ""]
    lines += comparisons_at_stop(recursive[0], [m for m in models if m is not recursive[0]], splits, labels)
    lines += overthinking(recursive, splits, labels)
    lines += stop_by_size(recursive, splits)
    if plot_heatmaps(recursive, splits, heatmap):
        lines += ["Accuracy by size (rows) × test-time iterations (columns, log scale), mean over seeds; "
                  "the dots mark each size's mean stop.", "", f"![accuracy by size and iterations]({heatmap.name})", ""]
    return lines


def split_name_of(split: str) -> str:
    return {"test": "test (trained sizes)", "ood": "OOD"}.get(split, split)


def comparisons_at_stop(ref, others: list, splits: list[str], labels: dict) -> list[str]:
    """Paired over seeds: the reference's accuracy at the stop minus each other model's at its stop."""
    rows = []
    for o in others:
        for s in splits:
            d = paired_difference(ref.by_seed(s, stop_key(ref)), o.by_seed(s, stop_key(o)), names=(ref.id, o.id))
            if d["n"]:
                rows.append([f"`{ref.id}` − `{o.id}`", labels[s], d["n"], fmt(d, ci=True, signed=True), f"**{d['verdict']}**"])
    if not rows:
        return []
    return ["Paired differences at the stop (one-pass models: their one pass):", "",
            table(["difference", "size", "paired seeds", "mean ± sd [95% CI]", "verdict"], rows), ""]


def overthinking(models: list, splits: list[str], labels: dict) -> list[str]:
    """Trained sizes after 1, 2, 8, 32x the iterations a question needs; every size's best and last."""
    multiples = sorted({int(k) for m in models for _, s in m.evals("test") for k in s.get("accuracy_at_multiple", {})})
    rows = []
    for m in models:
        runs = [s for _, s in m.evals("test") if s.get("accuracy_at_multiple")]
        at = {k: describe(s["accuracy_at_multiple"][str(k) if str(k) in s["accuracy_at_multiple"] else k]
                          for s in runs) for k in multiples}
        capped = {k for s in runs for k, v in s.get("multiple_capped", {}).items() if v}
        best = max((d["mean"] for d in at.values() if d["mean"] is not None), default=None)
        last = at[multiples[-1]]["mean"] if multiples else None
        gap = None if best is None or last is None else best - last
        row = [m.name] + [fmt(at[k]) + (" (capped)" if str(k) in map(str, capped) else "") for k in multiples]
        row += ["—" if gap is None else f"{gap:.3f} ({'ok' if gap <= PLATEAU else 'falls'})"]
        for s in splits[1:]:
            curve = mean_curve(m, s)
            row += [f"{max(curve):.3f} / {curve[-1]:.3f}" if curve else "—"]
        rows.append(row)
    head = (["model"] + [f"trained sizes, {k}× needed" for k in multiples] + ["best − 32×"]
            + [f"{labels[s]}: best / last iteration" for s in splits[1:]])
    return ["Overthinking: accuracy on the trained sizes after 1, 2, 8 and 32 times the iterations a "
            "question needs (its T(n), or the trained count), and on the larger sizes the best accuracy "
            f"over iterations beside the last iteration's. *ok*: 32× is within {PLATEAU} of the best "
            "(a plateau, not a U).", "", table(head, rows), ""]


def mean_curve(m, split: str) -> list[float]:
    runs = [s["accuracy_by_step"] for _, s in m.evals(split) if s.get("accuracy_by_step")]
    n = min((len(r) for r in runs), default=0)
    return [sum(r[i] for r in runs) / len(runs) for i in range(n)]


def stop_by_size(models: list, splits: list[str]) -> list[str]:
    """Per size: accuracy at the stop and the iterations it spent (beside T(n) where there is one)."""
    sizes = sorted({d for m in models for s in splits for d in per_size(m, s, "settle_step_by_difficulty")})
    if not sizes:
        return []
    rows = []
    for m in models:
        acc = {d: v for s in splits for d, v in per_size(m, s, "accuracy_at_settle_by_difficulty").items()}
        its = {d: v for s in splits for d, v in per_size(m, s, "settle_step_by_difficulty").items()}
        rule = {d: v for s in splits for d, v in per_size(m, s, "rule_step_by_difficulty").items()}
        rows.append([m.name] + [(f"{acc[d]['mean']:.3f} @ {its[d]['mean']:.1f}"
                                 + (f" (T {rule[d]['mean']:.0f})" if d in rule else "")) if d in acc else "—"
                                for d in sizes])
    return ["The stop, size by size: accuracy @ mean iterations spent (T: the size rule's count).", "",
            table(["model"] + [f"n = {d}" for d in sizes], rows), ""]


def heat_rows(m, splits: list[str]) -> list[tuple[int, list[float]]]:
    """(size, mean accuracy after each iteration) for every size the model was tested at."""
    rows = []
    for s in splits:
        curves: dict[int, list] = {}
        for _, summary in m.evals(s):
            for d, curve in (summary.get("accuracy_by_difficulty_by_step") or {}).items():
                curves.setdefault(int(d), []).append(curve)
        for d, cs in sorted(curves.items()):
            n = min(len(c) for c in cs)
            rows.append((d, [sum(c[i] for c in cs) / len(cs) for i in range(n)]))
    return rows


def plot_heatmaps(models: list, splits: list[str], path: Path) -> bool:
    panels = [(m, heat_rows(m, splits)) for m in models]
    panels = [(m, rows) for m, rows in panels if rows]
    if not panels:
        return False
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 1.2 + 0.28 * max(len(r) for _, r in panels) * len(panels)),
                             squeeze=False)
    for ax, (m, rows) in zip(axes[:, 0], panels):
        width = max(len(c) for _, c in rows)
        grid = [c + [math.nan] * (width - len(c)) for _, c in rows]
        image = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest",
                          extent=(0.5, width + 0.5, len(rows) - 0.5, -0.5))
        ax.set_xscale("log", base=2)
        ax.set_yticks(range(len(rows)), [str(d) for d, _ in rows], fontsize=7)
        stops = {d: v["mean"] for s in splits for d, v in per_size(m, s, "settle_step_by_difficulty").items()}
        ax.plot([stops.get(d, math.nan) for d, _ in rows], range(len(rows)), "w.", markersize=4)
        ax.set_title(m.name, fontsize=9)
        ax.set_ylabel("size n")
        fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01)
    axes[-1, 0].set_xlabel("test-time iterations")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
