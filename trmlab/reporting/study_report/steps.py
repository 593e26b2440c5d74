"""Accuracy (or another per-step measure) vs test-time supervision steps: tables, curves and panels."""
from __future__ import annotations

from ..report import plot_depth_panels, table
from ..stats import describe, fmt
from .cells import Model, split_name
from .view import TaskView

STEP_GRID = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def section(t: TaskView) -> list[str]:
    """Text tasks with recursive models (grid tasks have their own steps section)."""
    if t.grid or not t.recursive:
        return []
    return (["### Accuracy vs test-time supervision steps", ""] + steps_table(t.recursive, t.splits, t.eval_steps)
            + steps_figure(t, t.recursive, [m for m in t.ms if not m.recursive], "steps", "accuracy vs test-time steps",
                           f"{t.task}: accuracy vs test-time supervision steps\n"
                           "(mean ± sd; ★ = trained N_sup; dashed = one-pass models)"))


def steps_figure(t: TaskView, curve_models: list[Model], flat_models: list[Model], kind: str, alt: str,
                 title: str) -> list[str]:
    """The accuracy-vs-steps panels on test and OOD, drawn to the task's `kind` figure; [] when no model
    has a curve."""
    panels = steps_panels(curve_models, flat_models, t.id_ood, t.chance, t.colors)
    if not panels:
        return []
    plot_depth_panels(panels, t.fig(kind), title=title)
    return [f"![{alt}]({t.fig(kind).name})", ""]


def step_columns(eval_steps: int) -> list[int]:
    steps = [s for s in STEP_GRID if s <= eval_steps]
    return steps + ([eval_steps] if eval_steps not in steps else [])


def by_step_runs(m: Model, split: str, key: str = "accuracy") -> list[list[float]]:
    """Each seed's summary[key + "_by_step"] on `split` (seeds without it left out)."""
    return [s[f"{key}_by_step"] for _, s in m.evals(split) if s.get(f"{key}_by_step")]


def at_step(runs: list[list[float]], k: int) -> dict:
    """describe() over seeds of the value after step k (seeds that ran fewer steps left out)."""
    return describe(r[k - 1] for r in runs if len(r) >= k)


def curve(m: Model, split: str, key: str = "accuracy") -> tuple[list[float], list[float]]:
    """Mean and sd over seeds of summary[key] after each test-time step (up to the shortest seed)."""
    runs = by_step_runs(m, split, key)
    if not runs:
        return [], []
    descs = [describe(r[i] for r in runs) for i in range(min(len(r) for r in runs))]
    return [d["mean"] for d in descs], [d["sd"] for d in descs]


def trained_step(m: Model, split: str) -> int | None:
    ev = m.evals(split)
    return ev[0][1].get("step") if ev else None


def steps_table(models: list[Model], splits: list[str], eval_steps: int, key: str = "accuracy") -> list[str]:
    """`key` after test-time steps 1, 2, 4, ...; for accuracy also the best mean and its step."""
    steps = step_columns(eval_steps)
    rows = []
    for m in models:
        for s in splits:
            runs = by_step_runs(m, s, key)
            if not runs:
                continue
            mean, _ = curve(m, s, key)
            best = max(range(len(mean)), key=lambda i: mean[i])
            rows.append([m.name, split_name(s), trained_step(m, s) or "—"]
                        + [fmt(at_step(runs, k)) for k in steps]
                        + ([f"{mean[best]:.3f} @ {best + 1}"] if key == "accuracy" else []))
    if not rows:
        return []
    return [table(["model", "split", "trained N_sup"] + [f"{k} step{'s' * (k > 1)}" for k in steps]
                  + (["best mean (step)"] if key == "accuracy" else []), rows), ""]


def steps_panel(curve_models: list[Model], flat_models: list[Model], split: str, chance: float | None,
                colors: dict, key: str = "accuracy") -> dict | None:
    """One `plot_depth_panels` panel of summary[key]: recursive models as curves ± sd, one-pass models
    as flat lines; None when no model has a curve."""
    curves, bands, marks, flat, flat_bands = {}, {}, {}, {}, {}
    for m in curve_models:
        mean, sd = curve(m, split, key)
        if mean:
            curves[m.name], bands[m.name], marks[m.name] = mean, sd, trained_step(m, split)
    for m in flat_models:
        d = m.desc(split, key)
        if d["mean"] is not None:
            flat[m.name], flat_bands[m.name] = d["mean"], d["sd"]
    if not curves:
        return None
    return dict(curves=curves, bands=bands, marks=marks, flat=flat, flat_bands=flat_bands, chance=chance,
                colors=colors, log_x=True)


def steps_panels(curve_models: list[Model], flat_models: list[Model], splits: list[str], chance: dict,
                 colors: dict) -> dict[str, dict]:
    """`plot_depth_panels` input: one panel per split, recursive models as curves ± sd."""
    panels = {split_name(s): steps_panel(curve_models, flat_models, s, chance.get(s), colors) for s in splits}
    return {name: p for name, p in panels.items() if p}


