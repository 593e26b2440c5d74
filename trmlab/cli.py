"""The `trmlab` command line.

    trmlab compare [--preset default|smoke]      the main job: reasoner vs same-size transformer
    trmlab study   cpu-quick|cpu|paper|FILE.json  the study: models × tasks × seeds, with statistics
    trmlab train   [--preset P | --config run.json] [--model reasoner|transformer]
    trmlab eval    CHECKPOINT [--split dev|test|ood|all] [--steps S] [-k KNOB=VALUE]
    trmlab solve   CHECKPOINT "question"          watch the reasoner think, step by step
    trmlab data    list | show | stats | export   the tasks

Errors in what the user gave (files, names, configs) print one line and exit 2.
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import torch

from .config import PRESETS, RunConfig, apply_overrides, preset, transformer_twin


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="default", choices=sorted(PRESETS), help="named configuration")
    p.add_argument("--config", type=Path, help="a run config JSON (e.g. a run's config.json); overrides --preset")
    p.add_argument("-o", "--override", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="change one setting, e.g. -o train.steps=500 -o model.n_sup=8 (repeatable)")
    p.add_argument("--task", help="train on this task instead of the preset's (see `trmlab data list`); "
                   "the preset's task knobs are dropped")
    p.add_argument("--data-dir", help="folder of the real data sets (default: $TRMLAB_DATA_DIR)")
    p.add_argument("--name", help="run name (default: the preset's)")
    p.add_argument("--seed", type=int, help="training seed (model init, data order)")
    p.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _run_config(args) -> RunConfig:
    cfg = RunConfig.load(args.config) if args.config else preset(args.preset)
    if args.task:
        cfg.data.task, cfg.data.knobs = args.task, {}
        _fit_layout(cfg)
    if args.data_dir:
        cfg.data.knobs["data_dir"] = args.data_dir
    cfg = apply_overrides(cfg, args.override)
    if args.name:
        cfg.name = args.name
    if args.seed is not None:
        cfg.train.seed = args.seed
    return cfg


def _fit_layout(cfg: RunConfig) -> None:
    """A grid task reads its answer in place, a text task in answer slots: switch a preset made
    for the other kind (`trmlab train --task sudoku` from the text default)."""
    from .tasks import make_task
    from .tasks.grid.base import GridTask
    task = make_task(cfg.data.task)
    if isinstance(task, GridTask) and cfg.data.answer_len:
        rows, cols = task.shape()
        cfg.data.answer_len = cfg.model.answer_len = 0
        cfg.data.max_question_len = max(cfg.data.max_question_len, rows * cols)
        if cfg.model.mixer == "mlp":
            cfg.model.question_len = rows * cols


def cmd_compare(args) -> int:
    from .compare import run_compare
    cfg = _run_config(args)
    results = run_compare(cfg, args.out, resume=args.resume, progress=not args.no_progress,
                          eval_steps=args.eval_steps)
    out = Path(args.out) / cfg.name
    for label, m in results["models"].items():
        ev = m["eval"]
        print(f"{label:20s} params {m['params']:>10,}  dev {ev['dev']['accuracy']:.3f}  "
              f"OOD {ev.get('ood', {}).get('accuracy', float('nan')):.3f}  "
              f"{m['examples_per_s']:.1f} new examples/s  {m['wall_s']:.0f}s")
    print(f"report: {out / 'report.md'}")
    return 0


def cmd_study(args) -> int:
    from .study import load_study, run_study
    study = load_study(args.study)
    if args.seeds:
        study.seeds = [int(s) for s in args.seeds.split(",")]
    if args.steps:
        study.base.train.steps = args.steps
    results = run_study(study, args.out, jobs=args.jobs, data_dir=args.data_dir,
                        progress=not args.no_progress, report_only=args.report_only)
    print(f"{len(results['cells'])} cells, {results['compute_s'] / 60:.1f} min of compute; "
          f"report: {Path(args.out) / study.name / 'report.md'}")
    return 0


def cmd_train(args) -> int:
    from .data import load_splits
    from .training.trainer import train
    cfg = _run_config(args)
    if args.model == "transformer" and cfg.model.kind != "transformer":
        from .compare import plan
        tokenizer, _ = load_splits(cfg.data, splits=("dev",))
        cfg = plan(cfg, Path(args.out), tokenizer.vocab_size)[1].cfg  # sized to the reasoner
    out = Path(args.out) / cfg.name
    result = train(cfg, out, resume=args.resume, progress=not args.no_progress)
    print(f"{cfg.name}: {result.params:,} params, {result.steps} steps in {result.wall_s:.0f}s "
          f"({result.rows_per_s:.1f} rows/s), best dev accuracy {result.best_dev:.3f}")
    print(f"checkpoints: {out / 'checkpoints'}")
    return 0


def cmd_eval(args) -> int:
    from dataclasses import replace

    from .data import load_eval_set, load_splits
    from .evaluation import evaluate
    from .training.trainer import load_model
    from .training.precision import pick_device
    device = pick_device("auto")
    model, cfg, tokenizer, meta = load_model(args.checkpoint, ema=not args.raw, device=device)
    knobs = dict(cfg.data.knobs)
    for item in args.knob:  # e.g. -k source=top1465: another set of the same task
        key, _, raw = item.partition("=")
        try:
            knobs[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            knobs[key] = raw
    if args.data_dir:
        knobs["data_dir"] = args.data_dir
    data_cfg = replace(cfg.data, knobs=knobs)
    if args.split == "all":  # every example of a file-backed set (e.g. top1465)
        split = load_eval_set(data_cfg, "all", args.n or 10**9, tokenizer)
    else:
        data_cfg = replace(data_cfg, **{f"n_{s}": 0 for s in ("train", "dev", "test", "ood") if s != args.split})
        if args.n:
            setattr(data_cfg, f"n_{args.split}", args.n)
        split = load_splits(data_cfg, splits=(args.split,), tokenizer=tokenizer)[1][args.split]
    result = evaluate(model, split, tokenizer, steps=args.steps or None, device=device,
                      batch_size=cfg.train.eval_batch_size, precision=cfg.train.precision)
    s = result.summary()
    print(f"{args.checkpoint} (step {meta['step']}, {meta['params']:,} params) on {cfg.data.task}/{args.split}, "
          f"{s['n']} examples: accuracy {s['accuracy']:.3f} after {result.steps} step(s)")
    if "cell_accuracy" in s:
        print(f"cell accuracy {s['cell_accuracy']:.3f}; by supervision step: "
              + " ".join(f"{i + 1}:{a:.3f}" for i, a in enumerate(s["cell_accuracy_by_step"])))
    if result.steps > 1:
        print("accuracy by supervision step: " + " ".join(f"{i + 1}:{a:.3f}" for i, a in enumerate(s["accuracy_by_step"])))
        print(f"halting: mean step {s['mean_halt_step']:.2f}, never {s['never_halted']:.1%}, "
              f"accuracy at halt {s['accuracy_at_halt']:.3f}")
    print("accuracy by difficulty: " + ", ".join(f"{k}: {v:.3f}" for k, v in s["accuracy_by_difficulty"].items()))
    return 0


def cmd_solve(args) -> int:
    from .data import TooLongError
    from .evaluation.evaluate import board_text
    from .tasks.grid.base import render
    from .training.trainer import load_model
    model, cfg, tokenizer, _ = load_model(args.checkpoint)
    if not cfg.model.recursive:
        print("solve shows the reasoner's steps; this checkpoint is a "
              f"{cfg.model.kind}", file=sys.stderr)
    ids = tokenizer.encode(args.question)
    limit = cfg.model.question_len or cfg.data.max_question_len
    if len(ids) > limit:
        raise TooLongError(f"question has {len(ids)} tokens; this model reads at most {limit}")
    cols = 0
    if cfg.model.answer_len == 0:  # a grid puzzle: the question is the whole board, row-major
        from .data import make_data_task
        rows, cols = make_data_task(cfg.data).shape()
        if len(ids) != rows * cols:
            raise ValueError(f"a {cfg.data.task} board has {rows * cols} cells ({rows}x{cols}, row-major); "
                             f"got {len(ids)} characters")
    width = cfg.model.fixed_question_width or len(ids)
    question = torch.zeros(1, width, dtype=torch.long)
    question[0, :len(ids)] = torch.tensor(ids)
    batch = {"question": question, "question_len": torch.tensor([len(ids)])}
    out = model.predict(batch, args.steps or None)
    print(args.question)
    halts = out.get("halt_logits")
    for step, tokens in enumerate(out["tokens"]):
        answer = tokenizer.decode(tokens[0]) if not cols else board_text(tokens[0], tokenizer)
        line = f"step {step + 1:3d}: {answer!r}" if not cols else f"step {step + 1:3d}:"
        if halts is not None:
            line += f"   halt probability {torch.sigmoid(halts[step, 0]).item():.3f}"
        print(line)
        if cols:
            print("\n".join("    " + row for row in render(answer, cols)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trmlab", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compare", help="train the reasoner and a same-size transformer, write a report")
    _add_run_args(p)
    p.add_argument("--out", default="runs", help="parent folder of the run (default: runs)")
    p.add_argument("--eval-steps", type=int, default=0, help="supervision steps for the depth curve (default 4×N_sup, at least 8)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("study", help="a grid of models × tasks × seeds, resumable, with a report")
    p.add_argument("study", help="a preset (cpu-quick, cpu, paper, smoke) or a study .json file")
    p.add_argument("--out", default="runs", help="parent folder (default: runs)")
    p.add_argument("--jobs", type=int, default=2, help="cells trained at once, in separate processes (default 2)")
    p.add_argument("--data-dir", help="folder of the real data sets (default: $TRMLAB_DATA_DIR); "
                   "without one, real-data tasks are skipped")
    p.add_argument("--seeds", help="comma-separated training seeds instead of the study's, e.g. 0,1,2")
    p.add_argument("--steps", type=int, default=0, help="optimiser steps per cell instead of the study's")
    p.add_argument("--report-only", action="store_true", help="report the finished cells; train nothing")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_study)

    p = sub.add_parser("train", help="train one model")
    _add_run_args(p)
    p.add_argument("--model", choices=["reasoner", "transformer"], default=None,
                   help="transformer: the LM sized to the config's reasoner")
    p.add_argument("--out", default="runs", help="parent folder of the run (default: runs)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="evaluate a checkpoint")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--split", default="dev", choices=["train", "dev", "test", "ood", "all"],
                   help="all: every example of a file-backed set, e.g. -k source=top1465")
    p.add_argument("-k", "--knob", action="append", default=[], metavar="NAME=VALUE",
                   help="change a task knob for this evaluation, e.g. -k source=diabolical (repeatable)")
    p.add_argument("--data-dir", help="folder of the real data sets (default: $TRMLAB_DATA_DIR)")
    p.add_argument("--steps", type=int, default=0, help="supervision steps (default: the model's N_sup)")
    p.add_argument("--n", type=int, default=0, help="examples (default: the run's split size)")
    p.add_argument("--raw", action="store_true", help="the raw weights instead of the EMA")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("solve", help="print the reasoner's answer after every supervision step")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("question")
    p.add_argument("--steps", type=int, default=0, help="supervision steps (default: the model's N_sup)")
    p.set_defaults(func=cmd_solve)

    from .tasks.cli import add_data_parser
    add_data_parser(sub)
    try:  # the benchmark command is optional while it is being built
        from .bench import add_bench_parser
    except ImportError:
        pass
    else:
        add_bench_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .training.checkpoint import CheckpointError
    try:
        return args.func(args)
    except (ValueError, FileExistsError, FileNotFoundError, CheckpointError, ImportError) as e:
        print(f"trmlab {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
