"""The `trmlab` command line.

    trmlab compare [--preset default|smoke]      the main job: reasoner vs same-size transformer
    trmlab study   cpu-quick|cpu|paper|FILE.json  the study: models × tasks × seeds, with statistics
    trmlab train   [--preset P | --config run.json] [--model reasoner|transformer]
    trmlab eval    MODEL [--split dev|test|ood|all | --file q.jsonl] [--steps S] [-k KNOB=VALUE]
    trmlab solve   MODEL "question" [--raw] [--until-settled K]   watch the reasoner think, step by step
    trmlab demo    MODEL                          the same in a web page (pip install 'trmlab[demo]')
    trmlab export  CHECKPOINT --out DIR           a Hugging Face Hub model folder with a model card
    trmlab push    DIR OWNER/NAME                 upload it to the Hub (pip install 'trmlab[hub]')
    trmlab data    list | show | stats | export   the tasks

MODEL is a training checkpoint (.safetensors), a run folder (its best checkpoint), an exported
folder or a Hub repo id. Errors in what the user gave (files, names, configs) print one line and exit 2.
"""
from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import replace
from pathlib import Path

from .config import LOG_KINDS, RunConfig, apply_overrides
from .study.presets import RUN_PRESETS, run_preset


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="default", choices=sorted(RUN_PRESETS), help="named configuration")
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
    cfg = RunConfig.load(args.config) if args.config else run_preset(args.preset)
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
    """A grid task (or another task answered in place) reads its answer in place, a text task
    in answer slots, a story in words: switch a preset made for the other kind (`trmlab train
    --task sudoku` from the text default)."""
    from .data import data_task
    from .tasks.grid.base import GridTask
    task = data_task(cfg.data)  # its knobs decide the layout too (`trace` answers after the question)
    if task.in_place and cfg.data.answer_len and cfg.model.kind != "transformer":
        cfg.data.answer_len = cfg.model.answer_len = 0
    if getattr(task, "vocabulary", None):  # a story: one token per word of its own vocabulary
        cfg.data.tokenizer = "word"
    if isinstance(task, GridTask):
        rows, cols = task.shape()
        cfg.data.max_question_len = max(cfg.data.max_question_len, task.most_cells())
        if cfg.model.mixer == "mlp":
            cfg.model.question_len = rows * cols


def _say_precision(train) -> None:
    """One line on stderr: which precision runs and why (rank 0 only under torchrun)."""
    import os
    from .precision import precision_line
    if os.environ.get("RANK", "0") == "0":
        print(precision_line(train.precision, train.device), file=sys.stderr)


def cmd_compare(args) -> int:
    from .compare import run_compare
    cfg = _run_config(args)
    _say_precision(cfg.train)
    results = run_compare(cfg, args.out, resume=args.resume, progress=not args.no_progress,
                          eval_steps=args.eval_steps)
    if results is None:  # a data-parallel rank other than 0: rank 0 reports
        return 0
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
        study.tasks = [replace(t, seeds=[]) for t in study.tasks]  # every task and model at these seeds
        study.models = [replace(m, seeds=[]) for m in study.models]
    if args.tasks:
        wanted, ids = args.tasks.split(","), [t.id for t in study.tasks]
        unknown = [t for t in wanted if t not in ids]
        if unknown:
            raise ValueError(f"study {study.name!r} has no task {', '.join(unknown)}; its tasks: {', '.join(ids)}")
        study.tasks = [t for t in study.tasks if t.id in wanted]
    if args.steps:  # every cell, where a task or a model sets its own steps too
        study.override([f"train.steps={args.steps}"])
    study.override(args.override)
    if args.log:
        study.base.train.log = args.log
    _say_precision(study.base.train)
    results = run_study(study, args.out, jobs=args.jobs, data_dir=args.data_dir,
                        progress=not args.no_progress, report_only=args.report_only, reuse=args.reuse)
    if results is None:  # a data-parallel rank other than 0: rank 0 reports
        return 0
    print(f"{len(results['cells'])} cells, {results['compute_s'] / 60:.1f} min of compute; "
          f"report: {Path(args.out) / study.name / 'report.md'}")
    return 0


def cmd_train(args) -> int:
    from .data import load_splits
    from .training.distributed import is_main
    from .training.trainer import train
    cfg = _run_config(args)
    if args.model == "transformer" and cfg.model.kind != "transformer":
        from .compare import plan
        tokenizer, _ = load_splits(cfg.data, splits=("dev",))
        cfg = plan(cfg, Path(args.out), tokenizer.vocab_size)[1].cfg  # sized to the reasoner
    out = Path(args.out) / cfg.name
    _say_precision(cfg.train)
    result = train(cfg, out, resume=args.resume, progress=not args.no_progress)
    if not is_main():
        return 0
    print(f"{cfg.name}: {result.params:,} params, {result.steps} steps in {result.wall_s:.0f}s "
          f"({result.rows_per_s:.1f} rows/s), best dev accuracy {result.best_dev:.3f}")
    print(f"checkpoints: {out / 'checkpoints'}")
    return 0


def cmd_eval(args) -> int:
    from .evaluation import evaluate
    from .hub import load_any
    from .precision import pick_device, precision_line, serving_precision
    device = pick_device("auto")
    model, cfg, tokenizer, meta = load_any(args.checkpoint, ema=not args.raw, device=device)
    precision = args.precision or serving_precision(cfg.train.precision, device.type)
    print(precision_line(precision, device.type) + f"; the model trained in {cfg.train.precision}", file=sys.stderr)
    if args.file:
        if args.split or args.knob or args.n:
            raise ValueError("--file is the evaluation set: it takes no --split, -k or --n")
        from .evaluation.question_file import read_question_file, summary
        split, left_out = read_question_file(args.file, tokenizer, cfg)
        where = str(args.file)
    else:
        args.split = args.split or "dev"
        split, left_out = _eval_split(args, cfg, tokenizer), {}
        where = f"{cfg.data.task}/{args.split}"
    result = evaluate(model, split, tokenizer, steps=args.steps or None, device=device,
                      batch_size=cfg.train.eval_batch_size, precision=precision)
    s = result.summary(patience=args.until_settled)
    readout = "at each question's T(n)" if s.get("readout") else f"after {result.steps} step(s)"
    print(f"{args.checkpoint} (step {meta['step']}, {meta['params']:,} params) on {where}, "
          f"{s['n']} examples: accuracy {s['accuracy']:.3f} {readout}")
    if "accuracy_at_settle" in s:
        print(f"until settled (the answer unchanged for {args.until_settled} iterations, at most {result.steps}): "
              f"accuracy {s['accuracy_at_settle']:.3f} after {s['mean_settle_step']:.1f} iterations on average, "
              f"{s['never_settled']:.1%} never settled; iterations by {'question length' if args.file else 'difficulty'}: "
              + ", ".join(f"{k}: {v:.1f}" for k, v in s["settle_step_by_difficulty"].items()))
    if left_out:
        print(f"left out {sum(map(len, left_out.values()))} line(s) that do not fit this model: {summary(left_out)}")
    if "cell_accuracy" in s:
        print(f"cell accuracy {s['cell_accuracy']:.3f}; by supervision step: "
              + " ".join(f"{i + 1}:{a:.3f}" for i, a in enumerate(s["cell_accuracy_by_step"])))
    if result.steps > 1:
        print("accuracy by supervision step: " + " ".join(f"{i + 1}:{a:.3f}" for i, a in enumerate(s["accuracy_by_step"])))
        print(f"halting: mean step {s['mean_halt_step']:.2f}, never {s['never_halted']:.1%}, "
              f"accuracy at halt {s['accuracy_at_halt']:.3f}")
        print("state residual |f(s)-s|/|f(s)| by step (0 at a fixed point): "
              + " ".join(f"{i + 1}:{r:.3g}" for i, r in enumerate(s["residual_by_step"])))
    by_size = s["accuracy_by_difficulty"]
    if not args.file:
        print("accuracy by difficulty: " + ", ".join(f"{k}: {v:.3f}" for k, v in by_size.items()))
    elif len(by_size) > 1:  # a file's lines are sized by their question's length
        print("accuracy by question length (tokens): " + ", ".join(f"{k}: {v:.3f}" for k, v in by_size.items()))
    return 0


def _eval_split(args, cfg, tokenizer):
    """The task's split (or a file-backed set, -k knobs applied) that `trmlab eval` scores."""
    from .data import load_eval_set, load_splits
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
        return load_eval_set(data_cfg, "all", args.n or 10**9, tokenizer)
    data_cfg = replace(data_cfg, **{f"n_{s}": 0 for s in ("train", "dev", "test", "ood") if s != args.split})
    if args.n:
        setattr(data_cfg, f"n_{args.split}", args.n)
    return load_splits(data_cfg, splits=(args.split,), tokenizer=tokenizer)[1][args.split]


def cmd_solve(args) -> int:
    from .evaluation.think import slot_tokens, think
    from .hub import load_any
    from .model.describe import MODEL_NAMES, describe_training
    from .data import make_data_task
    from .tasks.grid.base import render
    model, cfg, tokenizer, _ = load_any(args.checkpoint)
    thinking = think(model, cfg, tokenizer, args.question, args.steps or None, args.until_settled)
    m = cfg.model
    print(f"{MODEL_NAMES.get(m.kind, m.kind)}; trained by {describe_training(m)}")
    print(args.question)
    story = tokenizer.kind == "word" and not m.answer_len  # a story answered in place, word by word
    filler = make_data_task(cfg.data).filler if story else ""
    for step in thinking.steps:
        line = f"step {step.number:3d}:" if m.recursive else "answer:"
        if story:  # the word at the question mark, then what else it wrote (a trace's states)
            line += " " + _story_answer(step.answer, filler)
        elif not thinking.grid_shape:  # the decoded answer, as evaluation scores it
            line += f" {step.answer}" if step.answer else " (empty)"
            if m.answer_len and not step.ended:  # an in-place answer has no EOS
                line += f"   (unfinished: no EOS in its {len(step.slots)} answer slots)"
        if step.halt_prob is not None:
            line += f"   halt probability {step.halt_text}"
        if step.residual is not None:
            line += f"   residual {step.residual:.3g}"
        print(line)
        if args.raw:
            print("    slots: " + " ".join(slot_tokens(step.slots, tokenizer)))
        if thinking.grid_shape:
            print("\n".join("    " + row for row in render(step.answer, thinking.grid_shape[1])))
    return 0


def _story_answer(written: str, filler: str) -> str:
    """`5   (also written: 3 0 5)`: a story's in-place answer, its last word first, fillers dropped."""
    words = written.split()
    others = [w for w in words[:-1] if w != filler]
    return (words[-1] if words else "(empty)") + (f"   (also written: {' '.join(others)})" if others else "")


def cmd_demo(args) -> int:
    from .demo import launch
    launch(args.checkpoint, host=args.host, port=args.port)
    return 0


def cmd_export(args) -> int:
    from .hub import export
    out = export(args.checkpoint, args.out, force=args.force, license=args.license)
    print(f"exported to {out}: " + ", ".join(sorted(p.name for p in out.iterdir())))
    return 0


def cmd_push(args) -> int:
    from .hub import push
    print(push(args.folder, args.repo_id, private=args.private, token=args.token))
    return 0


def _count(text: str) -> int:
    """argparse type: a whole number >= 0."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trmlab", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compare", help="train the reasoner and a same-size transformer, write a report")
    _add_run_args(p)
    p.add_argument("--out", default="runs", help="parent folder of the run (default: runs)")
    p.add_argument("--eval-steps", type=_count, default=0, help="supervision steps for the depth curve (default 4×N_sup, at least 8)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("study", help="a grid of models × tasks × seeds, resumable, with a report")
    p.add_argument("study", help="a preset (cpu-quick, cpu, paper, smoke) or a study .json file")
    p.add_argument("--out", default="runs", help="parent folder (default: runs)")
    p.add_argument("--jobs", type=int, default=2, help="cells trained at once, in separate processes (default 2; "
                   "under torchrun every cell trains on all processes, one cell at a time)")
    p.add_argument("--data-dir", help="folder of the real data sets (default: $TRMLAB_DATA_DIR); "
                   "without one, real-data tasks are skipped")
    p.add_argument("--seeds", help="comma-separated training seeds instead of the study's (every task's "
                                   "and model's), e.g. 0,1,2")
    p.add_argument("--tasks", help="comma-separated task ids: only these of the study's tasks (the cells of "
                   "the others are untouched; a later run of the whole study reuses these), e.g. shell_game")
    p.add_argument("--reuse", metavar="RESULTS_JSON", action="append", help="an earlier run's results.json: its "
                   "cells that the study would train the same way are put back, and only the rest are trained "
                   "(repeatable: the first that holds a cell gives it)")
    p.add_argument("--steps", type=_count, default=0, help="optimiser steps per cell instead of the study's")
    p.add_argument("-o", "--override", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="change one setting in every cell (the base's and wherever a task or model sets its "
                        "own), e.g. -o train.precision=fp32 (repeatable)")
    p.add_argument("--report-only", action="store_true", help="report the finished cells; train nothing")
    p.add_argument("--log", choices=LOG_KINDS, help="tensorboard: every cell's curves also as TensorBoard "
                   "events (tensorboard --logdir OUT/STUDY shows the whole study)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_study)

    p = sub.add_parser("train", help="train one model")
    _add_run_args(p)
    p.add_argument("--model", choices=["reasoner", "transformer"], default=None,
                   help="transformer: the LM sized to the config's reasoner")
    p.add_argument("--out", default="runs", help="parent folder of the run (default: runs)")
    p.set_defaults(func=cmd_train)

    model_help = "a checkpoint (.safetensors), run folder, exported folder or Hub repo id"
    p = sub.add_parser("eval", help="evaluate a checkpoint")
    p.add_argument("checkpoint", help=model_help)
    p.add_argument("--split", choices=["train", "dev", "test", "ood", "all"],
                   help="default dev; all: every example of a file-backed set, e.g. -k source=top1465")
    p.add_argument("--file", type=Path, help='your own questions: JSONL of {"question", "answer"} '
                   "(GSM8K's '#### N' answers too)")
    p.add_argument("-k", "--knob", action="append", default=[], metavar="NAME=VALUE",
                   help="change a task knob for this evaluation, e.g. -k source=diabolical (repeatable)")
    p.add_argument("--data-dir", help="folder of the real data sets (default: $TRMLAB_DATA_DIR)")
    p.add_argument("--steps", type=_count, default=0, help="supervision steps (default: the model's N_sup)")
    p.add_argument("--n", type=_count, default=0, help="examples (default: the run's split size)")
    p.add_argument("--raw", action="store_true", help="the raw weights instead of the EMA")
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"], help="default: the one the model trained in, "
                   "or fp32 where that is bf16 and this machine only emulates it")
    p.add_argument("--until-settled", type=_count, default=0, metavar="K",
                   help="also read each answer once it is unchanged for K iterations (within --steps), with the "
                        "iterations that took per difficulty")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("solve", help="print the reasoner's answer after every supervision step")
    p.add_argument("checkpoint", help=model_help)
    p.add_argument("question")
    p.add_argument("--steps", type=_count, default=0, help="supervision steps (default: the model's N_sup)")
    p.add_argument("--raw", action="store_true", help="also print every answer slot's raw token (<eos>, <pad> by name)")
    p.add_argument("--until-settled", type=_count, default=0, metavar="K",
                   help="iterate until the answer is unchanged for K iterations (at most --steps, default 256)")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("demo", help="a web page that shows the answer after every step (Gradio)")
    p.add_argument("checkpoint", help=model_help)
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("export", help="write a checkpoint as a Hugging Face Hub model folder")
    p.add_argument("checkpoint", help="a training checkpoint (.safetensors) or a run folder (its best checkpoint)")
    p.add_argument("--out", required=True, help="the folder to write (must not exist, unless --force)")
    p.add_argument("--force", action="store_true", help="replace an existing folder")
    p.add_argument("--license", default="mit", help="the model card's license (default mit)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("push", help="upload an exported folder to the Hugging Face Hub")
    p.add_argument("folder", type=Path)
    p.add_argument("repo_id", help="OWNER/NAME; created if it does not exist")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--token", help="a Hub token (default: huggingface_hub's login or $HF_TOKEN)")
    p.set_defaults(func=cmd_push)

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
    from .training.distributed import disconnect
    from .training.trainer import NonFiniteError
    try:
        return args.func(args)
    except (ValueError, OSError, CheckpointError, NonFiniteError, ImportError) as e:
        # OSError: a full disk, a read-only or missing folder (FileNotFoundError, FileExistsError)
        print(f"trmlab {args.command}: error: {e}", file=sys.stderr)
        return 2
    finally:
        disconnect()


if __name__ == "__main__":
    sys.exit(main())
