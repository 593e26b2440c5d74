"""Depth axis (b): accuracy vs trained recursion (n, T), on the axis of effective depth per step."""
from __future__ import annotations

from pathlib import Path

from ..report import plot_errorbar_lines, table
from ..stats import fmt
from .cells import Model, in_group, split_name
from .view import TaskView


def section(t: TaskView) -> list[str]:
    """A comparison needs two models; a study without the depth variants leaves it out."""
    depth = [m for m in in_group(t.models, "depth").values() if m.recursive]
    if len(depth) <= 1:
        return []
    block = depth_axis(depth, t.tested, t.chance, t.fig("depth"))
    return ["### Depth axis (b): trained recursion (n, T)", ""] + block if block else []


def depth_axis(models: list[Model], splits: list[str], chance: dict, path: Path) -> list[str]:
    """(b) accuracy vs trained recursion (n, T), on the axis of effective depth per supervision step."""
    models = [m for m in models if m.first.get("n_latent") is not None and m.first.get("n_cycles") is not None]
    if not models:
        return []
    layers = [(m.first.get("config") or {}).get("n_layers") or m.first.get("n_layers") for m in models]
    calls = [m.first["n_cycles"] * (m.first["n_latent"] + 1) for m in models]
    if all(layers):
        xs, xlabel = [c * l for c, l in zip(calls, layers)], "layer applications per supervision step = T·(n+1)·layers"
    else:
        xs, xlabel = calls, "network calls per supervision step = T·(n+1)"
    order = sorted(range(len(models)), key=lambda i: xs[i])
    rows = [[models[i].name, models[i].first["n_latent"], models[i].first["n_cycles"],
             models[i].first.get("n_sup") or "—", layers[i] or "—", xs[i]]
            + [fmt(models[i].desc(s), ci=True) for s in splits] for i in order]
    lines = [table(["model", "n", "T", "N_sup", "layers", "depth / step"] + [f"{split_name(s)} acc" for s in splits],
                   rows), "", f"Depth axis: {xlabel}.", ""]
    series, point_labels = {}, []
    for s in splits:
        pts = [(xs[i], models[i].desc(s), models[i]) for i in order if models[i].desc(s)["mean"] is not None]
        if pts:
            series[split_name(s)] = ([p[0] for p in pts], [p[1]["mean"] for p in pts], [p[1]["sd"] for p in pts])
            if not point_labels:
                point_labels = [f"n={p[2].first['n_latent']}, T={p[2].first['n_cycles']}" for p in pts]
    if series:
        plot_errorbar_lines(series, path, xlabel=xlabel, log_x=True, point_labels=point_labels,
                            title="Accuracy vs trained recursion depth (mean ± sd over seeds)",
                            chance={f"chance ({split_name(s)})": chance[s] for s in splits
                                    if chance.get(s) is not None})
        lines += [f"![accuracy vs trained depth]({path.name})", ""]
    return lines


