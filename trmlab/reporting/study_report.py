"""The report of `trmlab study`: results over models × tasks × seeds -> report.md + PNG plots.

Input is the study's `results` dict (also saved as results.json): run facts at the top and one
entry per (task, model, seed) in `results["cells"]`, each with the evaluation summaries
(`EvalResult.summary`) of its dev / test / OOD splits. Every number in the report is a mean over
seeds with its sample sd and a 95% t-interval (`stats.describe`); comparisons pair seeds
(`stats.paired_difference`) and say "within noise" when the interval of the difference holds 0.
A section whose models are absent (no "depth" cells, no OOD split, one seed...) is left out or
shown without intervals, never faked.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .report import (human, model_colors, plot_accuracy_vs_cost, plot_by_difficulty, plot_depth_panels,
                     plot_errorbar_lines, table)
from .stats import describe, fmt, fmt_ci, paired_difference, t95

SPLITS = ("dev", "test", "ood")
SPLIT_NAME = {"dev": "dev (ID)", "test": "test (ID)", "ood": "OOD"}
STEP_GRID = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


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
    else the first reasoner in the main group, else the first reasoner."""
    if "reasoner" in models:
        return models["reasoner"]
    reasoners = [m for m in models.values() if m.first.get("kind") == "reasoner"]
    main = [m for m in reasoners if "main" in m.groups]
    return (main or reasoners or [None])[0]


def in_group(models: dict[str, Model], group: str) -> dict[str, Model]:
    return {k: m for k, m in models.items() if group in m.groups}


def int_keys(d: dict) -> dict[int, float]:
    """JSON turns int keys into str; undo it."""
    return {int(k): v for k, v in (d or {}).items()}


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


# ---------------------------------------------------------------------------------------------
# Sections. Each returns markdown lines (and writes its plots into `out`).


def headline(models: dict[str, Model], splits: list[str], chance: dict) -> list[str]:
    rows = []
    for m in models.values():
        params = m.mean_of("params")
        rows.append([m.name, f"`{m.id}`", f"{params:,.0f}" if params is not None else "—",
                     human(m.mean_of("train_flops_per_example") or 0), human(m.mean_of("train_flops") or 0),
                     f"{m.mean_of('wall_s') or 0:.0f}"]
                    + [fmt(m.desc(s), ci=True) for s in splits] + [len(m.cells)])
    headers = (["model", "id", "params (counted)", "train FLOPs / example", "train FLOPs total", "train wall s"]
               + [f"{SPLIT_NAME[s]} acc" for s in splits] + ["seeds"])
    chance_text = ", ".join(f"{SPLIT_NAME.get(s, s)} {v:.3f}" for s, v in chance.items() if v is not None)
    return [table(headers, rows), "",
            "Accuracy: exact match at each model's trained depth (recursive models: after their trained "
            "N_sup supervision steps), mean ± sd over seeds [95% t-interval of the mean]. Params, FLOPs and "
            "wall time: mean over seeds.",
            f"Chance (always the most common training answer): {chance_text or 'not recorded'}.", ""]


def comparisons(ref: Model, others: list[Model], splits: list[str], key: str = "accuracy") -> list[str]:
    """Paired-over-seeds differences ref − other on each split, with a plain verdict."""
    rows = []
    for o in others:
        for s in splits:
            d = paired_difference(ref.by_seed(s, key), o.by_seed(s, key), names=(ref.id, o.id))
            if d["n"] == 0:
                continue
            rows.append([f"`{ref.id}` − `{o.id}`", SPLIT_NAME[s], d["n"], fmt(d, signed=True),
                         fmt_ci(d, signed=True), f"**{d['verdict']}**"])
    if not rows:
        return []
    return [table(["difference", "split", "paired seeds", "mean ± sd", "95% CI", "verdict"], rows), "",
            "Differences pair runs with the same seed. *within noise*: the 95% interval of the paired "
            "difference contains 0, so these seeds cannot tell the two apart.", ""]


def step_columns(eval_steps: int) -> list[int]:
    steps = [s for s in STEP_GRID if s <= eval_steps]
    return steps + ([eval_steps] if eval_steps not in steps else [])


def curve(m: Model, split: str) -> tuple[list[float], list[float]]:
    """Mean and sd over seeds of accuracy after each test-time step (up to the shortest seed)."""
    runs = [s["accuracy_by_step"] for _, s in m.evals(split) if s.get("accuracy_by_step")]
    if not runs:
        return [], []
    descs = [describe(r[i] for r in runs) for i in range(min(len(r) for r in runs))]
    return [d["mean"] for d in descs], [d["sd"] for d in descs]


def trained_step(m: Model, split: str) -> int | None:
    ev = m.evals(split)
    return ev[0][1].get("step") if ev else None


def steps_table(models: list[Model], splits: list[str], eval_steps: int) -> list[str]:
    steps = step_columns(eval_steps)
    rows = []
    for m in models:
        for s in splits:
            runs = [e["accuracy_by_step"] for _, e in m.evals(s) if e.get("accuracy_by_step")]
            if not runs:
                continue
            mean, _ = curve(m, s)
            best = max(range(len(mean)), key=lambda i: mean[i])
            rows.append([m.name, SPLIT_NAME[s], trained_step(m, s) or "—"]
                        + [fmt(describe(r[k - 1] for r in runs if len(r) >= k)) for k in steps]
                        + [f"{mean[best]:.3f} @ {best + 1}"])
    if not rows:
        return []
    return [table(["model", "split", "trained N_sup"] + [f"{k} step{'s' * (k > 1)}" for k in steps]
                  + ["best mean (step)"], rows), ""]


def steps_panels(curve_models: list[Model], flat_models: list[Model], splits: list[str], chance: dict,
                 colors: dict) -> dict[str, dict]:
    """`plot_depth_panels` input: one panel per split, recursive models as curves ± sd."""
    panels = {}
    for s in splits:
        curves, bands, marks, flat, flat_bands = {}, {}, {}, {}, {}
        for m in curve_models:
            mean, sd = curve(m, s)
            if mean:
                curves[m.name], bands[m.name], marks[m.name] = mean, sd, trained_step(m, s)
        for m in flat_models:
            d = m.desc(s)
            if d["mean"] is not None:
                flat[m.name], flat_bands[m.name] = d["mean"], d["sd"]
        if curves:
            panels[SPLIT_NAME[s]] = dict(curves=curves, bands=bands, marks=marks, flat=flat, flat_bands=flat_bands,
                                         chance=chance.get(s), colors=colors, log_x=True)
    return panels


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
    lines = [table(["model", "n", "T", "N_sup", "layers", "depth / step"] + [f"{SPLIT_NAME[s]} acc" for s in splits],
                   rows), "", f"Depth axis: {xlabel}.", ""]
    series, point_labels = {}, []
    for s in splits:
        pts = [(xs[i], models[i].desc(s), models[i]) for i in order if models[i].desc(s)["mean"] is not None]
        if pts:
            series[SPLIT_NAME[s]] = ([p[0] for p in pts], [p[1]["mean"] for p in pts], [p[1]["sd"] for p in pts])
            if not point_labels:
                point_labels = [f"n={p[2].first['n_latent']}, T={p[2].first['n_cycles']}" for p in pts]
    if series:
        plot_errorbar_lines(series, path, xlabel=xlabel, log_x=True, point_labels=point_labels,
                            title="Accuracy vs trained recursion depth (mean ± sd over seeds)",
                            chance={f"chance ({SPLIT_NAME[s]})": chance[s] for s in splits if chance.get(s) is not None})
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
            rows.append([m.name, SPLIT_NAME[s], f"{train_halt:.2f}" if train_halt is not None else "—",
                         fmt(m.desc(s, "mean_halt_step"), 2), fmt(m.desc(s, "never_halted")),
                         fmt(m.desc(s, "accuracy_at_halt")), fmt(m.desc(s)), fmt(last)])
    if not rows:
        return []
    return [table(["model", "split", "mean halt step (training)", "mean halt step", "never halted",
                   "acc stopping at halt", "acc at trained N_sup", f"acc after {eval_steps} steps"], rows), "",
            f"Halting step: the first test-time step whose halting probability exceeds 0.5 (capped at "
            f"{eval_steps}; *never halted* counts the examples that never crossed it).", ""]


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
    lines = [f"# trmlab study: {results.get('name', '')}", "",
             "Recursive reasoning models vs a same-size transformer, over "
             f"{len({c['task'] for c in cells})} task(s), {len({c['model'] for c in cells})} model(s) and "
             f"{len({c['seed'] for c in cells})} seed(s): {len(cells)} trained models.", "",
             "How to read: every number is a mean over seeds ± its sample standard deviation; brackets give the "
             "95% Student-t interval of the mean (none with one seed). " + width + "Comparisons are paired over "
             "seeds and labelled **within noise** whenever their interval contains 0.", ""]
    tasks = list(dict.fromkeys(c["task"] for c in cells))
    for task in tasks:
        lines += task_section(task, [c for c in cells if c["task"] == task], results.get("tasks", {}).get(task, {}),
                              eval_steps, out)
    lines += reproduce(results, cells)
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def task_section(task: str, cells: list[dict], info: dict, eval_steps: int, out: Path) -> list[str]:
    models = models_of(cells)
    ms = list(models.values())
    splits = [s for s in SPLITS if any(m.evals(s) for m in ms)]
    tested = [s for s in ("test", "ood") if s in splits]  # comparisons and ID/OOD views
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
    lines += ["### Headline", ""] + headline(models, splits, chance)

    ref = reference_model(models)
    others = [m for m in ms if ref is not None and m is not ref]
    if ref and others and tested:
        block = comparisons(ref, others, tested)
        if block:
            lines += [f"### `{ref.id}` vs every other model (paired over seeds)", ""] + block

    if recursive:
        lines += ["### Accuracy vs test-time supervision steps", ""] + steps_table(recursive, splits, eval_steps)
        panels = steps_panels(recursive, [m for m in ms if not m.recursive], id_ood, chance, colors)
        if panels:
            plot_depth_panels(panels, fig("steps"), title=f"{task}: accuracy vs test-time supervision steps\n"
                              "(mean ± sd; ★ = trained N_sup; dashed = one-pass models)")
            lines += [f"![accuracy vs test-time steps]({fig('steps').name})", ""]

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
                  table(["model", "id"] + [f"{SPLIT_NAME[s]} acc" for s in splits] + ["seeds"],
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
                       "splits": {SPLIT_NAME[s]: (m.desc(s)["mean"], m.desc(s)["sd"]) for s in tested
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
             f"- compute: {results.get('compute_s', 0) / 60:.1f} min of training and evaluation, summed over cells",
             f"- test-time supervision steps evaluated: {results.get('eval_steps', '—')}", ""]
    splits = [s for s in SPLITS if any(s in c.get("eval", {}) for c in cells)]
    rows = [[c["task"], f"`{c['model']}`", c["seed"], f"{c.get('params') or 0:,}", c.get("train_steps", "—"),
             c.get("best_checkpoint_step", "—"), f"{c.get('wall_s') or 0:.0f}"]
            + [f"{c['eval'][s]['accuracy']:.3f}" if s in c.get("eval", {}) else "—" for s in splits]
            for c in cells]
    lines += ["Every trained model (one row per seed):", "",
              table(["task", "model", "seed", "params", "train steps", "best checkpoint", "wall s"]
                    + [SPLIT_NAME[s] for s in splits], rows), "",
              "Study config:", "", "```json", json.dumps(results.get("study", {}), indent=2, default=str), "```", ""]
    return lines
