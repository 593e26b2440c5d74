"""`trmlab bench`: its arguments (added to the `trmlab` parser by cli.py) and the command."""
from __future__ import annotations

import sys

import torch

from ..precision import PRECISIONS, precision_line, resolve_precision
from .cases import CASE_GROUPS, CASE_NAMES
from .report import markdown, write
from .run import run_bench


def add_bench_parser(subparsers) -> None:
    p = subparsers.add_parser("bench", help="training/evaluation throughput, MFU and memory")
    p.add_argument("--cases", default="a",
                   help=f"comma-separated cases or groups ({', '.join(CASE_GROUPS)}; {', '.join(CASE_NAMES)})")
    p.add_argument("--precision", default="auto", help="auto (bf16 where this machine computes it natively, "
                   "else fp32), bf16, fp32 or a list: bf16,fp32")
    p.add_argument("--repeats", type=int, default=5, help="timed training steps per case (default 5)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    p.add_argument("--eval-steps", type=int, default=4, help="supervision steps in the eval timing")
    p.add_argument("--batch", type=int, default=0, help="batch size (default: the case's)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    p.add_argument("--depth-curve", action="store_true", help="also time the 64-step depth curve")
    p.add_argument("--halting", nargs="?", const="", default=None, metavar="CHECKPOINT",
                   help="also measure supervision steps per example (from a trained reasoner checkpoint)")
    p.add_argument("--no-isolate", action="store_true", help="run cases in this process (max RSS is shared)")
    p.add_argument("--compile", action="store_true", help="torch.compile the networks (use --warmup >= 2)")
    p.add_argument("--out", default=None, help="folder for bench.json and bench.md")
    p.set_defaults(func=cmd_bench)


GPU_COMMAND = "trmlab bench --cases a,default,paper --precision bf16,fp32 --warmup 3 --compile --out results/bench-gpu"


def cmd_bench(args) -> int:
    names = []
    for item in args.cases.split(","):
        item = item.strip()
        if item in CASE_GROUPS:
            names += [n for n in CASE_GROUPS[item] if n not in names]
        elif item in CASE_NAMES:
            names.append(item)
        else:
            raise ValueError(f"unknown bench case {item!r}; cases: {', '.join(CASE_GROUPS)}, {', '.join(CASE_NAMES)}")
    asked = [p.strip() for p in args.precision.split(",")]
    if any(p not in PRECISIONS for p in asked) or args.repeats < 1:
        raise ValueError(f"--precision takes {', '.join(PRECISIONS)} or a list of them; --repeats must be >= 1")
    for p in asked:
        print(precision_line(p), file=sys.stderr)
    precisions = list(dict.fromkeys(resolve_precision(p)[0] for p in asked))
    results = run_bench(names, precisions, repeats=args.repeats, warmup=args.warmup,
                        eval_steps=args.eval_steps, threads=args.threads, batch=args.batch or None,
                        isolate=not args.no_isolate, depth_curve=args.depth_curve, halting=args.halting,
                        compile=args.compile)
    print(markdown(results))
    if not torch.cuda.is_available():
        print(f"(no CUDA GPU here. On a GPU machine, bf16 autocast, SDPA's fused kernels and torch.compile: "
              f"{GPU_COMMAND})")
    if args.out:
        paths = write(results, args.out)
        print(f"wrote {paths[0]} and {paths[1]}")
    return 0
