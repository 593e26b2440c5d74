"""`trmlab study`: run a grid of tasks × models × seeds, resumably, and report it.

Each cell (task, model, seed) trains in its own folder, `runs/<study>/<task>/<model>/seed<k>/`,
is evaluated from its best checkpoint (EMA weights, chosen by dev accuracy), and leaves a
`cell.json`. A cell with a `cell.json` is never rerun; a cell that was stopped resumes from
its last checkpoint. Every cell of a task sees the same data (the data seed is the base
config's); the seed changes initialisation and data order, so seeds pair up across models.

Cells can run in parallel processes (`jobs`), each on `train.threads` threads: tiny models
use two cores better as two one-thread jobs than as one two-thread job. Results do not
depend on `jobs` (each cell is seeded and single-threaded the same way either way).
"""
from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path

from tqdm.auto import tqdm

from ..compare import ModelRun, _command, majority_baseline, train_or_resume
from ..config import RunConfig
from ..data import load_eval_set, load_splits, make_data_task
from ..evaluation import board_samples, evaluate
from ..model import build_model, count_params, match_transformer
from ..reporting.report import environment
from ..tasks.real.base import ENV_VAR
from ..training.precision import pick_device
from ..training.trainer import load_model
from .config import ModelSpec, StudyConfig, TaskSpec, model_label

EVAL_SPLITS = ("dev", "test", "ood")


@dataclass
class Cell:
    task: TaskSpec
    spec: ModelSpec
    seed: int
    cfg: RunConfig
    run_dir: Path
    eval_steps: int  # test-time supervision steps (1 for one-pass models)

    @property
    def key(self) -> str:
        return f"{self.task.id}/{self.spec.name}/seed{self.seed}"


def plan_cells(study: StudyConfig, out: Path, tasks: list[TaskSpec], vocab: dict[str, int]) -> list[Cell]:
    """Every cell, seed-major (a study stopped early has whole seeds), the transformer sized
    to the base reasoner's counted parameters on each task's vocabulary."""
    cells, matched = [], {}
    for seed in study.seeds:
        for task in tasks:
            for spec in study.models_for(task):
                cfg = study.run_config(task, spec, seed)
                if spec.kind == "transformer":
                    if (task.id, spec.name) not in matched:  # the same for every seed
                        reasoner = study.task_base(task).model
                        target = count_params(build_model(reasoner, vocab[task.id], device="meta"))
                        matched[task.id, spec.name] = match_transformer(target, cfg.model, vocab[task.id])
                    cfg.model = matched[task.id, spec.name]
                recursive = cfg.model.recursive and cfg.model.n_sup > 1
                steps = (spec.eval_steps or study.eval_steps) if recursive else 1
                cells.append(Cell(task, spec, seed, cfg, out / task.id / spec.name / f"seed{seed}", steps))
    return cells


def run_study(study: StudyConfig, out_root: str | Path = "runs", *, jobs: int = 1, data_dir: str | None = None,
              progress: bool = True, report_only: bool = False, command: str | None = None) -> dict:
    start = time.perf_counter()
    out = Path(out_root) / study.name
    out.mkdir(parents=True, exist_ok=True)
    (out / "study.json").write_text(json.dumps(study.to_dict(), indent=2))
    tasks = _available_tasks(study, data_dir)
    data = {t.id: _data_for(study.task_base(t)) for t in tasks}  # cells run in this process reuse it
    cells = plan_cells(study, out, tasks, {tid: tok.vocab_size for tid, (tok, _) in data.items()})
    pending = [c for c in cells if not _finished(c)]
    if report_only:
        cells = [c for c in cells if c not in pending]
    elif pending:
        _run_cells(pending, jobs, progress)
    results = {"name": study.name, "command": command or _command(), "environment": environment(),
               "study": study.to_dict(), "eval_steps": study.eval_steps,
               "tasks": {t.id: _task_info(study, t, data[t.id][1]) for t in tasks},
               "cells": [json.loads((c.run_dir / "cell.json").read_text()) for c in cells if _finished(c)]}
    results["compute_s"] = sum(c["wall_s"] + c["eval_s"] for c in results["cells"])
    results["wall_s"] = time.perf_counter() - start  # this invocation only
    results["jobs"] = jobs
    previous = out / "results.json"
    if report_only and previous.exists():  # a report-only run trained nothing: keep the timing that did
        results.update({k: v for k, v in json.loads(previous.read_text()).items() if k in ("wall_s", "jobs", "command")})
    previous.write_text(json.dumps(results, indent=2))
    from ..reporting.study_report import write_study_report
    write_study_report(results, out)
    return results


def _available_tasks(study: StudyConfig, data_dir: str | None) -> list[TaskSpec]:
    """The study's tasks, the real-data ones pointed at `data_dir` (skipped when there is none)."""
    root = data_dir or os.environ.get(ENV_VAR, "")
    tasks = []
    for t in study.tasks:
        if t.needs_data_dir:
            if not root:
                print(f"study {study.name}: skipping task {t.id!r}: it needs the real data sets "
                      f"(--data-dir DIR or ${ENV_VAR})", file=sys.stderr)
                continue
            t = replace(t, data={**t.data, "knobs": {**t.data.get("knobs", {}), "data_dir": root}})
        eval_sets = {}
        for name, spec in t.eval_sets.items():
            if spec.get("needs_data_dir"):
                if not root:
                    print(f"study {study.name}: task {t.id!r}: skipping evaluation set {name!r}: it needs "
                          f"the real data sets (--data-dir DIR or ${ENV_VAR})", file=sys.stderr)
                    continue
                spec = {**spec, "knobs": {**spec.get("knobs", {}), "data_dir": root}}
            eval_sets[name] = spec
        tasks.append(replace(t, eval_sets=eval_sets))
    return tasks


def _task_info(study: StudyConfig, task: TaskSpec, splits: dict) -> dict:
    cfg = study.task_base(task).data
    train_answers = [ex.answer for ex in splits["train"].examples]
    knobs = {k: v for k, v in cfg.knobs.items() if k != "data_dir"}
    return {"task": cfg.task, "knobs": knobs, "n": {s: len(v) for s, v in splits.items()},
            "train_difficulty": knobs.get("train_difficulty"), "ood_difficulty": knobs.get("ood_difficulty"),
            "majority_baseline": {s: majority_baseline(train_answers, splits[s]) for s in EVAL_SPLITS if s in splits}}


def _eval_set(cfg: RunConfig, spec: dict, tokenizer):
    """An extra held-out set of a task, made once per process."""
    data = replace(cfg.data, knobs={**cfg.data.knobs, **spec.get("knobs", {})})
    key = json.dumps([asdict(data), spec], sort_keys=True)
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = load_eval_set(data, spec.get("split", "test"), spec.get("n", 1000), tokenizer)
    return _DATA_CACHE[key]


def _finished(cell: Cell) -> bool:
    path = cell.run_dir / "cell.json"
    if not path.exists():
        return False
    done = json.loads(path.read_text())
    # Read back through RunConfig, so a field added to the code since (with its default) still matches.
    if RunConfig.from_dict(done["run_config"]).to_dict() != cell.cfg.to_dict() or done["eval_steps"] != cell.eval_steps:
        raise ValueError(f"{path} was made with a different config than the study now asks for; "
                         f"delete {cell.run_dir} or give the study another name")
    return True


def _run_cells(cells: list[Cell], jobs: int, progress: bool) -> None:
    bar = tqdm(total=len(cells), desc="study cells", unit="cell", disable=not progress, dynamic_ncols=True)

    def done(result: dict) -> None:
        ev = result["eval"]
        bar.write(f"{result['task']}/{result['model']}/seed{result['seed']}: "
                  f"test {ev['test']['accuracy']:.3f}  OOD {ev.get('ood', {}).get('accuracy', float('nan')):.3f}  "
                  f"({result['wall_s']:.0f}s train, {result['eval_s']:.0f}s eval)")
        bar.update(1)

    if jobs <= 1:
        for cell in cells:
            done(run_cell(cell))
    else:  # spawn: a forked child would inherit the parent's OpenMP state
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
            for future in as_completed([pool.submit(run_cell, cell) for cell in cells]):
                done(future.result())
    bar.close()


_DATA_CACHE: dict[str, tuple] = {}


def _data_for(cfg: RunConfig):
    """Tokenizer and splits, made once per process and data config."""
    key = json.dumps(cfg.to_dict()["data"], sort_keys=True)
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = load_splits(cfg.data)
    return _DATA_CACHE[key]


def run_cell(cell: Cell) -> dict:
    """Train (or finish training) one cell, evaluate its best checkpoint, write cell.json."""
    import torch
    cfg = cell.cfg
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    tokenizer, splits = _data_for(cfg)
    meta = train_or_resume(ModelRun(cell.key, cfg, cell.run_dir), (tokenizer, splits), resume=True, progress=False)
    device = pick_device(cfg.train.device)
    model, _, _, best = load_model(cell.run_dir / "checkpoints" / "best.safetensors", device=device)
    trained_depth = cfg.model.n_sup if cfg.model.recursive else 1
    eval_start = time.perf_counter()
    evals = {}
    sets = {split: splits[split] for split in EVAL_SPLITS if split in splits}
    sets.update({name: _eval_set(cfg, spec, tokenizer) for name, spec in cell.task.eval_sets.items()})
    task = make_data_task(cfg.data)  # its class scores every set of it (ARC adds pass@k); knobs do not matter
    for name, split in sets.items():
        steps = trained_depth if name == "dev" else cell.eval_steps  # dev only picks the checkpoint
        r = evaluate(model, split, tokenizer, steps=steps if cfg.model.recursive else None,
                     batch_size=cfg.train.eval_batch_size, device=device, precision=cfg.train.precision)
        evals[name] = r.summary(trained_depth)
        if hasattr(task, "score_predictions"):  # e.g. ARC: pass@1 and pass@2 by voting
            evals[name].update(task.score_predictions(split.examples, r.predictions))
    totals = meta["totals"]
    m = cfg.model
    result = {
        "task": cell.task.id, "model": cell.spec.name, "label": model_label(cell.spec, cfg),
        "groups": list(cell.spec.groups), "seed": cell.seed, "kind": m.kind,
        "recursive": cell.eval_steps > 1, "params": meta["params"],
        "train_steps": meta["step"], "best_checkpoint_step": best["step"],
        "wall_s": totals["wall_s"], "eval_s": time.perf_counter() - eval_start,
        "train_examples": totals["new_examples"], "train_rows": totals["rows"],
        "train_flops": totals["flops"], "train_flops_per_example": totals["flops"] / max(totals["new_examples"], 1),
        "train_mean_halt_step": _train_halt_step(cell.run_dir),
        "n_latent": getattr(m, "n_latent", None), "n_cycles": getattr(m, "n_cycles", None),
        "n_sup": getattr(m, "n_sup", None), "n_layers": m.n_layers, "d_model": m.d_model,
        "net_calls_per_step": getattr(m, "net_calls_per_step", None),
        "config": m.to_dict(), "run_config": cfg.to_dict(), "eval_steps": cell.eval_steps, "eval": evals,
    }
    if m.answer_len == 0 and "test" in splits:  # grids: a few boards, step by step, for the report
        result["boards"] = board_samples(model, splits["test"], tokenizer, steps=cell.eval_steps,
                                         device=device, precision=cfg.train.precision)
    tmp = cell.run_dir / "cell.json.tmp"
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(cell.run_dir / "cell.json")  # atomic: a cell is done or not, never half-written
    return result


def _train_halt_step(run_dir: Path) -> float | None:
    """Mean supervision steps a training row ran, over the last quarter of training."""
    path = run_dir / "metrics.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    halts = [r["mean_halt_step"] for r in records if "mean_halt_step" in r]
    tail = halts[-max(len(halts) // 4, 1):]
    return sum(tail) / len(tail) if tail else None

