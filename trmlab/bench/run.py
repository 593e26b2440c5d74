"""Running the bench: every case at every precision, each in a fresh interpreter unless asked not to
(so that a case's max RSS is its own), with MFU against the measured matmul peak."""
from __future__ import annotations

import json
import subprocess
import sys

import torch

from .cases import A, bench_case, bench_depth_curve, bench_halting
from .harness import environment, gemm_shapes, matmul_peak


def run_bench(cases, precisions=("bf16",), *, repeats=5, warmup=2, eval_steps=4, threads=0, batch=None,
              isolate=True, peak_shapes=None, peaks=None, depth_curve=False, halting=None, log=print,
              compile=False) -> dict:
    """Bench `cases` at each precision; `peaks` (a previous result's "peak") skips re-measuring."""
    if threads:
        torch.set_num_threads(threads)
    env = environment()
    d, seq = A["d_model"], A["seq_len"]
    shapes = peak_shapes or gemm_shapes(batch or A["batch"], seq, d)
    peaks = dict(peaks or {})
    for p in precisions:
        if p in peaks:
            continue
        peaks[p] = matmul_peak(torch.bfloat16 if p == "bf16" else torch.float32, shapes,
                               "cuda" if torch.cuda.is_available() else "cpu")
        log(f"matmul peak {p}: {peaks[p]['flops_per_s'] / 1e9:.1f} GFLOP/s")
    results = {"environment": env, "peak": peaks, "cases": []}
    for name in cases:
        for p in precisions:
            kw = dict(precision=p, repeats=repeats, warmup=warmup, eval_steps=eval_steps,
                      threads=threads or torch.get_num_threads(), batch=batch, compile=compile)
            r = _isolated(name, kw) if isolate else bench_case(name, **kw)
            for part in ("train", "eval"):
                r[part]["mfu"] = r[part]["flops_per_s"] / peaks[p]["flops_per_s"]
            results["cases"].append(r)
            log(f"{name:20s} {p}: {r['train']['s_per_step']['median']:.3f} s/step "
                f"(spread {r['train']['s_per_step']['spread']:.0%}), {r['train']['examples_per_s']:.1f} ex/s, "
                f"MFU {r['train']['mfu']:.1%}, eval {r['eval']['examples_per_s']:.1f} ex/s, "
                f"peak mem {r['train']['peak_memory_mb']:.0f} MB")
    if depth_curve:
        results["depth_curve"] = _maybe_isolated(bench_depth_curve, {}, isolate)
        log(f"depth curve at 64 steps: {results['depth_curve']['ratio']:.2f}x one 64-step evaluation")
    if halting is not None:
        results["halting"] = _maybe_isolated(bench_halting, {"checkpoint": halting or None}, isolate)
        log(f"halting: {results['halting']['mean_supervision_steps']:.2f} supervision steps per example")
    return results


def _isolated(name: str, kw: dict) -> dict:
    return _maybe_isolated(bench_case, {"name": name, **kw}, True)


def _maybe_isolated(fn, kw: dict, isolate: bool) -> dict:
    """Run fn(**kw) in a fresh interpreter (so its max RSS is its own), or here."""
    if not isolate:
        return fn(**kw)
    code = ("import json, sys, torch; from trmlab import bench; kw = json.loads(sys.argv[1]); "
            "torch.set_num_threads(kw.pop('_threads')); "
            f"print('@@' + json.dumps(bench.{fn.__name__}(**kw)))")
    proc = subprocess.run([sys.executable, "-c", code, json.dumps({**kw, "_threads": torch.get_num_threads()})],
                          capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("@@")]
    if proc.returncode or not lines:
        raise RuntimeError(f"bench subprocess failed: {proc.stderr[-2000:]}")
    return json.loads(lines[-1][2:])
