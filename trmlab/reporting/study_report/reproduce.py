"""The report's last section: the command, environment, wall time and every trained model."""
from __future__ import annotations

import json

from ..report import table
from .cells import TRAIN, eval_splits, split_name


def reproduce(results: dict, cells: list[dict]) -> list[str]:
    wall = results.get("wall_s")
    lines = ["## Reproduce", "", "```bash", results.get("command", ""), "```", "",
             f"- environment: {results.get('environment', 'not recorded')}",
             f"- study wall time: {wall:.0f} s ({wall / 60:.1f} min) for this invocation, "
             f"{results.get('jobs', 1)} cell(s) at a time" if wall is not None else "- study wall time: —",
             f"- compute: {results.get('compute_s', 0) / 60:.1f} min of training and evaluation, summed over cells"
             + (f" ({results['tuning_compute_s'] / 60:.1f} min of it learning-rate tuning)"
                if results.get("tuning_compute_s") else ""),
             f"- test-time supervision steps evaluated: {results.get('eval_steps', '—')}", *_reused(results), ""]
    splits = eval_splits(cells) + ([TRAIN] if any(TRAIN in c.get("eval", {}) for c in cells) else [])
    rows = [[c["task"], f"`{c['model']}`", c["seed"], f"{c.get('params') or 0:,}", c.get("train_steps", "—"),
             c.get("best_checkpoint_step", "—"), cell_precision(c), f"{c.get('wall_s') or 0:.0f}"]
            + [f"{c['eval'][s]['accuracy']:.3f}" if s in c.get("eval", {}) else "—" for s in splits]
            for c in cells]
    lines += ["Every trained model (one row per seed):", "",
              table(["task", "model", "seed", "params", "train steps", "best checkpoint", "precision", "wall s"]
                    + [split_name(s) for s in splits], rows), "",
              "Study config:", "", "```json", json.dumps(results.get("study", {}), indent=2, default=str), "```", ""]
    return lines


def cell_precision(cell: dict) -> str:
    """The precision a cell trained and was evaluated in (cells before it was recorded: their run config's)."""
    return cell.get("precision") or cell.get("run_config", {}).get("train", {}).get("precision", "—")


def _reused(results: dict) -> list[str]:
    """With --reuse: how many cells came from the earlier run, whose wall time is not counted above."""
    reused = results.get("reused")
    if not reused:
        return []
    wall = f", whose wall time was {reused['wall_s'] / 60:.1f} min" if reused.get("wall_s") else ""
    return [f"- {reused['cells']} of {len(results['cells'])} cells (and the tuning cells it had) restored from "
            f"`{reused['from']}`, {'earlier runs' if ', ' in reused['from'] else 'an earlier run'}{wall}; "
            "the compute above includes theirs"]
