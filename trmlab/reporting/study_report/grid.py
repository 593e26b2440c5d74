"""Grid puzzles (Sudoku, mazes): the headline in exact and cell accuracy, and both vs test-time steps."""
from __future__ import annotations

from pathlib import Path

from ..report import draw_depth_curves, human, plt, table
from ..stats import fmt
from .cells import Model, split_name
from .steps import at_step, by_step_runs, steps_panel, trained_step
from .view import TaskView

GRID_STEPS = (1, 2, 4, 8, 16)  # columns of a grid task's steps table
GRID_MEASURES = {"accuracy": "exact accuracy (whole board)", "cell_accuracy": "cell accuracy (share of cells)"}


def steps_section(t: TaskView) -> list[str]:
    if not t.grid:
        return []
    focus = [s for s in dict.fromkeys(("test", "ood", *t.extras)) if s in t.tested]
    return (["### Exact and cell accuracy vs test-time supervision steps", "",
             f"On {', '.join(split_name(s) for s in focus)}.", ""]
            + grid_steps(t.ms, focus, t.colors, t.task, t.fig("steps")))


def grid_headline(models: dict[str, Model], splits: list[str]) -> list[str]:
    rows = []
    for m in models.values():
        params, halt = m.mean_of("params"), m.mean_of("train_mean_halt_step")
        rows.append([m.name, m.lr, f"{params:,.0f}" if params is not None else "—", f"{m.mean_of('wall_s') or 0:.0f}",
                     human(m.mean_of("train_flops") or 0)]
                    + [fmt(m.desc(s, key)) for s in splits for key in ("accuracy", "cell_accuracy", "fill_accuracy")]
                    + [f"{halt:.2f}" if halt is not None else "—", len(m.cells)])
    headers = (["model", "lr", "params (counted)", "train wall s", "train FLOPs"]
               + [f"{split_name(s)} {what}" for s in splits for what in ("exact", "cell acc", "fill acc")]
               + ["mean halt step (training)", "seeds"])
    return [table(headers, rows), "",
            "*exact*: the whole board right; *cell acc* (cell accuracy): the share of cells right; *fill acc*: "
            "the share right of the cells the answer changes (Sudoku's blanks, the maze's path; copying the "
            "board scores 0 there). All at each "
            "model's trained depth (recursive models: after their trained N_sup supervision steps), mean ± sd "
            "over seeds. lr: the learning rate the model trained at. Params, FLOPs, wall time and the training "
            "halting step (mean supervision steps a training row ran): mean over seeds.", ""]


def grid_steps_table(models: list[Model], splits: list[str]) -> list[str]:
    longest = max((len(r) for m in models for s in splits for r in by_step_runs(m, s)), default=1)
    steps = [k for k in GRID_STEPS if k <= longest]
    rows = []
    for m in models:
        for s in splits:
            exact, cells = by_step_runs(m, s), by_step_runs(m, s, "cell_accuracy")
            if exact:
                rows.append([m.name, split_name(s), trained_step(m, s) or "—"]
                            + [f"{fmt(at_step(exact, k))} / {fmt(at_step(cells, k))}" for k in steps])
    if not rows:
        return []
    return [table(["model", "split", "trained N_sup"] + [f"{k} step{'s' * (k > 1)}" for k in steps], rows), "",
            "Each entry: exact accuracy / cell accuracy after that many test-time supervision steps (mean ± sd "
            "over seeds); one-pass models have step 1 only.", ""]


def plot_grid_steps(panels: dict[str, dict[str, dict]], path: Path, title: str) -> Path:
    """`panels`: measure -> split name -> `draw_depth_curves` keywords; one row per measure, one
    column per split, one legend below."""
    rows, cols = len(panels), max(len(p) for p in panels.values())
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), dpi=120, squeeze=False, sharey=True)
    handles = {}
    for ax_row, (key, row) in zip(axes, panels.items()):
        for ax, (name, kw) in zip(ax_row, row.items()):
            kw = dict(kw)
            draw_depth_curves(ax, kw.pop("curves"), kw.pop("flat"), **kw)
            ax.set_title(name, fontsize=10)
            ax.set_ylabel(GRID_MEASURES[key] if ax is ax_row[0] else "")
            handles.update({lab: h for h, lab in zip(*ax.get_legend_handles_labels()) if lab not in handles})
        for ax in ax_row[len(row):]:
            ax.axis("off")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.legend(list(handles.values()), list(handles), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2,
               fontsize=7, frameon=False)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def grid_steps(models: list[Model], splits: list[str], colors: dict, task: str, path: Path) -> list[str]:
    """Exact and cell accuracy vs test-time steps: table, and a plot with a row per measure."""
    recursive, flat = [m for m in models if m.recursive], [m for m in models if not m.recursive]
    panels = {key: {split_name(s): steps_panel(recursive, flat, s, None, colors, key) for s in splits}
              for key in GRID_MEASURES}
    panels = {key: {name: p for name, p in row.items() if p} for key, row in panels.items()}
    panels = {key: row for key, row in panels.items() if row}
    lines = grid_steps_table(models, splits)
    if panels:
        plot_grid_steps(panels, path, f"{task}: accuracy vs test-time supervision steps\n"
                        "(mean ± sd over seeds; ★ = trained N_sup; dashed = one-pass models)")
        lines += [f"![exact and cell accuracy vs test-time steps]({path.name})", ""]
    return lines


