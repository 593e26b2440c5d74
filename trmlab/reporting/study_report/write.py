"""The whole report: the reading guide, one part per task (its sections in order), how to reproduce."""
from __future__ import annotations

import json
from pathlib import Path

from ..stats import t95
from . import (adaptive, answer_cost, boards, comparisons, cost, data_size, depth, difficulty, extrapolation, feedback, grid, halting,
               headline, schemes, steps, tuning)
from .reproduce import reproduce
from .view import TaskView

# A task's sections in the order they appear; each returns [] when its models or splits are absent.
SECTIONS = (headline.section, tuning.section, extrapolation.section, answer_cost.section, data_size.section, comparisons.section, grid.steps_section, boards.section,
            steps.section, schemes.section, depth.section, halting.section, adaptive.section, feedback.section,
            difficulty.section, cost.section)


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
    tuning_records = results.get("tuning") or []
    for task in tasks:
        lines += task_section(task, [c for c in cells if c["task"] == task], results.get("tasks", {}).get(task, {}),
                              eval_steps, out, [r for r in tuning_records if r["task"] == task], cells)
    lines += reproduce(results, cells)
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def task_section(task: str, cells: list[dict], info: dict, eval_steps: int, out: Path,
                 tuning: list[dict] = (), study_cells: list[dict] = ()) -> list[str]:
    """One task's part of the report: its title, what it trained on, then every section that applies
    (`study_cells`: every task's, for the sections that span tasks)."""
    view = TaskView(task, cells, info, eval_steps, out, list(tuning), list(study_cells))
    lines = [f"## Task `{task}`", ""]
    desc = []
    if view.train_d:
        desc.append(f"trained on difficulty {view.train_d[0]}–{view.train_d[-1]}")
    if view.ood_d:
        desc.append(f"OOD = difficulty {view.ood_d[0]}–{view.ood_d[-1]}")
    if info.get("knobs"):
        desc.append(f"knobs `{json.dumps(info['knobs'])}`")
    if desc:
        lines += ["; ".join(desc) + ".", ""]
    for section in SECTIONS:
        lines += section(view)
    return lines
