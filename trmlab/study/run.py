"""`trmlab study`: run a grid of tasks × models × seeds, resumably, and report it.

Each cell (task, model, seed) trains in its own folder, `runs/<study>/<task>/<model>/seed<k>/`,
is evaluated from its best checkpoint (EMA weights, chosen by dev accuracy), and leaves a
`cell.json`. A cell with a `cell.json` is never rerun; a cell that was stopped resumes from
its last checkpoint. Every cell of a task sees the same data (the data seed is the base
config's); the seed changes initialisation and data order, so seeds pair up across models.

With a learning-rate grid (`StudyConfig.tune`, `ModelSpec.lr_grid`) each tuned model first trains
one tuning cell per grid point on the tuning seed, `runs/<study>/<task>/<model>/tune/lr<lr>/`
(evaluated on dev only); the lr with the best dev accuracy is chosen per (task, model), and the
study seeds train at it. Tuning cells are cells: resumable, skipped when finished, run in parallel.

Cells can run in parallel processes (`jobs`), each on `train.threads` threads: tiny models
use two cores better as two one-thread jobs than as one two-thread job. Results do not
depend on `jobs` (each cell is seeded and single-threaded the same way either way).
Under torchrun every cell trains data-parallel on all the processes, one cell at a time,
and rank 0 evaluates and writes (the processes must share the output folder).
"""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tqdm.auto import tqdm

from ..compare import ModelRun, _command, majority_baseline, train_or_resume
from ..config import RunConfig
from ..data import load_eval_set, load_splits, make_data_task
from ..evaluation import answer_cost, board_samples, evaluate
from ..model import build_model, count_params, match_recurrent, match_transformer
from ..precision import pick_device, resolve_run
from ..reporting.report import environment
from ..tasks.grid.base import GridTask
from ..tasks.real.base import ENV_VAR
from ..training.distributed import connect, is_main
from ..training.loading import load_model
from .config import ModelSpec, StudyConfig, TaskSpec, ladder_step, lr_tag, model_label
from .reuse import load_earlier, restore_seed_cells, restore_tuning_cells, same_run, write_cell

EVAL_SPLITS = ("dev", "test", "ood")
TRAIN_EVAL = 500  # a study cell also scores (up to) this many training examples, as stored: eval split "train"


@dataclass
class Cell:
    task: TaskSpec
    spec: ModelSpec
    seed: int
    cfg: RunConfig
    run_dir: Path
    eval_steps: int  # test-time supervision steps (1 for one-pass models)
    tuning: bool = False  # a grid point on the tuning seed: trained to be scored on dev, nothing else
    settle_patience: int = 0  # the study's oracle-free stop (StudyConfig.settle_patience)

    @property
    def key(self) -> str:
        where = f"tune/{self.run_dir.name}" if self.tuning else f"seed{self.seed}"  # tune/lr0.003[-wd1]
        return f"{self.task.id}/{self.spec.name}/{where}"


def plan_cells(study: StudyConfig, out: Path, tasks: list[TaskSpec], vocab: dict[str, int],
               lrs: dict | None = None) -> list[Cell]:
    """Every study cell, seed-major (a study stopped early has whole seeds), the transformer sized
    to the base reasoner's counted parameters on each task's vocabulary (unless its spec sets
    n_layers or d_model: an LM of a given shape, e.g. the iso-FLOP one). A tuned model trains at
    its chosen lr, `lrs[task id, model name]` (or its chosen (lr, weight decay) pair); one without a
    choice yet is left out."""
    cells, matched = [], {}
    seeds = {s for task in tasks for spec in study.models_for(task) for s in study.seeds_for(task, spec)}
    for seed in sorted(seeds, key=_seed_order(study)):
        for task in tasks:
            tuned_on = task.tune_with or task.id
            for spec in (m for m in study.models_for(task) if seed in study.seeds_for(task, m)):
                if not study.lr_grid(spec):
                    cfg = study.run_config(task, spec, seed)
                elif (tuned_on, spec.name) in (lrs or {}):
                    choice = lrs[tuned_on, spec.name]
                    cfg = study.run_config(task, spec, seed, *(choice if isinstance(choice, tuple) else (choice,)))
                else:
                    continue
                cells.append(_cell(study, task, spec, seed, cfg, out / task.id / spec.name / f"seed{seed}",
                                   vocab, matched))
    return cells


def _seed_order(study: StudyConfig):
    """The study's seeds first, in its order, then the seeds only some tasks or models run."""
    return lambda seed: (study.seeds.index(seed), 0) if seed in study.seeds else (len(study.seeds), seed)


def plan_tuning_cells(study: StudyConfig, out: Path, tasks: list[TaskSpec], vocab: dict[str, int]) -> list[Cell]:
    """One cell per (task, tuned model, grid lr), on the tuning seed, with the points beyond the
    grid's edge that `tune.extend` asks for once the grid's cells have finished."""
    cells, matched = [], {}
    for task in (t for t in tasks if not t.tune_with):  # the others reuse a tuned task's choices
        for spec in study.models_for(task):
            grid = study.lr_grid(spec)
            for wd in study.wd_grid(spec) if grid else []:  # with a weight-decay grid, an lr grid per point
                where = out / task.id / spec.name / "tune"
                lrs, _ = extended_grid(grid, lambda lr: _best_dev(where / lr_tag(lr, wd)), study.tune.get("extend", 0))
                for lr in lrs:
                    cells.append(_cell(study, task, spec, study.tune["seed"], study.tune_config(task, spec, lr, wd),
                                       where / lr_tag(lr, wd), vocab, matched, tuning=True))
    return cells


def _cell(study: StudyConfig, task: TaskSpec, spec: ModelSpec, seed: int, cfg: RunConfig, run_dir: Path,
          vocab: dict[str, int], matched: dict, tuning: bool = False) -> Cell:
    shaped = {"transformer": {"n_layers", "d_model"}, "recurrent": {"d_model"}}.get(spec.kind)
    if shaped and not shaped & set(spec.overrides):  # sized to the base reasoner, unless a shape is given
        if (task.id, spec.name) not in matched:  # the same for every seed
            reasoner = study.task_base(task).model
            target = count_params(build_model(reasoner, vocab[task.id], device="meta"))
            match = match_transformer if spec.kind == "transformer" else match_recurrent
            matched[task.id, spec.name] = match(target, cfg.model, vocab[task.id])
        cfg.model = matched[task.id, spec.name]
    recursive = cfg.model.recursive and cfg.model.n_sup > 1
    steps = (spec.eval_steps or study.eval_steps) if recursive else 1
    # train.precision=auto resolved here: a cell records (and --reuse compares) what it ran in.
    return Cell(task, spec, seed, resolve_run(cfg), run_dir, steps, tuning, study.settle_patience)


def extended_grid(grid: list[float], best_dev, extend: int) -> tuple[list[float], bool]:
    """The grid and up to `extend` points beyond whichever end wins (`best_dev(lr)`: None until
    that lr's cell has finished), and whether the choice is settled: every point has finished
    and the best is inside the grid, or the extension is used up."""
    lrs = sorted(grid)
    while True:
        dev = {lr: best_dev(lr) for lr in lrs}
        if None in dev.values():
            return lrs, False
        best = pick_lr(dev)
        if len(lrs) - len(grid) >= extend or lrs[0] < best < lrs[-1] or len(lrs) == 1:
            return lrs, True
        lrs = [ladder_step(best, up=False)] + lrs if best == lrs[0] else lrs + [ladder_step(best, up=True)]


def _best_dev(run_dir: Path) -> float | None:
    path = run_dir / "cell.json"
    return json.loads(path.read_text())["best_dev"] if path.exists() else None


def pick_lr(dev: dict) -> float | tuple:
    """The learning rate (or (lr, weight decay) pair) with the highest dev accuracy. Ties go to the
    smaller lr: dev cannot tell them apart, and the smaller step is the less likely to diverge on the
    seeds it was not tried on (and the choice does not depend on the grid's order); then to the
    smaller weight decay."""
    return min(dev, key=lambda lr: (-dev[lr], lr))


def tuning_results(study: StudyConfig, cells: list[Cell]) -> list[dict]:
    """Per (task, tuned model): the tuning seed and steps, each grid lr's best dev accuracy during training
    (None until its cell finishes), the chosen lr (None until every grid point has finished) and
    the compute spent on it."""
    by_model: dict[tuple, dict] = {}
    for c in cells:
        done = json.loads((c.run_dir / "cell.json").read_text()) if _finished(c) else None
        if done is not None and done["best_dev"] < 0:  # the trainer's start value: never evaluated
            raise ValueError(f"{c.run_dir}: no dev accuracy; tuning needs a dev split (data.n_dev > 0)")
        entry = by_model.setdefault((c.task.id, c.spec.name), {"dev": {}, "compute_s": 0.0, "spec": c.spec,
                                                               "steps": c.cfg.train.steps})
        entry["dev"][study.grid_point(c.spec, c.cfg.train)] = None if done is None else done["best_dev"]
        entry["compute_s"] += 0.0 if done is None else done["wall_s"] + done["eval_s"]
    out = []
    for (task, model), e in by_model.items():
        wds = study.wd_grid(e["spec"])
        settled = all(extended_grid(study.lr_grid(e["spec"]), lambda lr: e["dev"].get((lr, wd)),
                                    study.tune.get("extend", 0))[1] for wd in wds)
        chosen = pick_lr(e["dev"]) if settled else (None, None)
        record = {"task": task, "model": model, "seed": study.tune["seed"], "steps": e["steps"],
                  "grid": [{"lr": lr, "best_dev": dev} if wd is None else {"lr": lr, "weight_decay": wd, "best_dev": dev}
                           for (lr, wd), dev in sorted(e["dev"].items(), key=lambda kv: (kv[0][1] or 0, kv[0][0]))],
                  "chosen_lr": chosen[0]}
        if wds != [None]:
            record["chosen_weight_decay"] = chosen[1]
        out.append({**record, "compute_s": e["compute_s"]})
    return out


def run_study(study: StudyConfig, out_root: str | Path = "runs", *, jobs: int = 1, data_dir: str | None = None,
              progress: bool = True, report_only: bool = False, command: str | None = None,
              reuse: str | list[str] | None = None) -> dict | None:
    """The study's results (None on a data-parallel rank other than 0). `reuse`: earlier runs'
    results.json files whose cells are put back where the study would train them the same way
    (reuse.py); where two hold the same cell, the first named wins."""
    start = time.perf_counter()
    study.check_tune()
    comm = connect(study.base.train.device)
    if comm.world > 1:
        jobs, progress = 1, progress and comm.main
    out = Path(out_root) / study.name
    if comm.main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "study.json").write_text(json.dumps(study.to_dict(), indent=2))
    tasks = _available_tasks(study, data_dir)
    data = {t.id: _data_for(study.task_base(t)) for t in tasks}  # cells run in this process reuse it
    vocab = {tid: tok.vocab_size for tid, (tok, _) in data.items()}
    sources = [reuse] if isinstance(reuse, str) else list(reuse or [])
    earlier = {str(source): load_earlier(source) for source in sources}
    for source, run in earlier.items() if comm.main else ():
        before = StudyConfig.from_dict(run["study"])
        known = [t for t in before.tasks if t.id in vocab]
        n = restore_tuning_cells(plan_tuning_cells(study, out, tasks, vocab), before,
                                 plan_tuning_cells(before, out, known, vocab), run, source)
        print(f"study {study.name}: {n} tuning cells restored from {source}", file=sys.stderr)
    comm.barrier()  # every rank sees the restored cells
    while True:  # an extended grid plans its next points once the earlier ones have finished
        tuning_cells = plan_tuning_cells(study, out, tasks, vocab)
        todo = [c for c in tuning_cells if not _finished(c)]
        if report_only or not todo:
            break
        _run_cells(todo, jobs, progress, "tuning cells")
        comm.barrier()  # every rank reads the tuning cells' results, which rank 0 writes
    tuning = tuning_results(study, tuning_cells)
    cells = plan_cells(study, out, tasks, vocab, {(t["task"], t["model"]): (t["chosen_lr"], t.get("chosen_weight_decay"))
                                                  for t in tuning if t["chosen_lr"] is not None})
    for source, run in earlier.items() if comm.main else ():
        n = restore_seed_cells(cells, run, source)
        print(f"study {study.name}: {n} of {len(cells)} cells restored from {source}", file=sys.stderr)
    comm.barrier()
    pending = [c for c in cells if not _finished(c)]
    if report_only:
        cells = [c for c in cells if c not in pending]
    elif pending:
        _run_cells(pending, jobs, progress)
    if not comm.main:
        return None
    results = {"name": study.name, "command": command or _command(), "environment": environment(),
               "study": study.to_dict(), "eval_steps": study.eval_steps, "tuning": tuning,
               "tasks": {t.id: _task_info(study, t, data[t.id][1]) for t in tasks},
               "cells": [json.loads((c.run_dir / "cell.json").read_text()) for c in cells if _finished(c)]}
    results["tuning_compute_s"] = sum(t["compute_s"] for t in tuning)
    results["compute_s"] = sum(c["wall_s"] + c["eval_s"] for c in results["cells"]) + results["tuning_compute_s"]
    results["wall_s"] = time.perf_counter() - start  # this invocation only
    results["jobs"] = jobs
    if earlier:  # what this invocation did not train: its wall time is its own
        results["reused"] = {"from": ", ".join(earlier), "cells": sum("restored_from" in c for c in results["cells"]),
                             # one source's wall time (of several, no single figure is the restored cells')
                             "wall_s": next(iter(earlier.values())).get("wall_s") if len(earlier) == 1 else None}
    previous = out / "results.json"
    if report_only and previous.exists():  # a report-only run trained nothing: keep the timing (and reuse) that did
        results.update({k: v for k, v in json.loads(previous.read_text()).items()
                        if k in ("wall_s", "jobs", "command", "reused")})
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
            "majority_baseline": {s: majority_baseline(train_answers, splits[s]) for s in EVAL_SPLITS if s in splits},
            **({"tune_with": task.tune_with} if task.tune_with else {})}


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
    if not same_run(done["run_config"], cell.cfg) or done["eval_steps"] != cell.eval_steps:
        raise ValueError(f"{path} was made with a different config than the study now asks for; "
                         f"delete {cell.run_dir} or give the study another name")
    return True


def _run_cells(cells: list[Cell], jobs: int, progress: bool, desc: str = "study cells") -> None:
    if not cells:
        return
    bar = tqdm(total=len(cells), desc=desc, unit="cell", disable=not progress, dynamic_ncols=True)

    def done(result: dict | None) -> None:
        if result is None:  # a data-parallel rank other than 0
            return
        ev = result["eval"]
        scores = (f"best dev {result['best_dev']:.3f}" if result["tuning"] else
                  f"test {ev['test']['accuracy']:.3f}  OOD {ev.get('ood', {}).get('accuracy', float('nan')):.3f}")
        bar.write(f"{result['key']}: {scores}  ({result['wall_s']:.0f}s train, {result['eval_s']:.0f}s eval)")
        bar.update(1)

    if jobs <= 1:
        for cell in cells:
            done(run_cell(cell))
    else:  # spawn: a forked child would inherit the parent's OpenMP state
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=exit_with_parent) as pool:
            for future in as_completed([pool.submit(run_cell, cell) for cell in cells]):
                done(future.result())
    bar.close()


def exit_with_parent() -> None:
    """A worker's initializer: end the worker when the study process ends, however it ends (a
    killed study would otherwise leave its workers training, and a rerun would train the same
    cell twice at once). The cell resumes from its last checkpoint on the next run."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=lambda: (parent.join(), os._exit(1)), daemon=True).start()


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
    if not is_main():
        return None  # rank 0 evaluates and writes cell.json
    device = pick_device(cfg.train.device)
    model, _, _, best = load_model(cell.run_dir / "checkpoints" / "best.safetensors", device=device)
    m = cfg.model
    trained_depth = cfg.model.trained_steps if cfg.model.recursive else 1
    eval_start = time.perf_counter()
    evals = {}
    sets = {split: splits[split] for split in (("dev",) if cell.tuning else EVAL_SPLITS) if split in splits}
    if not cell.tuning:  # tuning cells are scored on dev only: the held-out sets are for the study seeds
        sets.update({name: _eval_set(cfg, spec, tokenizer) for name, spec in cell.task.eval_sets.items()})
    task = make_data_task(cfg.data)  # scores every set of it (Task.score_predictions), in this cell's answer format
    if not cell.tuning and "train" in splits and not isinstance(task, GridTask):  # the generalisation gap
        sets["train"] = splits["train"].head(TRAIN_EVAL)
    per_row = bool(getattr(m, "loops_per_token", 0))  # a size-rule model reads dev at each row's count
    for name, split in sets.items():
        # dev only picks the checkpoint and train measures the gap: both at the trained readout
        steps = (None if per_row else trained_depth) if name in ("dev", "train") else cell.eval_steps
        if cell.eval_steps > 1:  # a set's own test-time cap (a one-pass model has one step everywhere)
            steps = cell.task.eval_sets.get(name, {}).get("steps", steps)
        r = evaluate(model, split, tokenizer, steps=steps if cfg.model.recursive else None,
                     batch_size=cfg.train.eval_batch_size, device=device, precision=cfg.train.precision)
        evals[name] = {**r.summary(trained_depth, patience=cell.settle_patience),
                       **task.score_predictions(split.examples, r.predictions)}
        if name not in ("dev", "train"):  # what each answer cost, at the model's readout
            evals[name]["cost"] = answer_cost(model, split, r, tokenizer, _readout(r, cell, trained_depth),
                                              device=device, precision=cfg.train.precision)
    totals = meta["totals"]
    result = {
        "task": cell.task.id, "model": cell.spec.name, "label": model_label(cell.spec, cfg),
        "groups": list(cell.spec.groups), "seed": cell.seed, "key": cell.key, "tuning": cell.tuning, "kind": m.kind,
        "recursive": cell.eval_steps > 1, "params": meta["params"], "precision": cfg.train.precision,
        "train_steps": meta["step"], "best_checkpoint_step": best["step"], "best_dev": meta["best_dev"],
        "wall_s": totals["wall_s"], "eval_s": time.perf_counter() - eval_start,
        "train_examples": totals["new_examples"], "train_rows": totals["rows"],
        "train_flops": totals["flops"], "train_flops_per_example": totals["flops"] / max(totals["new_examples"], 1),
        "train_mean_halt_step": _train_halt_step(cell.run_dir),
        "n_latent": getattr(m, "n_latent", None), "n_cycles": getattr(m, "n_cycles", None),
        "n_sup": getattr(m, "n_sup", None), "n_layers": m.n_layers, "d_model": m.d_model,
        "net_calls_per_step": getattr(m, "net_calls_per_step", None),
        "config": m.to_dict(), "run_config": cfg.to_dict(), "eval_steps": cell.eval_steps, "eval": evals,
    }
    result["grid"] = isinstance(task, GridTask)
    if result["grid"] and "test" in sets:  # grids: a few boards, step by step, for the report
        result["boards"] = board_samples(model, splits["test"], tokenizer, steps=cell.eval_steps,
                                         device=device, precision=cfg.train.precision)
    write_cell(cell.run_dir, result)
    return result


def _readout(r, cell: Cell, trained_depth: int):
    """[N] iterations at a recursive model's headline readout beyond training: the settle stop where
    the study has one, else its size rule or trained count; None for a one-pass model."""
    if cell.eval_steps <= 1:
        return None
    if cell.settle_patience:
        return r.settle_step(cell.settle_patience)
    if r.rule_step is not None:
        return r.rule_step.clamp(max=r.steps)
    import torch
    return torch.full((len(r.difficulty),), min(trained_depth, r.steps), dtype=torch.long)


def _train_halt_step(run_dir: Path) -> float | None:
    """Mean supervision steps a training row ran, over the last quarter of training."""
    path = run_dir / "metrics.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    halts = [r["mean_halt_step"] for r in records if "mean_halt_step" in r]
    tail = halts[-max(len(halts) // 4, 1):]
    return sum(tail) / len(tail) if tail else None

