"""The learning-rate tuning table: each tuned model's grid, the dev accuracy of each point, the chosen lr."""
from __future__ import annotations

from ..report import table
from .cells import Model
from .view import TaskView


def section(t: TaskView) -> list[str]:
    if not t.tuning and t.info.get("tune_with"):
        return ["### Learning-rate tuning", "", f"Not tuned on this task: every tuned model trains at the choice "
                f"made for it on `{t.info['tune_with']}` (that task's table), the same reuse for every model.", ""]
    if not t.tuning:
        return []
    return ["### Learning-rate tuning", ""] + tuning_table(t.tuning, t.models) + horizon(t)


def horizon(t: TaskView) -> list[str]:
    """A line where the tuning runs trained fewer steps than the study seeds (`tune.steps`)."""
    tuned = {r.get("steps") for r in t.tuning} - {None}
    trained = {c.get("train_steps") for c in t.cells} - {None}
    if not tuned or not trained or max(tuned) >= min(trained):
        return []
    return [f"The tuning runs trained {', '.join(map(str, sorted(tuned)))} steps each, with their own lr "
            f"schedule, the same horizon for every model; the study seeds train "
            f"{', '.join(map(str, sorted(trained)))} at the chosen lr.", ""]


def tuning_table(records: list[dict], models: dict[str, Model]) -> list[str]:
    """Every tuned model's learning-rate grid, the dev accuracy of each point, and the chosen lr."""
    if any("chosen_weight_decay" in r for r in records):
        return wd_tuning_table(records, models)
    grid = sorted({p["lr"] for r in records for p in r["grid"]})
    rows = []
    for r in records:
        dev = {p["lr"]: p["best_dev"] for p in r["grid"]}
        chosen = r["chosen_lr"]
        name = models[r["model"]].name if r["model"] in models else r["model"]
        edge = chosen is not None and len(dev) > 1 and chosen in (min(dev), max(dev))
        rows.append([name, f"`{r['model']}`"] + [grid_point(dev, lr, chosen) for lr in grid]
                    + [f"**{chosen:g}**" + (" (edge)" if edge else "") if chosen is not None else "not yet"])
    seeds = ", ".join(str(s) for s in sorted({r["seed"] for r in records}))
    return [table(["model", "id"] + [f"lr {lr:g}" for lr in grid] + ["chosen lr"], rows), "",
            f"Best dev accuracy during training of one run per learning rate, on tuning seed {seeds} (not a "
            "study seed). Each model's study seeds train at its own chosen lr (bold): the highest dev "
            "accuracy, ties going to the smaller lr. —: not in that model's grid; *pending*: not trained yet; "
            "(edge): the chosen lr is the smallest or largest that model tried, so a better one may lie beyond.", ""]


def grid_point(dev: dict, lr: float, chosen: float | None) -> str:
    """One entry of the tuning table: the grid point's dev accuracy, bold where it was chosen."""
    if lr not in dev:
        return "—"
    if dev[lr] is None:
        return "*pending*"
    return f"**{dev[lr]:.3f}**" if lr == chosen else f"{dev[lr]:.3f}"




def wd_tuning_table(records: list[dict], models: dict[str, Model]) -> list[str]:
    """The same with a weight-decay grid: a row per (model, weight decay), the chosen pair in bold."""
    grid = sorted({p["lr"] for r in records for p in r["grid"]})
    rows = []
    for r in records:
        name = models[r["model"]].name if r["model"] in models else r["model"]
        lr, wd = r["chosen_lr"], r.get("chosen_weight_decay")
        for decay in sorted({p.get("weight_decay") for p in r["grid"]}, key=lambda d: (d is None, d or 0)):
            dev = {p["lr"]: p["best_dev"] for p in r["grid"] if p.get("weight_decay") == decay}
            mine = decay == wd
            edge = lr is not None and mine and len(dev) > 1 and lr in (min(dev), max(dev))
            rows.append([name, f"`{r['model']}`", "—" if decay is None else f"{decay:g}"]
                        + [grid_point(dev, x, lr if mine else None) for x in grid]
                        + [(f"**lr {lr:g}, wd {wd:g}**" + (" (edge)" if edge else "") if mine else "")
                           if lr is not None else "not yet"])
    seeds = ", ".join(str(s) for s in sorted({r["seed"] for r in records}))
    return [table(["model", "id", "weight decay"] + [f"lr {lr:g}" for lr in grid] + ["chosen"], rows), "",
            f"Best dev accuracy during training of one run per (learning rate, weight decay), on tuning seed "
            f"{seeds} (not a study seed). Each model's study seeds train at its own chosen pair (bold): the "
            "highest dev accuracy, ties going to the smaller lr, then the smaller weight decay. —: not in that "
            "model's grid; *pending*: not trained yet; (edge): the chosen lr is the smallest or largest that "
            "model tried at that weight decay, so a better one may lie beyond.", ""]
