"""trmlab and its peers side by side at config (a), in one harness; writes results/bench.{json,md}.

    python benchmarks/peers.py [--venvs /work/peer-venvs] [--precision bf16,fp32] [--repeats 5]
                               [--threads 2] [--out results] [--extra default,paper] [--compile bf16]

(`benchmarks/run_all.sh` is the one command that makes the venvs if needed and runs it all.)

Each peer runs in its own virtualenv (see benchmarks/README.md for how to make them),
in a fresh subprocess with the same thread count, timed by the same helpers
(`trmlab.bench.time_it`) and divided by the same measured matmul peak. trmlab's cases
run through `trmlab.bench` (the real Trainer.train_step), each in a fresh subprocess too.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from trmlab import bench

HERE = Path(__file__).resolve().parent
DRIVERS = HERE / "peer_drivers"
# name, venv folder, driver, extra arguments, the trmlab case it is compared with
PEERS = [
    ("tiny-recursive-model", "trm", "drive_tiny_recursive_model.py", [], "reasoner-a"),
    ("nano-trm", "nanotrm", "drive_nano_trm.py", [], "reasoner-a"),
    ("iterative-bert", "ibert", "drive_iterative_bert.py", [], "reasoner-a"),
    ("gpt2 (transformers)", "hf", "drive_gpt2.py",
     ["--dim", "128", "--layers", "2", "--heads", "4", "--vocab", str(bench.DEFAULT_LM_FIXED["vocab"]),
      "--seq", str(bench.DEFAULT_LM_FIXED["question_len"] + bench.DEFAULT_LM_FIXED["answer_len"]),
      "--answer", str(bench.DEFAULT_LM_FIXED["answer_len"])], "transformer-default-fixed"),
]


def run_peer(venvs: Path, venv: str, driver: str, extra: list[str], precision: str, args,
             compile: bool = False) -> dict | None:
    python = venvs / venv / "bin" / "python"
    if not python.exists():
        print(f"  (no {python}: skipped)")
        return None
    cmd = [str(python), str(DRIVERS / driver), "--precision", precision, "--repeats", str(args.repeats),
           "--warmup", str(compiled_warmup(args.warmup) if compile else args.warmup), "--threads", str(args.threads),
           *extra, *(["--compile"] if compile else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=DRIVERS)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("@@")]
    if proc.returncode or not lines:
        print(f"  failed: {proc.stderr[-1500:]}")
        return None
    return json.loads(lines[-1][2:])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--venvs", type=Path, default=Path(os.environ.get("PEER_VENVS", "/work/peer-venvs")))
    p.add_argument("--precision", default="bf16,fp32")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--peers", default=",".join(name for name, *_ in PEERS), help="which peers to run")
    p.add_argument("--extra", default="", help="more trmlab case groups/cases, e.g. default,paper")
    p.add_argument("--paper-repeats", type=int, default=3)
    p.add_argument("--depth-curve", action="store_true")
    p.add_argument("--paired", type=int, default=0, metavar="ROUNDS",
                   help="then run reasoner-a and its fastest peer alternately ROUNDS times (bf16; eager, "
                        "and compiled if --compile bf16): a ratio per round, robust to the machine's drift")
    p.add_argument("--halting", default=None, help="reasoner checkpoint for the halting measurement")
    p.add_argument("--compile", default="", help="precisions to run again compiled (trmlab's (a) and "
                   "LM cases and every peer through torch.compile), e.g. bf16")
    p.add_argument("--out", type=Path, default=Path("results"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    precisions = args.precision.split(",")
    wanted = args.peers.split(",")

    cases = list(bench.CASE_GROUPS["a"])
    if any(w.startswith("gpt2") for w in wanted):
        cases.append("transformer-default-fixed")
    for item in filter(None, args.extra.split(",")):
        cases += [c for c in bench.CASE_GROUPS.get(item, [item]) if c not in cases]
    paper = [c for c in cases if c.endswith("-paper")]
    results = bench.run_bench([c for c in cases if c not in paper], precisions, repeats=args.repeats,
                              warmup=args.warmup, threads=args.threads, depth_curve=args.depth_curve,
                              halting=args.halting)
    if paper:  # paper size: a step is seconds long, fewer repeats
        more = bench.run_bench(paper, ["bf16"], repeats=args.paper_repeats, warmup=1, threads=args.threads,
                               peaks=results["peak"])
        results["cases"] += more["cases"]
    peaks = results["peak"]
    compiled = [p for p in args.compile.split(",") if p]
    for precision in compiled:
        compared = [c for c in cases if c in bench.CASE_GROUPS["a"] or c == "transformer-default-fixed"]
        results["cases"] += bench.run_bench(compared, [precision], repeats=args.repeats, threads=args.threads,
                                            warmup=compiled_warmup(args.warmup), peaks=peaks, compile=True)["cases"]
    results["peers"] = []
    runs = [(p, False) for p in precisions] + [(p, True) for p in compiled]
    for name, venv, driver, extra, ours in PEERS:
        if name not in wanted:
            continue
        for precision, compile in runs:
            print(f"{name} {precision}{' compiled' if compile else ''} ...", flush=True)
            r = run_peer(args.venvs, venv, driver, extra, precision, args, compile)
            if r is None:
                continue
            r["train"]["mfu"] = r["train"]["flops_per_s"] / peaks[precision]["flops_per_s"]
            r["compared_with"] = ours
            results["peers"].append(r)
            print(f"  {r['train']['s_per_step']['median']:.3f} s/step, {r['train']['examples_per_s']:.1f} ex/s, "
                  f"MFU {r['train']['mfu']:.1%}")
    results["side_by_side"] = side_by_side(results)
    results["vs_fastest_peer"] = vs_fastest_peer(results)
    if args.paired:
        results["paired"] = paired(results, args)
    results["command"] = " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])
    results["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    results["wall_s"] = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "bench.md").write_text(markdown(results))
    print(markdown(results))
    return 0


def paired(results: dict, args) -> list[dict]:
    """reasoner-a and the fastest peer at (a), bf16, timed alternately (trmlab, peer, trmlab, ...)
    `args.paired` times, eager and (if it was run) compiled. Run minutes apart, two timings of the
    same code on this shared machine differ by up to 10%; a ratio taken within each round does not."""
    peers = {name: (venv, driver, extra) for name, venv, driver, extra, _ in PEERS}
    rows = []
    for best in results["vs_fastest_peer"]:
        if best["trmlab"] != "reasoner-a" or best["precision"] != "bf16":
            continue
        compile, ratios = best["compile"], []
        warmup = compiled_warmup(args.warmup) if compile else args.warmup
        for round_ in range(args.paired):
            print(f"paired round {round_ + 1}: reasoner-a vs {bench.label(best, 'fastest_peer')} ...", flush=True)
            ours = bench.run_bench(["reasoner-a"], ["bf16"], repeats=args.repeats, warmup=warmup,
                                   threads=args.threads, peaks=results["peak"], compile=compile,
                                   log=lambda *_: None)["cases"][0]
            theirs = run_peer(args.venvs, *peers[best["fastest_peer"]], "bf16", args, compile)
            if theirs:
                ratios.append(ours["train"]["examples_per_s"] / theirs["train"]["examples_per_s"])
                print(f"  {ours['train']['examples_per_s']:.1f} vs {theirs['train']['examples_per_s']:.1f} ex/s: "
                      f"{ratios[-1]:.2f}x", flush=True)
        if ratios:
            rows.append({"trmlab": "reasoner-a", "peer": best["fastest_peer"], "precision": "bf16",
                         "compile": compile, "ratios": ratios, "median": statistics.median(ratios)})
    return rows


def compiled_warmup(warmup: int) -> int:
    """Untimed steps for a compiled run: the first ones compile (forward, backward, no-grad)."""
    return max(warmup, 3)


def side_by_side(results: dict) -> list[dict]:
    """Each peer run next to the trmlab case it is compared with, same precision and both
    compiled or both not: ex/s ratio."""
    ours = {(c["name"], c["precision"], c.get("compile", False)): c for c in results["cases"]}
    rows = []
    for peer in results["peers"]:
        compile = peer.get("compile", False)
        mine = ours.get((peer["compared_with"], peer["precision"], compile))
        if mine:
            rows.append({"peer": peer["name"], "trmlab": mine["name"], "precision": peer["precision"],
                         "compile": compile,
                         "peer_s_per_step": peer["train"]["s_per_step"]["median"],
                         "trmlab_s_per_step": mine["train"]["s_per_step"]["median"],
                         "peer_examples_per_s": peer["train"]["examples_per_s"],
                         "trmlab_examples_per_s": mine["train"]["examples_per_s"],
                         "ratio": mine["train"]["examples_per_s"] / peer["train"]["examples_per_s"],
                         "peer_mfu": peer["train"]["mfu"], "trmlab_mfu": mine["train"]["mfu"]})
    return rows


def vs_fastest_peer(results: dict) -> list[dict]:
    """Per trmlab case, precision and compilation: its examples/s over the fastest peer's at the
    same shape, run the same way."""
    rows = []
    keys = sorted({(r["trmlab"], r["precision"], r["compile"]) for r in results["side_by_side"]})
    for case, precision, compile in keys:
        same = [r for r in results["side_by_side"]
                if (r["trmlab"], r["precision"], r["compile"]) == (case, precision, compile)]
        best = max(same, key=lambda r: r["peer_examples_per_s"])
        rows.append({"trmlab": case, "precision": precision, "compile": compile, "fastest_peer": best["peer"],
                     "peer_examples_per_s": best["peer_examples_per_s"],
                     "trmlab_examples_per_s": best["trmlab_examples_per_s"], "ratio": best["ratio"],
                     "trmlab_mfu": best["trmlab_mfu"], "peer_mfu": best["peer_mfu"]})
    return rows


def markdown(results: dict) -> str:
    head = []
    if "command" in results:
        head = [f"Measured {results['date']} by `{results['command']}` "
                f"({results['wall_s'] / 60:.1f} min in all).", ""]
    text = "\n".join(head) + bench.markdown(results)
    lines = ["", "| peer | version | precision | params | s/step (median) | spread | ex/s | MFU | peak mem MB "
             "| trmlab case | trmlab ex/s | trmlab / peer |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    by = {(r["peer"], r["precision"], r["compile"]): r for r in results.get("side_by_side", [])}
    for p in results.get("peers", []):
        t, row = p["train"], by.get((p["name"], p["precision"], p.get("compile", False)))
        lines.append(f"| {bench.label(p)} | {p.get('version', '')} | {p['precision']} | {p['params']:,} "
                     f"| {t['s_per_step']['median']:.3f} | {t['s_per_step']['spread']:.0%} "
                     f"| {t['examples_per_s']:.1f} | {t['mfu']:.1%} | {t['peak_memory_mb']:.0f} "
                     + (f"| {bench.label(row, 'trmlab')} | {row['trmlab_examples_per_s']:.1f} | {row['ratio']:.2f}x |"
                        if row else "| | | |"))
    fastest = results.get("vs_fastest_peer", [])
    if fastest:
        lines += ["", "| trmlab case | precision | trmlab ex/s | fastest peer | its ex/s | ratio | trmlab MFU "
                  "| peer MFU |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {bench.label(r, 'trmlab')} | {r['precision']} | {r['trmlab_examples_per_s']:.1f} "
                  f"| {bench.label(r, 'fastest_peer')} "
                  f"| {r['peer_examples_per_s']:.1f} | {r['ratio']:.2f}x | {r['trmlab_mfu']:.1%} | {r['peer_mfu']:.1%} |"
                  for r in fastest]
    pairs = results.get("paired", [])
    if pairs:
        lines += ["", "Paired runs (trmlab and the peer timed alternately; one ratio per round):", "",
                  "| trmlab case | peer | precision | ratio per round | median |", "|---|---|---|---|---|"]
        lines += [f"| {bench.label(r, 'trmlab')} | {bench.label(r, 'peer')} | {r['precision']} "
                  f"| {', '.join(f'{x:.2f}x' for x in r['ratios'])} | {r['median']:.2f}x |" for r in pairs]
    return text + "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
