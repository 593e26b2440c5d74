"""The report of `trmlab study`: results over models × tasks × seeds -> report.md + PNG plots.

Input is the study's `results` dict (also saved as results.json): run facts at the top and one
entry per (task, model, seed) in `results["cells"]`, each with the evaluation summaries
(`EvalResult.summary`) of its dev / test / OOD splits. Every number in the report is a mean over
seeds with its sample sd and a 95% t-interval (`stats.describe`); comparisons pair seeds
(`stats.paired_difference`) and say "within noise" when the interval of the difference holds 0.
A section whose models are absent (no "depth" cells, no OOD split, one seed...) is left out or
shown without intervals, never faked.

Grid puzzles (Sudoku, mazes: cells whose `config.answer_len` is 0, answers read in place) get
their own headline (exact accuracy = whole board right, and cell accuracy = share of cells right,
on test, OOD and every extra held-out set of the task's `eval_sets`), exact and cell accuracy vs
test-time supervision steps, and pictures of a few test boards step by step (`boards` of a cell:
puzzle, target and the model's board after steps 1, 2, 4, ..., wrong cells in red).

A study with a learning-rate grid adds `results["tuning"]`: per (task, model) the tuning seed, each
grid lr's best dev accuracy and the chosen lr, shown as a "Learning-rate tuning" table per task.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.colors import to_rgb

from .extrapolation import extrapolation_section
from .report import (draw_depth_curves, human, model_colors, plot_accuracy_vs_cost, plot_by_difficulty,
                     plot_depth_panels, plot_errorbar_lines, plt, table)
from .stats import describe, fmt, fmt_ci, paired_difference, t95

SPLITS = ("dev", "test", "ood")
SPLIT_NAME = {"dev": "dev (ID)", "test": "test (ID)", "ood": "OOD"}
STEP_GRID = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
GRID_STEPS = (1, 2, 4, 8, 16)  # columns of a grid task's steps table
BOARD_STEPS = (1, 2, 4, 16)  # steps drawn in the board pictures (and the last one recorded)
GRID_MEASURES = {"accuracy": "exact accuracy (whole board)", "cell_accuracy": "cell accuracy (share of cells)"}
MAZE_COLORS = {"#": "#343a40", " ": "#ffffff", "S": "#2f9e44", "G": "#e8590c", "o": "#4dabf7"}
WRONG = "#ff8787"


# ---------------------------------------------------------------------------------------------
# Grouping cells into models


@dataclass
class Model:
    """All seeds of one model on one task."""
    id: str
    name: str  # display name: the cell's label (made unique within the task)
    cells: list[dict] = field(default_factory=list)  # sorted by seed

    @property
    def first(self) -> dict:
        return self.cells[0]

    @property
    def groups(self) -> list[str]:
        return groups_of(self.first)

    @property
    def recursive(self) -> bool:
        return bool(self.first.get("recursive"))

    def evals(self, split: str) -> list[tuple[object, dict]]:
        """(seed, summary) of every seed that evaluated `split`."""
        return [(c["seed"], c["eval"][split]) for c in self.cells if split in c.get("eval", {})]

    def by_seed(self, split: str, key: str = "accuracy") -> dict:
        """seed -> summary[key] on `split` (seeds without it are left out)."""
        return {seed: s[key] for seed, s in self.evals(split) if s.get(key) is not None}

    def desc(self, split: str, key: str = "accuracy") -> dict:
        return describe(self.by_seed(split, key).values())

    @property
    def lr(self) -> str:
        """The learning rate its seeds trained at ("—" when the cells do not record it)."""
        lrs = {((c.get("run_config") or {}).get("train") or {}).get("lr") for c in self.cells} - {None}
        return ", ".join(f"{lr:g}" for lr in sorted(lrs)) or "—"

    def mean_of(self, key: str):
        values = [c.get(key) for c in self.cells if c.get(key) is not None]
        return sum(values) / len(values) if values else None


def groups_of(cell: dict) -> list[str]:
    """The comparisons a cell belongs to: its "groups" list, else its "group", else main."""
    return list(cell.get("groups") or [cell.get("group") or "main"])


def models_of(cells: list[dict]) -> dict[str, Model]:
    """model id -> Model, in order of first appearance; seeds sorted."""
    models: dict[str, Model] = {}
    for c in cells:
        models.setdefault(c["model"], Model(c["model"], c.get("label") or c["model"])).cells.append(c)
    names = [m.name for m in models.values()]
    for m in models.values():
        m.cells.sort(key=lambda c: (str(type(c["seed"])), c["seed"]))
        if names.count(m.name) > 1:
            m.name = f"{m.name} [{m.id}]"
    return models


def reference_model(models: dict[str, Model]) -> Model | None:
    """The recursive reasoner every other model is compared with: the model with id "reasoner",
    else the first reasoner in the main group, else the first reasoner, else the first HRM."""
    if "reasoner" in models:
        return models["reasoner"]
    for kind in ("reasoner", "hrm"):
        found = [m for m in models.values() if m.first.get("kind") == kind]
        main = [m for m in found if "main" in m.groups]
        if found:
            return (main or found)[0]
    return None


def in_group(models: dict[str, Model], group: str) -> dict[str, Model]:
    return {k: m for k, m in models.items() if group in m.groups}


def int_keys(d: dict) -> dict[int, float]:
    """JSON turns int keys into str; undo it."""
    return {int(k): v for k, v in (d or {}).items()}


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def split_name(split: str) -> str:
    """Display name of a split; an extra evaluation set goes by its own name."""
    return SPLIT_NAME.get(split, split)


def eval_splits(cells: list[dict]) -> list[str]:
    """dev, test, ood (those present), then the extra evaluation sets in order of appearance."""
    names = list(dict.fromkeys(s for c in cells for s in c.get("eval", {})))
    return [s for s in SPLITS if s in names] + [s for s in names if s not in SPLITS]


def is_grid(cells: list[dict]) -> bool:
    """Grid puzzles: the answer is read in place (no answer slots) at the cells of a board (a cell's
    "grid"; older cells, without it, by their answer field alone)."""
    return bool(cells) and all(c.get("grid", (c.get("config") or {}).get("answer_len") == 0) for c in cells)


# ---------------------------------------------------------------------------------------------
# Sections. Each returns markdown lines (and writes its plots into `out`).


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


def tuning_table(records: list[dict], models: dict[str, Model]) -> list[str]:
    """Every tuned model's learning-rate grid, the dev accuracy of each point, and the chosen lr."""
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


def adaptive(models: list[Model], splits: list[str], eval_steps: int) -> list[str]:
    rows = []
    for m in models:
        train_halt = m.mean_of("train_mean_halt_step")
        for s in splits:
            if not m.evals(s):
                continue
            last = describe(e["accuracy_by_step"][-1] for _, e in m.evals(s) if e.get("accuracy_by_step"))
            rows.append([m.name, split_name(s), f"{train_halt:.2f}" if train_halt is not None else "—",
                         fmt(m.desc(s, "mean_halt_step"), 2), fmt(m.desc(s, "never_halted")),
                         fmt(m.desc(s, "accuracy_at_halt")), fmt(m.desc(s, "mean_min_entropy_step"), 2),
                         fmt(m.desc(s, "accuracy_at_min_entropy")), fmt(m.desc(s)), fmt(last)])
    if not rows:
        return []
    return [table(["model", "split", "mean halt step (training)", "mean halt step", "never halted",
                   "acc stopping at halt", "min-entropy step", "acc at min-entropy step",
                   "acc at trained N_sup", f"acc after {eval_steps} steps"], rows), "",
            f"Halting step: the first test-time step whose halting probability exceeds 0.5 (capped at "
            f"{eval_steps}; *never halted* counts the examples that never crossed it). Min-entropy step: "
            f"the step whose answer distribution is most confident (Fan et al.'s stopping rule), per "
            f"example; '—' for results from before it was recorded.", ""]


# ---------------------------------------------------------------------------------------------
# Grid puzzles (Sudoku, mazes): exact and cell accuracy, and the boards themselves


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


def hardest_set(models: list[Model], names: list[str]) -> str | None:
    """The evaluation set with the lowest cell accuracy, averaged over models."""
    def level(s):
        means = [m.desc(s, "cell_accuracy")["mean"] for m in models]
        means = [x for x in means if x is not None]
        return sum(means) / len(means) if means else math.inf
    return min(names, key=level, default=None)


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


def board_shape(n: int) -> tuple[int, int]:
    """(rows, columns) of a board of n cells: square when n is a square, else one row."""
    side = math.isqrt(n)
    return (side, side) if side * side == n else (1, n)


def board_steps(board: dict) -> list[str]:
    """The recorded steps to draw: those of BOARD_STEPS, and the last one recorded."""
    recorded = sorted(board["by_step"], key=int)
    return [s for s in recorded if int(s) in BOARD_STEPS or s == recorded[-1]]


def draw_board(ax, board: str, question: str, target: str | None, title: str) -> None:
    """One board on `ax`. Mazes (boards with walls '#'): one colour per symbol; Sudoku and other digit
    boards: digits, givens black and filled-in cells blue, '0' blank. With a `target`, cells that differ
    from it are red."""
    rows, cols = board_shape(len(board))
    maze = "#" in question
    wrong = [target is not None and ch != target[i] for i, ch in enumerate(board)]
    face = [WRONG if bad else MAZE_COLORS.get(ch, "#adb5bd") if maze else "#ffffff" for ch, bad in zip(board, wrong)]
    ax.imshow([[to_rgb(face[r * cols + c]) for c in range(cols)] for r in range(rows)], interpolation="nearest")
    if not maze:
        for i, ch in enumerate(board):
            if ch != "0":
                ax.text(i % cols, i // cols, ch, ha="center", va="center", fontsize=max(4, min(14, 100 / cols)),
                        color="black" if question[i] != "0" else "#1c7ed6")
        box = math.isqrt(cols)
        for k in range(cols + 1):  # thin cell lines, thick box lines
            width = 1.2 if box * box == cols and k % box == 0 else 0.3
            ax.axhline(k - 0.5, color="black", linewidth=width)
            ax.axvline(k - 0.5, color="black", linewidth=width)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=8)


def plot_boards(boards: list[dict], path: Path, title: str) -> Path:
    """One row per board: puzzle, target and the model's board after each drawn step."""
    steps = board_steps(boards[0])
    fig, axes = plt.subplots(len(boards), len(steps) + 2, figsize=(1.9 * (len(steps) + 2), 2.4 * len(boards)),
                             dpi=120, squeeze=False)
    for row, b in zip(axes, boards):
        q, a = b["question"], b["answer"]
        draw_board(row[0], q, q, None, "puzzle")
        draw_board(row[1], a, q, None, "target")
        for ax, s in zip(row[2:], steps):
            pred = b["by_step"].get(s, "")
            if len(pred) != len(a):
                ax.axis("off")
                continue
            n_wrong = sum(x != y for x, y in zip(pred, a))
            draw_board(ax, pred, q, a, f"step {s}: {n_wrong} wrong")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def board_text(board: dict) -> list[str]:
    """A markdown code block: puzzle, target, the last recorded step and where it is wrong ('x')."""
    q, a = board["question"], board["answer"]
    last = board_steps(board)[-1]
    pred = board["by_step"][last]
    marks = "".join("." if x == y else "x" for x, y in zip(pred, a))
    rows, cols = board_shape(len(q))
    width = max(cols, 12)
    parts = [("puzzle", q), ("target", a), (f"step {last}", pred), ("wrong (x)", marks)]
    lines = ["  ".join(name.ljust(width) for name, _ in parts).rstrip()]
    lines += ["  ".join(text[r * cols:(r + 1) * cols].ljust(width) for _, text in parts).rstrip()
              for r in range(rows)]
    return ["```text"] + lines + ["```", ""]


def boards_section(models: list[Model], ref: Model | None, task: str, out: Path, k: int = 2) -> list[str]:
    """Pictures of the first k test boards of the reference model and of the strongest other model
    (by test cell accuracy), step by step; a text rendering of the reference model's first board."""
    with_boards = [m for m in models if m.first.get("boards")]
    if not with_boards:
        return []
    first = ref if ref in with_boards else next((m for m in with_boards if m.recursive), with_boards[0])
    others = [m for m in with_boards if m is not first]
    shown = [first] + ([max(others, key=lambda m: m.desc("test", "cell_accuracy")["mean"] or 0.0)] if others else [])
    lines = [f"The first {k} test puzzles, the target and the model's board after some test-time supervision "
             "steps (seed " f"{first.first['seed']}). Red: a wrong cell. Sudoku: givens black, filled-in digits "
             "blue; mazes: walls dark, start green, goal orange, path blue.", ""]
    for m in shown:
        path = out / f"{slug(task)}_boards_{slug(m.id)}.png"
        plot_boards(m.first["boards"][:k], path, f"{task}: {m.name} (seed {m.first['seed']})")
        lines += [f"**{m.name}**", "", f"![{m.name} boards]({path.name})", ""]
    lines += [f"{first.name}, first test puzzle as text:", ""] + board_text(first.first["boards"][0])
    return lines


# ---------------------------------------------------------------------------------------------


def write_study_report(results: dict, out: Path) -> Path:
    """Write out/report.md and its PNG plots from a study's `results`; returns the report's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cells = results.get("cells", [])
    eval_steps = results.get("eval_steps") or max(
        (len(e.get("accuracy_by_step") or [1]) for c in cells for e in c.get("eval", {}).values()), default=1)
    seeds_per_model = max((sum(1 for c in cells if (c["task"], c["model"]) == key)
                           for key in {(c["task"], c["model"]) for c in cells}), default=1)
    width = (f"With {seeds_per_model} seeds that interval is ±{t95(seeds_per_model - 1) / seeds_per_model ** 0.5:.1f} "
             "sd wide, so only large gaps are resolved. " if seeds_per_model > 1 else
             "With one seed there are no intervals and no comparison can be called. ")
    rivals = "vs a same-size transformer" if any(c.get("kind") == "transformer" for c in cells) else "compared"
    lines = [f"# trmlab study: {results.get('name', '')}", "",
             f"Recursive reasoning models {rivals}, over "
             f"{len({c['task'] for c in cells})} task(s), {len({c['model'] for c in cells})} model(s) and "
             f"{len({c['seed'] for c in cells})} seed(s): {len(cells)} trained models.", "",
             "How to read: every number is a mean over seeds ± its sample standard deviation; brackets give the "
             "95% Student-t interval of the mean (none with one seed). " + width + "Comparisons are paired over "
             "seeds and labelled **within noise** whenever their interval contains 0.", ""]
    tasks = list(dict.fromkeys(c["task"] for c in cells))
    tuning = results.get("tuning") or []
    for task in tasks:
        lines += task_section(task, [c for c in cells if c["task"] == task], results.get("tasks", {}).get(task, {}),
                              eval_steps, out, [r for r in tuning if r["task"] == task])
    lines += reproduce(results, cells)
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def task_section(task: str, cells: list[dict], info: dict, eval_steps: int, out: Path,
                 tuning: list[dict] = ()) -> list[str]:
    models = models_of(cells)
    ms = list(models.values())
    grid = is_grid(cells)
    splits = eval_splits(cells)
    tested = [s for s in splits if s != "dev"]  # comparisons and ID/OOD views (and extra evaluation sets)
    extras = [s for s in tested if s not in SPLITS]
    hardest = hardest_set(ms, extras or [s for s in tested if s == "ood"]) if grid else None
    cost_splits = [s for s in tested if s in ("test", "ood", hardest)]  # at most 3 markers in the cost plot
    # The accuracy-vs-steps panels: test and OOD carry the whole curve (dev only picks checkpoints).
    id_ood = [s for s in ("test", "ood") if s in splits] or splits[:1]
    chance = info.get("majority_baseline") or {}
    train_d, ood_d = info.get("train_difficulty"), info.get("ood_difficulty")
    train_max = max(train_d) if train_d else None
    colors = model_colors([m.name for m in ms])
    recursive = [m for m in ms if m.recursive]
    main = list(in_group(models, "main").values()) or ms
    fig = lambda kind: out / f"{slug(task)}_{kind}.png"  # noqa: E731

    lines = [f"## Task `{task}`", ""]
    desc = []
    if train_d:
        desc.append(f"trained on difficulty {train_d[0]}–{train_d[-1]}")
    if ood_d:
        desc.append(f"OOD = difficulty {ood_d[0]}–{ood_d[-1]}")
    if info.get("knobs"):
        desc.append(f"knobs `{json.dumps(info['knobs'])}`")
    if desc:
        lines += ["; ".join(desc) + ".", ""]
    lines += ["### Headline", ""] + (grid_headline(models, tested) if grid else headline(models, splits, chance))
    if tuning:
        lines += ["### Learning-rate tuning", ""] + tuning_table(tuning, models)
    lines += extrapolation_section(ms, tested, info, out / f"{slug(task)}_extrapolation.png")

    ref = reference_model(models)
    others = [m for m in ms if ref is not None and m is not ref]
    if ref and others and tested:
        block = comparisons(ref, others, tested, note=not grid)
        if block and grid:
            block = (["Exact accuracy:", ""] + block + ["Cell accuracy:", ""]
                     + comparisons(ref, others, tested, "cell_accuracy"))
        if block:
            lines += [f"### `{ref.id}` vs every other model (paired over seeds)", ""] + block

    if grid:
        focus = [s for s in dict.fromkeys(("test", "ood", *extras)) if s in tested]
        lines += ["### Exact and cell accuracy vs test-time supervision steps", "",
                  f"On {', '.join(split_name(s) for s in focus)}.", ""]
        lines += grid_steps(ms, focus, colors, task, fig("steps"))
        block = boards_section(ms, ref, task, out)
        if block:
            lines += ["### Boards, step by step", ""] + block
    elif recursive:
        lines += ["### Accuracy vs test-time supervision steps", ""] + steps_table(recursive, splits, eval_steps)
        panels = steps_panels(recursive, [m for m in ms if not m.recursive], id_ood, chance, colors)
        if panels:
            plot_depth_panels(panels, fig("steps"), title=f"{task}: accuracy vs test-time supervision steps\n"
                              "(mean ± sd; ★ = trained N_sup; dashed = one-pass models)")
            lines += [f"![accuracy vs test-time steps]({fig('steps').name})", ""]

    schemes = [m for m in in_group(models, "schemes").values() if m.recursive]
    if schemes:
        lines += ["### Recursion schemes: distance from a fixed point", "",
                  "Mean state residual |f(s) − s| / |f(s)| of each test-time iteration (supervision step), "
                  "over the (y, z) state at the real positions: near 0 once the iteration has reached a "
                  "fixed point; a DEQ's solver stops when it falls below the tolerance.", ""]
        lines += steps_table(schemes, [s for s in ("test", "ood") if s in splits], eval_steps, "residual")

    # Each comparison needs two models; a study without the variants leaves it out.
    depth = [m for m in in_group(models, "depth").values() if m.recursive]
    if len(depth) > 1:
        block = depth_axis(depth, tested, chance, fig("depth"))
        if block:
            lines += ["### Depth axis (b): trained recursion (n, T)", ""] + block

    halting = [m for m in in_group(models, "halting").values() if m.recursive]
    if len(halting) > 1:
        lines += ["### Depth axis (c): halting / number of supervision steps in training", "",
                  "A fixed step count in training is known to give U-shaped accuracy-vs-test-depth curves; "
                  "compare the peak with the last column.", ""]
        lines += steps_table(halting, splits, eval_steps)
        panels = steps_panels(halting, [], id_ood, chance, colors)
        if panels:
            plot_depth_panels(panels, fig("halting"), title=f"{task}: training-time halting variants\n"
                              "(mean ± sd; ★ = trained N_sup)")
            lines += [f"![halting variants]({fig('halting').name})", ""]

    if recursive:
        block = adaptive(recursive, tested, eval_steps)
        if block:
            lines += ["### Adaptive compute", ""] + block
            lines += ["Mean halting step by difficulty (test + OOD; ± sd over seeds) — does the model think "
                      "longer on harder problems?", ""]
            lines += by_difficulty(recursive, "halt_step_by_difficulty", train_max, fig("halt_by_difficulty"),
                                   "Mean halting step by difficulty", "mean halting step (± sd over seeds)", colors)

    feedback = list(in_group(models, "feedback").values())
    if len(feedback) > 1:
        lines += ["### Feedback ablation: continuous y vs decoded answer tokens", "",
                  table(["model", "id"] + [f"{split_name(s)} acc" for s in splits] + ["seeds"],
                        [[m.name, f"`{m.id}`"] + [fmt(m.desc(s), ci=True) for s in splits] + [len(m.cells)]
                         for m in feedback]), ""]
        if tested:
            lines += comparisons(feedback[0], feedback[1:], tested)

    block = by_difficulty(ms, "accuracy_by_difficulty", train_max, fig("by_difficulty"),
                          "Accuracy by difficulty (test + OOD)", "exact-match accuracy (± sd over seeds)",
                          colors, plot_models=main)
    if block:
        lines += ["### Generalisation: accuracy by difficulty", "",
                  "Test (trained difficulties) and OOD (harder) merged, at each model's trained depth; "
                  "columns marked OOD are harder than anything in training."
                  + (" The plot shows the main comparison's models; the table every model." if main != ms else ""),
                  ""] + block

    points = {m.name: {"params": m.mean_of("params"), "flops": m.mean_of("train_flops"),
                       "splits": {split_name(s): (m.desc(s)["mean"], m.desc(s)["sd"]) for s in cost_splits
                                  if m.desc(s)["mean"] is not None}} for m in ms}
    if any(p["splits"] for p in points.values()):
        plot_accuracy_vs_cost(points, fig("cost"), colors=colors,
                              title=f"{task}: accuracy vs size and training compute\n(mean ± sd over seeds)")
        lines += ["### Accuracy vs parameters and training FLOPs", "",
                  "Iso-parameter view (left) and iso-compute view (right); one point per model and split.", "",
                  f"![accuracy vs parameters and FLOPs]({fig('cost').name})", ""]
    return lines


def reproduce(results: dict, cells: list[dict]) -> list[str]:
    wall = results.get("wall_s")
    lines = ["## Reproduce", "", "```bash", results.get("command", ""), "```", "",
             f"- environment: {results.get('environment', 'not recorded')}",
             f"- study wall time: {wall:.0f} s ({wall / 60:.1f} min) for this invocation, "
             f"{results.get('jobs', 1)} cell(s) at a time" if wall is not None else "- study wall time: —",
             f"- compute: {results.get('compute_s', 0) / 60:.1f} min of training and evaluation, summed over cells"
             + (f" ({results['tuning_compute_s'] / 60:.1f} min of it learning-rate tuning)"
                if results.get("tuning_compute_s") else ""),
             f"- test-time supervision steps evaluated: {results.get('eval_steps', '—')}", ""]
    splits = eval_splits(cells)
    rows = [[c["task"], f"`{c['model']}`", c["seed"], f"{c.get('params') or 0:,}", c.get("train_steps", "—"),
             c.get("best_checkpoint_step", "—"), f"{c.get('wall_s') or 0:.0f}"]
            + [f"{c['eval'][s]['accuracy']:.3f}" if s in c.get("eval", {}) else "—" for s in splits]
            for c in cells]
    lines += ["Every trained model (one row per seed):", "",
              table(["task", "model", "seed", "params", "train steps", "best checkpoint", "wall s"]
                    + [split_name(s) for s in splits], rows), "",
              "Study config:", "", "```json", json.dumps(results.get("study", {}), indent=2, default=str), "```", ""]
    return lines
