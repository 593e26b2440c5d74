"""The headline table of a task: every model's size, cost and accuracy at its trained depth."""
from __future__ import annotations

from ..report import human, table
from ..stats import fmt
from .cells import Model, split_name
from .grid import grid_headline
from .view import TaskView


def section(t: TaskView) -> list[str]:
    return ["### Headline", ""] + (grid_headline(t.models, t.tested) if t.grid else
                                   headline(t.models, t.splits, t.chance))


def headline(models: dict[str, Model], splits: list[str], chance: dict) -> list[str]:
    rows = []
    for m in models.values():
        params = m.mean_of("params")
        rows.append([m.name, f"`{m.id}`", m.lr, f"{params:,.0f}" if params is not None else "—",
                     human(m.mean_of("train_flops_per_example") or 0), human(m.mean_of("train_flops") or 0),
                     f"{m.mean_of('wall_s') or 0:.0f}"]
                    + [fmt(m.desc(s), ci=True) for s in splits] + [len(m.cells)])
    headers = (["model", "id", "lr", "params (counted)", "train FLOPs / example", "train FLOPs total", "train wall s"]
               + [f"{split_name(s)} acc" for s in splits] + ["seeds"])
    chance_text = ", ".join(f"{split_name(s)} {v:.3f}" for s, v in chance.items() if v is not None)
    return [table(headers, rows), "",
            "Accuracy: exact match at each model's trained depth (recursive models: after their trained "
            "N_sup supervision steps), mean ± sd over seeds [95% t-interval of the mean]. lr: the learning rate "
            "the model trained at. Params, FLOPs and wall time: mean over seeds.",
            f"Chance (always the most common training answer): {chance_text or 'not recorded'}.", ""]


