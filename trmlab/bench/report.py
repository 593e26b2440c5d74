"""The bench's results as bench.json and a bench.md table."""
from __future__ import annotations

import json
from pathlib import Path


def label(row: dict, key: str = "name") -> str:
    """A case's (or peer's) name, marked when it ran compiled."""
    return row[key] + (" (compiled)" if row.get("compile") else "")


def markdown(results: dict) -> str:
    env, peaks = results["environment"], results["peak"]
    lines = [f"Machine: {env['cpu']} ({env.get('cores', '?')} cores, {env.get('cpu_capability', '?')}"
             f"{', AVX-512 BF16' if env.get('bf16_isa') else ''}), {env['threads']} threads; "
             f"python {env['python']}, torch {env['torch']}"
             + (f"; {env['gpu']}" if "gpu" in env else ""), ""]
    lines += ["Matmul peak (measured): " + ", ".join(
        f"{p} {v['flops_per_s'] / 1e9:.1f} GFLOP/s" for p, v in peaks.items()), ""]
    lines += ["| case | precision | params | batch × seq | s/step (median) | spread | train ex/s | tokens/s "
              "| GFLOP/s | MFU | eval ex/s (steps) | eval MFU | peak mem MB |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results["cases"]:
        t, e = r["train"], r["eval"]
        lines.append(f"| {label(r)} | {r['precision']} | {r['params']:,} | {r['batch']} × {r['seq_len']:.0f} "
                     f"| {t['s_per_step']['median']:.3f} | {t['s_per_step']['spread']:.0%} "
                     f"| {t['examples_per_s']:.1f} | {t['tokens_per_s']:.0f} | {t['flops_per_s'] / 1e9:.1f} "
                     f"| {t['mfu']:.1%} | {e['examples_per_s']:.1f} ({e['steps']}) | {e['mfu']:.1%} "
                     f"| {t['peak_memory_mb']:.0f} |")
    unrolled = [r for r in results["cases"] if "iterations_per_step" in r["train"]]
    if unrolled:
        lines += ["", "Iterations per training step (without + with gradients; DEQ: solver iterations + 1): "
                  + ", ".join(f"{label(r)} {r['train']['iterations_per_step']:.1f}" for r in unrolled) + "."]
    if "depth_curve" in results:
        d = results["depth_curve"]
        lines += ["", f"Depth curve (steps 1..{d['steps']} decoded and scored, {d['examples']} examples): "
                  f"{d['curve_s']['median']:.2f} s vs {d['last_step_only_s']['median']:.2f} s for one "
                  f"{d['steps']}-step evaluation ({d['ratio']:.2f}x)."]
    if "halting" in results:
        h = results["halting"]
        lines += ["", f"Halting ({h['checkpoint'] or 'fresh model'}): {h['mean_supervision_steps']:.2f} "
                  f"supervision steps per training example (N_sup {h['n_sup']}); "
                  f"{h['new_examples_per_s']:.1f} new examples/s at {h['rows_per_s']:.1f} rows/s."]
    return "\n".join(lines) + "\n"


def write(results: dict, out: str | Path) -> tuple[Path, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "bench.md").write_text(markdown(results))
    return out / "bench.json", out / "bench.md"
