"""`trmlab compare`: the recursive reasoner against a transformer LM of the same
counted size, on the same data and training budget (same optimiser steps and batch
size), evaluated the same way; writes runs/<name>/report.md, results.json and plots.
"""
from __future__ import annotations

import json
import shlex
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .config import RunConfig, transformer_twin
from .data import load_splits
from .evaluation import evaluate
from .model import build_model, count_params, match_transformer
from .precision import pick_device, resolve_run
from .reporting.report import environment, human, plot_by_difficulty, plot_depth_curves, table
from .training import checkpoint as ckpt
from .training.distributed import is_main
from .training.loading import load_model
from .training.trainer import train

EVAL_SPLITS = ("dev", "test", "ood")


@dataclass
class ModelRun:
    label: str
    cfg: RunConfig
    run_dir: Path


def plan(cfg: RunConfig, out: Path, vocab_size: int) -> list[ModelRun]:
    """The reasoner and its parameter-matched transformer."""
    reasoner_params = count_params(build_model(cfg.model, vocab_size, device="meta"))
    lm = transformer_twin(cfg)
    lm.model = match_transformer(reasoner_params, lm.model, vocab_size)
    return [ModelRun("recursive reasoner", cfg, out / "reasoner"),
            ModelRun("transformer LM", lm, out / "transformer")]


def train_or_resume(run: ModelRun, data, resume: bool, progress: bool) -> dict:
    """Train (or continue) one model; returns its last checkpoint's metadata."""
    last = run.run_dir / "checkpoints" / "last.safetensors"
    if last.exists():
        _, meta = ckpt.load_checkpoint(last)
        if meta["step"] >= run.cfg.train.steps:
            return meta  # finished earlier: nothing to redo
        if not resume:
            raise FileExistsError(f"{run.run_dir} holds an unfinished run; pass --resume to continue it")
    train(run.cfg, run.run_dir, data=data, resume=last.exists(), progress=progress)
    return ckpt.load_checkpoint(last)[1]


def majority_baseline(train_answers: list[str], split) -> float:
    """Accuracy of always giving the most common training answer: the chance level."""
    common = Counter(train_answers).most_common(1)[0][0]
    return sum(ex.answer == common for ex in split.examples) / max(len(split), 1)


def run_compare(cfg: RunConfig, out_root: str | Path = "runs", *, resume: bool = False,
                progress: bool = True, eval_steps: int = 0, command: str | None = None) -> dict | None:
    """The comparison's results (None on a data-parallel rank other than 0: rank 0 evaluates and reports)."""
    cfg = resolve_run(cfg)
    out = Path(out_root) / cfg.name
    out.mkdir(parents=True, exist_ok=True)
    tokenizer, splits = load_splits(cfg.data)
    runs = plan(cfg, out, tokenizer.vocab_size)
    n_sup = cfg.model.n_sup
    eval_steps = eval_steps or max(4 * n_sup, 8)  # past the trained depth, at a bounded cost
    results = {"name": cfg.name, "command": command or _command(), "environment": environment(),
               "config": cfg.to_dict(), "eval_steps": eval_steps, "models": {}}
    train_answers = [ex.answer for ex in splits["train"].examples]
    results["majority_baseline"] = {s: majority_baseline(train_answers, splits[s]) for s in EVAL_SPLITS if s in splits}
    for run in runs:
        meta = train_or_resume(run, (tokenizer, splits), resume, progress)
        if not is_main():
            continue
        device = pick_device(run.cfg.train.device)
        model, _, _, best_meta = load_model(run.run_dir / "checkpoints" / "best.safetensors", device=device)
        steps = eval_steps if run.cfg.model.recursive else None
        evals = {s: evaluate(model, splits[s], tokenizer, steps=steps, device=device,
                             batch_size=run.cfg.train.eval_batch_size, precision=run.cfg.train.precision)
                 for s in EVAL_SPLITS if s in splits}
        totals = meta["totals"]
        results["models"][run.label] = {
            "kind": run.cfg.model.kind, "config": run.cfg.model.to_dict(), "params": meta["params"],
            "train_steps": meta["step"], "best_checkpoint_step": best_meta["step"],
            "wall_s": totals["wall_s"], "train_rows": totals["rows"],
            "train_examples": totals["new_examples"], "train_flops": totals["flops"],
            "train_flops_per_example": totals["flops"] / max(totals["new_examples"], 1),
            "rows_per_s": totals["rows"] / max(totals["wall_s"], 1e-9),
            "examples_per_s": totals["new_examples"] / max(totals["wall_s"], 1e-9),
            # The reasoner's headline is at its trained depth; the curve goes further.
            "eval": {s: r.summary(n_sup if run.cfg.model.recursive else 1) for s, r in evals.items()},
        }
    if not is_main():
        return None
    with open(out / "results.json", "w") as f:
        json.dump(results, f, indent=2)
    write_report(results, out)
    return results


def _command() -> str:
    return " ".join(["trmlab", *map(shlex.quote, sys.argv[1:])])


def write_report(results: dict, out: Path) -> Path:
    models = results["models"]
    cfg = results["config"]
    n_sup = cfg["model"]["n_sup"]
    chance = results["majority_baseline"]
    rows = []
    for label, m in models.items():
        ev = m["eval"]
        rows.append([label, f"{m['params']:,}", human(m["train_flops_per_example"]), human(m["train_flops"]),
                     f"{m['wall_s']:.0f}", f"{m['examples_per_s']:.1f}", f"{m['rows_per_s']:.1f}",
                     ev["dev"]["accuracy"], ev.get("test", {}).get("accuracy", float("nan")),
                     ev.get("ood", {}).get("accuracy", float("nan"))])
    headers = ["model", "params (counted)", "train FLOPs / example", "train FLOPs total", "train wall s",
               "new examples / s", "rows / s", "dev acc", "test acc", "OOD acc"]
    reasoner = next((m for m in models.values() if m["kind"] == "reasoner"), None)
    lm = next((m for m in models.values() if m["kind"] == "transformer"), None)
    knobs = cfg["data"]["knobs"]

    curves, flat = {}, {}
    for label, m in models.items():
        for split in ("dev", "ood"):
            if split not in m["eval"]:
                continue
            if m["kind"] == "reasoner":
                curves[f"{label} ({split})"] = m["eval"][split]["accuracy_by_step"]
            else:
                flat[f"{label} ({split})"] = m["eval"][split]["accuracy"]
    plot_depth_curves(curves, flat, out / "accuracy_vs_steps.png", trained_steps=n_sup,
                      chance=chance.get("dev"))
    by_diff = {}
    for label, m in models.items():
        merged = {}
        for split in ("test", "ood"):
            merged.update({int(k): v for k, v in m["eval"].get(split, {}).get("accuracy_by_difficulty", {}).items()})
        by_diff[label] = merged
    train_max = knobs.get("train_difficulty", [None, None])[1] if knobs.get("train_difficulty") else None
    plot_by_difficulty(by_diff, out / "accuracy_by_difficulty.png", trained_max=train_max)

    diff_keys = sorted({d for s in by_diff.values() for d in s})
    diff_rows = [[label] + [by_diff[label].get(d, float("nan")) for d in diff_keys] for label in by_diff]
    lines = [
        f"# trmlab compare: {results['name']}",
        "",
        "Recursive reasoner (TRM for text) vs a decoder-only transformer LM with the same counted "
        "parameters, trained on the same data for the same number of optimiser steps and batch size.",
        "",
        f"- task: `{cfg['data']['task']}` {json.dumps(knobs)}; {cfg['data']['n_train']:,} training examples, "
        f"data seed {cfg['data']['seed']}, training seed {cfg['train']['seed']}",
        f"- budget: {cfg['train']['steps']} optimiser steps × batch {cfg['train']['batch_size']}, "
        f"{cfg['train']['optimizer']} lr {cfg['train']['lr']}, {cfg['train']['precision']}",
        f"- chance level (always the most common training answer): dev {chance.get('dev', 0):.3f}, "
        f"OOD {chance.get('ood', 0):.3f}",
        f"- evaluation: EMA weights of the best checkpoint by dev accuracy; reasoner accuracy is after "
        f"its trained N_sup = {n_sup} supervision steps",
        f"- environment: {results['environment']}",
        "",
        "## Results",
        "",
        table(headers, rows),
        "",
        "A reasoner *row* is one supervision step of one example (an example stays in the batch for up "
        "to N_sup optimiser steps); *new examples / s* counts distinct training examples. FLOPs are "
        "matmul FLOPs (forward + backward = 3× forward; the reasoner's no-grad cycles count 1×).",
        "",
        "## Accuracy by difficulty (test = trained range, OOD = harder)",
        "",
        table(["model"] + [str(d) for d in diff_keys], diff_rows),
        "",
        "![accuracy by difficulty](accuracy_by_difficulty.png)",
        "",
    ]
    if reasoner:
        dev = reasoner["eval"]["dev"]
        steps_show = [s for s in (1, 2, 4, 8, 16, 32, 64, 128) if s <= len(dev["accuracy_by_step"])]
        depth_rows = [[split] + [reasoner["eval"][split]["accuracy_by_step"][s - 1] for s in steps_show]
                      for split in ("dev", "ood") if split in reasoner["eval"]]
        lines += [
            "## Accuracy vs supervision steps (reasoner)",
            "",
            table(["split"] + [f"{s} step{'s' if s > 1 else ''}" for s in steps_show], depth_rows),
            "",
            f"Halting head (dev): mean stopping step {dev['mean_halt_step']:.2f}, never halted "
            f"{dev['never_halted']:.1%}, accuracy if stopped there {dev['accuracy_at_halt']:.3f}. "
            f"Mean stopping step by difficulty: "
            + ", ".join(f"{k}: {v:.2f}" for k, v in _merged_halts(reasoner).items()) + ".",
            "",
            "![accuracy vs supervision steps](accuracy_vs_steps.png)",
            "",
        ]
    if lm and reasoner:
        lines += [f"Parameter match: reasoner {reasoner['params']:,} vs transformer {lm['params']:,} "
                  f"({(lm['params'] - reasoner['params']) / reasoner['params']:+.2%}); transformer shape "
                  f"{lm['config']['n_layers']} layers × d {lm['config']['d_model']}.", ""]
    lines += ["## Rerun", "", "```", results["command"], "```", "",
              "Config (also in each model's `config.json`):", "", "```json", json.dumps(cfg, indent=2), "```", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def _merged_halts(m: dict) -> dict:
    merged = {}
    for split in ("test", "ood"):
        merged.update({int(k): v for k, v in m["eval"].get(split, {}).get("halt_step_by_difficulty", {}).items()})
    return dict(sorted(merged.items()))
