"""`trmlab data ...`: list the tasks, show, measure and export their examples.

    trmlab data list
    trmlab data show arithmetic --n 5 -k train_difficulty=4
    trmlab data stats gsm8k --data-dir ../shared/data -k max_steps=3 -k max_chars=200
    trmlab data export mawps --split test --out mawps-test.jsonl

`add_data_parser(subparsers)` registers the command; every handler returns an exit
code, and errors are one line on stderr with exit code 2.
"""
from __future__ import annotations

import argparse
import ast
import json
import statistics
import sys
from collections import Counter

from . import SPLITS, ProceduralTask, RealTask, make_task, task_names
from .base import _REGISTRY
from .real.base import ENV_VAR

ERRORS = (ValueError, FileNotFoundError, ImportError, OSError, KeyError)


def add_data_parser(subparsers) -> argparse.ArgumentParser:
    data = subparsers.add_parser("data", help="list, show, measure and export tasks",
                                 description=__doc__.split("\n\n")[0])
    data.set_defaults(func=run_data_command)
    sub = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="tasks with their knobs and defaults").set_defaults(data_handler=cmd_list)
    _task_parser(sub, "show", "print examples with difficulty and solution", cmd_show, n=5)
    stats = _task_parser(sub, "stats", "length and difficulty histograms, filter counts, token lengths",
                         cmd_stats, n=2000)
    stats.add_argument("--bpe-vocab", type=int, default=512, help="BPE vocabulary size (default 512)")
    export = _task_parser(sub, "export", "write examples as JSONL", cmd_export, n=1000)
    export.add_argument("--out", required=True, help="output .jsonl file")
    return data


def _task_parser(sub, name: str, help_text: str, handler, n: int) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text)
    p.add_argument("task", help="task name (see `data list`); gym:NAME for a reasoning-gym dataset")
    p.add_argument("--n", type=int, default=n, help=f"number of examples (default {n})")
    p.add_argument("--split", default="train", choices=SPLITS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-k", "--knob", action="append", default=[], metavar="KNOB=VALUE",
                   help="task setting, repeatable (e.g. -k train_difficulty=4 -k max_steps=3)")
    p.add_argument("--data-dir", default=None, help=f"folder of the real data sets (overrides ${ENV_VAR})")
    p.set_defaults(data_handler=handler)
    return p


def run_data_command(args) -> int:
    """Run a parsed `data` command: its exit code; errors as one line on stderr, exit code 2."""
    try:
        return args.data_handler(args)
    except ERRORS as e:
        message = str(e).replace("\n", " ") if not isinstance(e, KeyError) else f"missing {e}"
        print(f"trmlab data: error: {message}", file=sys.stderr)
        return 2


# ----------------------------------------------------------------- building the task

def task_from_args(args):
    cls = _REGISTRY.get(args.task.partition(":")[0])
    knobs = dict(_parse_knob(item, cls) for item in args.knob)
    if args.data_dir is not None and cls is not None and "data_dir" in cls.__dataclass_fields__:
        knobs["data_dir"] = args.data_dir
    return make_task(args.task, **knobs)


def _parse_knob(item: str, cls) -> tuple[str, object]:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"knob {item!r} must look like name=value (e.g. train_difficulty=4,6)")
    key = key.strip()
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    field = getattr(cls, "__dataclass_fields__", {}).get(key)
    if field is not None and isinstance(field.default, tuple):  # a range: "4" means 4..4
        value = (value, value) if isinstance(value, int) else tuple(value)
    return key, value


# ----------------------------------------------------------------- commands

def cmd_list(args) -> int:
    groups = {"procedural families": ProceduralTask, "real sets (--data-dir or $" + ENV_VAR + ")": RealTask}
    listed = set()
    for title, base in [*groups.items(), ("optional", object)]:
        names = [n for n in task_names() if issubclass(_REGISTRY[n], base) and n not in listed]
        if names:
            print(f"{title}:")
        for name in names:
            listed.add(name)
            cls = _REGISTRY[name]
            doc = (cls.__doc__ or "").strip().splitlines()[0]
            print(f"  {name:<18} {doc}")
            knobs = cls(name=name).knobs()
            print("  " + " " * 19 + (", ".join(f"{k}={v!r}" for k, v in knobs.items()) or "(no knobs)"))
    return 0


def cmd_show(args) -> int:
    from .grid.base import GridTask, render
    task = task_from_args(args)
    for i, ex in enumerate(task.examples(args.split, args.n, args.seed), 1):
        print(f"[{args.split} #{i}] difficulty {ex.difficulty}")
        if isinstance(task, GridTask):  # puzzle and answer side by side, row by row
            cols = task.shape()[1]
            print("\n".join(f"  {q}   {a}" for q, a in zip(render(ex.question, cols), render(ex.answer, cols))))
        else:
            print(f"  Q: {ex.question}")
            print(f"  A: {ex.answer}")
        if ex.solution:
            print(f"  solution: {ex.solution}")
    return 0


def cmd_export(args) -> int:
    examples = task_from_args(args).examples(args.split, args.n, args.seed)
    with open(args.out, "w", encoding="utf-8") as f:
        for ex in examples:
            f.write(json.dumps(ex.to_dict()) + "\n")
    print(f"wrote {len(examples)} {args.split} examples to {args.out}")
    return 0


def cmd_stats(args) -> int:
    from ..tokenizer import BPETokenizer, CharTokenizer

    task = task_from_args(args)
    examples = task.examples(args.split, args.n, args.seed)
    knobs = ", ".join(item for item in args.knob) or "defaults"
    print(f"task {args.task}  split {args.split}  knobs {knobs}  examples {len(examples)}")
    if isinstance(task, RealTask):
        print("\n".join(task.report().lines()))
    if not examples:
        return 0
    print("difficulty: " + "  ".join(f"{d}: {c}" for d, c in sorted(Counter(e.difficulty for e in examples).items())))
    _print_lengths("question chars", [len(e.question) for e in examples])
    _print_lengths("answer chars", [len(e.answer) for e in examples])
    answer, count = Counter(e.answer for e in examples).most_common(1)[0]
    print(f"majority answer: {answer!r} in {count / len(examples):.1%} (the accuracy of always answering it)")
    char = CharTokenizer()
    _print_lengths("question tokens (char)", [len(char.encode(e.question)) for e in examples], hist=False)
    train = examples if args.split == "train" else task.examples("train", args.n, args.seed)
    bpe = BPETokenizer.train([t for e in train for t in (e.question, e.answer)], args.bpe_vocab)
    _print_lengths(f"question tokens (bpe, vocab {bpe.vocab_size})",
                   [len(bpe.encode(e.question)) for e in examples], hist=False)
    _print_lengths(f"answer tokens (bpe, vocab {bpe.vocab_size})",
                   [len(bpe.encode(e.answer)) for e in examples], hist=False)
    return 0


def _print_lengths(title: str, lengths: list[int], hist: bool = True) -> None:
    ordered = sorted(lengths)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    print(f"{title}: min {ordered[0]}  mean {statistics.fmean(ordered):.1f}  median "
          f"{statistics.median(ordered):g}  p95 {p95}  max {ordered[-1]}")
    if hist:
        width = max(1, -(-ordered[-1] // 10))  # ten bins up to the longest
        width = -(-width // 5) * 5 if width > 5 else width
        bins = Counter(n // width for n in ordered)
        label = (lambda b: str(b)) if width == 1 else (lambda b: f"{b * width}-{(b + 1) * width - 1}")
        print("  " + " | ".join(f"{label(b)}: {bins[b]}" for b in sorted(bins)))
