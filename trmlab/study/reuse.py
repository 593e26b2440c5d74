"""`trmlab study --reuse RESULTS`: put an earlier run's finished cells back into a study folder, so
that the study trains only what that run did not have (more seeds, a changed task, a new model).

A results.json holds every finished cell's cell.json whole, and its tuning table every grid point's
best dev accuracy; the checkpoints are not needed. A cell is restored only where the earlier run
trained it exactly as the study now would (the same run config and test-time steps), so a restored
cell is one the study would have trained the same way; the others are trained afresh. A restored
tuning cell gets its model's tuning compute split evenly over its grid points (the one figure the
tuning table does not keep per point). Nothing is overwritten: a cell already finished stays.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..config import RunConfig


def same_run(done: dict | RunConfig, cfg: RunConfig) -> bool:
    """Whether a finished cell's run config is `cfg`, read back through RunConfig (a field added to
    the code since keeps its default). The run's name (it holds the study's) and train.log (where
    the curves also go) change no number, so a study can take another study's cells."""
    done = RunConfig.from_dict(done) if isinstance(done, dict) else done
    return _what_trains(done) == _what_trains(cfg)


def _what_trains(cfg: RunConfig) -> dict:
    d = cfg.to_dict()
    d.pop("name")
    d["train"].pop("log")
    return d


def restore_tuning_cells(cells: list, study_before, earlier_cells: list, earlier: dict, source: str) -> int:
    """Write the tuning cells among `cells` (not finished yet) that the earlier run (`study_before`,
    its tuning plan `earlier_cells`) trained the same way; returns how many."""
    points = {(t["task"], t["model"], g["lr"], g.get("weight_decay")): (g["best_dev"], t["compute_s"] / len(t["grid"]))
              for t in earlier["tuning"] for g in t["grid"] if g["best_dev"] is not None}
    wanted = {c.key: c for c in cells}
    restored = 0
    for old in earlier_cells:
        point = points.get((old.task.id, old.spec.name, *study_before.grid_point(old.spec, old.cfg.train)))
        cell = wanted.get(old.key)
        if point is None or cell is None or old.eval_steps != cell.eval_steps or not same_run(old.cfg, cell.cfg):
            continue
        restored += write_cell(cell.run_dir, {"key": cell.key, "tuning": True, "run_config": cell.cfg.to_dict(),
                                              "eval_steps": cell.eval_steps, "best_dev": point[0], "wall_s": point[1],
                                              "eval_s": 0.0, "restored_from": source}, keep=True)
    return restored


def restore_seed_cells(cells: list, earlier: dict, source: str) -> int:
    """Write the study cells among `cells` that the earlier run finished with the same run config
    and test-time steps, and evaluated on every extra set the study now asks for (the checkpoints
    are not kept: a cell without one of them is trained again); returns how many."""
    done = {c["key"]: c for c in earlier["cells"]}
    sets_before = {t["id"]: t.get("eval_sets", {}) for t in earlier["study"]["tasks"]}
    restored = 0
    for cell in cells:
        old = done.get(cell.key)
        if (old is not None and old["eval_steps"] == cell.eval_steps and same_run(old["run_config"], cell.cfg)
                and same_eval_sets(cell.task.eval_sets, sets_before.get(cell.task.id, {}))):
            restored += write_cell(cell.run_dir, {**old, "restored_from": source}, keep=True)
    return restored


def same_eval_sets(now: dict, before: dict) -> bool:
    """Whether every extra evaluation set in `now` was in `before`, made the same way (the data
    folder a real set is read from aside)."""
    def made(spec: dict) -> dict:
        return {**spec, "knobs": {k: v for k, v in spec.get("knobs", {}).items() if k != "data_dir"}}
    return all(name in before and made(before[name]) == made(spec) for name, spec in now.items())


def write_cell(run_dir: Path, cell: dict, keep: bool = False) -> int:
    """Write a cell's cell.json atomically (a cell is done or not, never half-written); with `keep`,
    only where it has none. 1 if written."""
    if keep and (run_dir / "cell.json").exists():
        return 0
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / "cell.json.tmp"
    tmp.write_text(json.dumps(cell, indent=2))
    tmp.replace(run_dir / "cell.json")
    return 1


def load_earlier(path: str | Path) -> dict:
    """An earlier study's results.json, with a clear error when it is not one."""
    try:
        earlier = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"--reuse {path}: cannot read a study's results.json ({e})") from e
    missing = {"study", "cells", "tuning"} - set(earlier)
    if missing:
        raise ValueError(f"--reuse {path}: not a study's results.json (no {', '.join(sorted(missing))})")
    return earlier
