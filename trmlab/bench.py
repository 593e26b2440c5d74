"""`trmlab bench`: how fast training and evaluation run, and how close to the machine's peak.

Every case trains through the real path, `Trainer.train_step` (learning-rate schedule,
bf16 autocast, the DeepSupervision or teacher-forcing objective, backward, clipping,
AdamW, EMA), on synthetic data of a fixed shape or on a preset's own task. For each case:

  training   s/step (median and spread over `repeats` after `warmup`), examples/s
             (rows of the batch per second: one reasoner row-step is one supervision
             step), tokens/s, matmul FLOP/s, MFU, peak memory
  evaluation examples/s of `model.predict` (the reasoner at `eval_steps` supervision steps)

MFU is achieved matmul FLOP/s (the models' own `step_flops`/`train_flops` counts) over a
peak that this machine measures itself: the best of a few GEMMs in the same dtype.
Peak memory is the process's max RSS on CPU (each case runs in a fresh subprocess unless
`--no-isolate`) and `torch.cuda.max_memory_allocated` on CUDA.

The timing helpers at the top import nothing from trmlab, so the peer drivers in
benchmarks/ (run in their own virtualenvs) use exactly the same harness.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

# ------------------------------------------------------------------ the harness (torch only)


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def time_it(fn, *, warmup: int, repeats: int, inner: int = 1, device="cpu") -> list[float]:
    """Seconds per call of `fn`: `warmup` untimed calls, then `repeats` timings of `inner` calls each."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        _sync(device)
        times.append((time.perf_counter() - start) / inner)
    return times


def spread(times: list[float]) -> dict:
    """Median, min, max and (max - min) / median of a list of timings."""
    med = statistics.median(times)
    return {"median": med, "min": min(times), "max": max(times), "n": len(times),
            "spread": (max(times) - min(times)) / med if med > 0 else 0.0}


def reset_peak_memory(device="cpu") -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats()


def peak_memory_mb(device="cpu") -> float:
    """CUDA: max allocated since the last reset. CPU: this process's max RSS (a high-water
    mark over its whole life, hence one process per case)."""
    if torch.device(device).type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def matmul_peak(dtype: torch.dtype, shapes: list[tuple[int, int, int]], device="cpu",
                repeats: int = 5, min_s: float = 0.2) -> dict:
    """Measured GEMM FLOP/s for each (M, K, N) and the best of them: the MFU denominator."""
    out = {}
    for M, K, N in shapes:
        a = torch.randn(M, K, device=device).to(dtype)
        b = torch.randn(K, N, device=device).to(dtype)
        one = time_it(lambda: a @ b, warmup=2, repeats=1, device=device)[0]
        inner = max(1, int(min_s / max(one, 1e-6)))
        # The best repeat, not the median: a peak is what the machine can do (on a shared
        # machine the median would understate it and overstate MFU).
        t = min(time_it(lambda: a @ b, warmup=1, repeats=repeats, inner=inner, device=device))
        out[f"{M}x{K}x{N}"] = 2 * M * K * N / t
    return {"flops_per_s": max(out.values()), "by_shape": out}


def gemm_shapes(batch: int, seq: int, d: int) -> list[tuple[int, int, int]]:
    """A model's own projection (tokens x d -> 3d) and a large square one."""
    return [(batch * seq, d, 3 * d), (2048, 2048, 2048)]


def _has_cpu_flag(flag: str) -> bool:
    try:
        return any(line.startswith("flags") and flag in line.split() for line in open("/proc/cpuinfo"))
    except OSError:
        return False


def environment() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env = {"python": platform.python_version(), "torch": torch.__version__, "cpu": cpu,
           "threads": torch.get_num_threads(), "cores": os.cpu_count(),
           "cpu_capability": torch.backends.cpu.get_cpu_capability(), "bf16_isa": _has_cpu_flag("avx512_bf16")}
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
    return env


# ------------------------------------------------------------------ cases

# Config (a): the TRM shape the peers are compared at. 81 positions: the reasoner reads
# 1 register + 72 question tokens + 8 answer slots; the LM reads 73 question tokens,
# SEP and 7 answer tokens. Vocabulary 11 (4 special tokens + 7 symbols).
A = dict(d_model=256, n_layers=2, n_heads=8, seq_len=81, vocab=11, batch=64, n_latent=6, n_cycles=3,
         answer_len=8, n_registers=1)
TINY = dict(A, d_model=32, n_layers=1, n_heads=2, seq_len=16, batch=8, n_latent=2, n_cycles=2)  # tests
# The default preset's LM on fixed-length synthetic rows (its typical trimmed batch width:
# 120 question tokens + 4 answer tokens, vocabulary 99): the shape GPT-2 is compared at.
DEFAULT_LM_FIXED = dict(question_len=120, answer_len=4, vocab=99)
# The recursion schemes at config (a), each over N_sup = 4 iterations (a case is
# `reasoner-a-<scheme>`); "-ckpt" recomputes activations in backward (less memory, more time).
SCHEMES = {"looped": {"recursion": "looped"}, "looped-ckpt": {"recursion": "looped", "checkpointing": True},
           "recurrent-depth": {"recursion": "recurrent_depth", "grad_iters": 2},
           "deq": {"recursion": "deq", "deq_tol": 1e-2}}
SCHEME_CASES = tuple(f"reasoner-a-{s}" for s in SCHEMES)
CASE_NAMES = ("reasoner-a", "reasoner-mlp-a", "transformer-a", "hrm-a", "reasoner-default", "transformer-default",
              "reasoner-paper", "transformer-default-fixed", "reasoner-tiny", "transformer-tiny", "hrm-tiny",
              "reasoner-tiny-looped", *SCHEME_CASES)
CASE_GROUPS = {"a": CASE_NAMES[:4], "default": CASE_NAMES[4:6], "paper": CASE_NAMES[6:7],
               "all": CASE_NAMES[:7], "tiny": CASE_NAMES[8:12], "schemes": ("reasoner-a", *SCHEME_CASES)}


def synthetic_split(n: int, question_len: int, answer_len: int, vocab: int = 11, seed: int = 0):
    """(tokenizer, EncodedSplit) of random fixed-length questions (4 special tokens + symbols)."""
    from .data import EncodedSplit
    from .tasks import Example
    from .tokenizer import EOS, CharTokenizer
    tok = CharTokenizer("".join(chr(33 + i) for i in range(vocab - 4)))
    g = torch.Generator().manual_seed(seed)
    question = torch.randint(4, tok.vocab_size, (n, question_len), generator=g)
    answer = torch.randint(4, tok.vocab_size, (n, answer_len), generator=g)
    answer[:, -1] = EOS
    examples = [Example(tok.decode(q), tok.decode(a), 1) for q, a in zip(question, answer)]
    return tok, EncodedSplit(examples, question, torch.full((n,), question_len), answer,
                             torch.ones(n, dtype=torch.long))


def split_scheme(name: str) -> tuple[str, str]:
    """("reasoner-a", "looped") for "reasoner-a-looped"; (name, "") for a case without a scheme."""
    for base in ("reasoner-a", "reasoner-tiny"):
        if name.startswith(base + "-") and name[len(base) + 1:] in SCHEMES:
            return base, name[len(base) + 1:]
    return name, ""


def case_config(name: str, precision: str = "bf16", threads: int = 0, batch: int | None = None):
    """(RunConfig, (tokenizer, splits)) of a named case."""
    from .config import RunConfig, TrainConfig, preset
    from .model import HRMConfig, ReasonerConfig, TransformerConfig
    case, (name, scheme) = name, split_scheme(name)
    scheme_fields = dict(SCHEMES[scheme], n_sup=4) if scheme else {}
    a = {"reasoner-paper": dict(A, d_model=512), "reasoner-tiny": TINY, "transformer-tiny": TINY,
         "hrm-tiny": TINY}.get(name, A)
    train = TrainConfig(precision=precision, threads=threads, warmup=10, steps=10**6,
                        batch_size=batch or a["batch"], eval_batch_size=batch or a["batch"],
                        device="auto")
    if name.endswith(("-a", "-paper", "-tiny")):
        common = dict(d_model=a["d_model"], n_layers=a["n_layers"], n_heads=a["n_heads"],
                      answer_len=a["answer_len"])
        if name == "reasoner-paper":
            common["ffn_multiple"] = 256  # TRM's inner width 1536 at d=512
        if name.startswith("reasoner"):
            q_len = a["seq_len"] - a["n_registers"] - a["answer_len"]
            model = ReasonerConfig(**{**common, "n_latent": a["n_latent"], "n_cycles": a["n_cycles"], "n_sup": 16,
                                      "n_registers": a["n_registers"], "question_len": q_len,
                                      "mixer": "mlp" if "mlp" in name else "attention", **scheme_fields})
        elif name.startswith("hrm"):  # HRM's own recursion: 2 low x 2 high updates, plus the Q target pass
            q_len = a["seq_len"] - a["n_registers"] - a["answer_len"]
            model = HRMConfig(**common, n_sup=16, n_registers=a["n_registers"], question_len=q_len)
        else:
            q_len = a["seq_len"] - a["answer_len"]
            model = TransformerConfig(**common)
        data = synthetic_split(max(4 * train.batch_size, 256), q_len, a["answer_len"])
        return RunConfig(name=case, model=model, train=train), (data[0], {"train": data[1], "dev": data[1]})
    if name in ("reasoner-default", "transformer-default", "transformer-default-fixed"):
        from .compare import plan
        from .data import load_splits
        cfg = preset("default")
        cfg.data.n_train, cfg.data.n_test, cfg.data.n_ood = 2000, 0, 0  # same task, less to generate
        cfg.data.n_dev = 256
        tok, splits = load_splits(cfg.data, splits=("train", "dev"))
        train.batch_size, train.eval_batch_size = batch or cfg.train.batch_size, batch or 256
        cfg.train = train
        if name == "transformer-default-fixed":
            f = DEFAULT_LM_FIXED
            tok, split = synthetic_split(max(4 * train.batch_size, 256), f["question_len"], f["answer_len"], f["vocab"])
            splits = {"train": split, "dev": split}
            cfg.train.eval_batch_size = train.batch_size
        if name.startswith("transformer"):  # the LM matched to the preset's reasoner, as `trmlab compare`
            cfg = plan(cfg, Path("."), tok.vocab_size)[1].cfg
        cfg.name = name
        return cfg, (tok, splits)
    raise ValueError(f"unknown bench case {name!r}; cases: {', '.join(CASE_NAMES)}")


def bench_case(name: str, *, precision: str = "bf16", repeats: int = 5, warmup: int = 2,
               eval_steps: int = 4, threads: int = 0, batch: int | None = None, cfg=None, data=None,
               compile: bool = False) -> dict:
    """Training and evaluation throughput of one case, through `Trainer.train_step`."""
    from .model import count_params
    from .training.precision import autocast
    from .training.trainer import Trainer
    if cfg is None:
        cfg, data = case_config(name, precision, threads, batch)
    cfg.train.compile = compile  # training steps only: warm-up steps absorb the compile time
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, tmp, data=data, progress=False)
    device, model = trainer.device, trainer.model
    reset_peak_memory(device)
    seen, widths = [], []
    # Record the question width each step really reads: the reasoner embeds its carry
    # every step, the LM fetches a fresh batch.
    owner, attr = (model, "embed") if cfg.model.recursive else (trainer.objective.data, "batch")
    read = getattr(owner, attr)

    def recording(question, *a, **k):
        out = read(question, *a, **k)
        widths.append((question if cfg.model.recursive else out["question"]).shape[1])
        return out

    setattr(owner, attr, recording)

    def step():
        loss, stats = trainer.train_step()
        seen.append(stats)

    times = time_it(step, warmup=warmup, repeats=repeats, device=device)
    timed = seen[warmup:]
    s = statistics.median(times)
    rows = statistics.mean(st["rows"] for st in timed)
    flops = statistics.mean(st["flops"] for st in timed)
    delattr(owner, attr)
    width = cfg.model.fixed_question_width  # as `evaluate`
    q_width = statistics.mean(widths[warmup:])
    seq = model.sequence_len(q_width) if cfg.model.recursive else q_width + cfg.model.answer_len
    train = {"s_per_step": spread(times), "examples_per_s": rows / s, "tokens_per_s": rows * seq / s,
             "flops_per_step": flops, "flops_per_s": flops / s, "peak_memory_mb": peak_memory_mb(device)}
    if "iterations" in timed[0]:  # the unrolled schemes: iterations run per step (DEQ: solver + gradient)
        train["iterations_per_step"] = statistics.mean(st["iterations"] for st in timed)

    # Evaluation: the EMA model on a fixed batch, as `evaluate` runs it.
    ema = trainer.ema.model.eval()
    batch_ = data[1]["dev"].batch(torch.arange(min(cfg.train.eval_batch_size, len(data[1]["dev"]))),
                                  device, width=width)
    B, Lq = batch_["question"].shape
    steps = eval_steps if cfg.model.recursive else None

    decoded = []

    def predict():
        with autocast(device, cfg.train.precision):
            out = ema.predict(batch_, steps)
        decoded.append(int(out.get("decode_steps", 0)))

    ev_times = time_it(predict, warmup=1, repeats=max(1, min(repeats, 3)), device=device)
    ev_s = statistics.median(ev_times)
    ev_flops = B * (model.step_flops(Lq, train=False) * steps if steps else _lm_decode_flops(model, Lq, decoded[-1]))
    evaluation = {"s_per_batch": spread(ev_times), "batch": B, "steps": steps or 1,
                  "examples_per_s": B / ev_s, "flops_per_s": ev_flops / ev_s}
    m = cfg.model
    return {"name": name, "model": m.kind, "mixer": getattr(m, "mixer", "attention"), "precision": precision,
            "compile": compile, "device": str(device), "threads": torch.get_num_threads(), "params": count_params(model),
            "d_model": m.d_model, "n_layers": m.n_layers, "n_heads": m.n_heads,
            "n_latent": getattr(m, "n_latent", None), "n_cycles": getattr(m, "n_cycles", None),
            "batch": cfg.train.batch_size, "seq_len": seq, "train": train, "eval": evaluation}


def _lm_decode_flops(model, question_len: int, decode_steps: int) -> int:
    """Greedy decoding recomputes the whole prefix for every generated token (no KV cache),
    for as many tokens as it really generated (it stops when every row has ended)."""
    from .model.blocks import stack_forward_flops
    c = model.cfg
    total = 0
    for t in range(decode_steps):
        L = question_len + 1 + t
        total += stack_forward_flops(c.n_layers, c.d_model, c.ffn_expansion, c.ffn_multiple, L,
                                     attended=(L + 1) // 2) + 2 * c.d_model * model.vocab_size
    return total


def bench_depth_curve(steps: int = 64, n: int = 256, precision: str = "bf16", repeats: int = 3) -> dict:
    """The whole depth curve (accuracy after steps 1..S, decoded and scored: `evaluate`) against
    one evaluation at S steps (the same recursion, only the last step's answer kept)."""
    from .evaluation import evaluate
    from .training.precision import autocast
    cfg, (tok, splits) = case_config("reasoner-default", precision)
    from .model import build_model
    torch.manual_seed(0)
    model = build_model(cfg.model, tok.vocab_size).eval()
    dev = splits["dev"]
    curve = time_it(lambda: evaluate(model, dev, tok, steps=steps, batch_size=n, precision=precision),
                    warmup=1, repeats=repeats)

    @torch.no_grad()
    def last_only():
        for _, batch in dev.batches(n):
            with autocast("cpu", precision):
                x, ctx = model.embed(batch["question"], batch["question_len"])
                y, z = model.initial_state(x)
                for _ in range(steps):
                    y, z, logits, _ = model.supervision_step(x, y, z, ctx)
            [tok.decode(r) for r in logits.argmax(-1)]

    once = time_it(last_only, warmup=1, repeats=repeats)
    return {"steps": steps, "examples": len(dev), "curve_s": spread(curve), "last_step_only_s": spread(once),
            "ratio": statistics.median(curve) / statistics.median(once)}


def bench_halting(checkpoint: str | None, steps: int = 30, precision: str = "bf16") -> dict:
    """Mean supervision steps per training example with the halting head as trained.

    From a checkpoint (its model weights, config and task), after N_sup steps that fill
    the carry; without one, a fresh model (whose head never halts: mean = N_sup)."""
    from .config import RunConfig
    from .data import load_splits
    from .training import checkpoint as ckpt
    from .training.trainer import Trainer
    if checkpoint:
        tensors, meta = ckpt.load_checkpoint(checkpoint)
        cfg = RunConfig.from_dict(meta["config"])
        cfg.data.n_dev, cfg.data.n_test, cfg.data.n_ood = 0, 0, 0
        cfg.train.precision = precision
        data = load_splits(cfg.data, splits=("train",))
    else:
        cfg, data = case_config("reasoner-default", precision)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, tmp, data=data, progress=False)
    if checkpoint:
        trainer.model.load_state_dict(ckpt.unprefixed("model", tensors))
        trainer.step = meta["step"]  # the learning rate where training left it
    n_sup = cfg.model.n_sup
    for _ in range(n_sup):  # fill the carry with rows at every stage
        trainer.train_step()
    halted = halt_sum = new = 0
    start = time.perf_counter()
    for _ in range(steps):
        _, stats = trainer.train_step()
        halted, halt_sum, new = halted + stats["halted"], halt_sum + stats["halt_steps_sum"], new + stats["new_examples"]
    wall = time.perf_counter() - start
    return {"checkpoint": str(checkpoint) if checkpoint else None, "n_sup": n_sup, "steps": steps,
            "mean_supervision_steps": halt_sum / halted if halted else float(n_sup),
            "rows_per_s": steps * cfg.train.batch_size / wall, "new_examples_per_s": new / wall}


# ------------------------------------------------------------------ running and reporting


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


def add_bench_parser(subparsers) -> None:
    p = subparsers.add_parser("bench", help="training/evaluation throughput, MFU and memory")
    p.add_argument("--cases", default="a",
                   help=f"comma-separated cases or groups ({', '.join(CASE_GROUPS)}; {', '.join(CASE_NAMES)})")
    p.add_argument("--precision", default="bf16", help="bf16, fp32 or bf16,fp32")
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
    precisions = [p.strip() for p in args.precision.split(",")]
    if any(p not in ("bf16", "fp32") for p in precisions) or args.repeats < 1:
        raise ValueError("--precision takes bf16 and/or fp32; --repeats must be >= 1")
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


if __name__ == "__main__":  # pragma: no cover
    from .cli import main
    sys.exit(main(["bench", *sys.argv[1:]]))
