"""The bench's cases: config (a) (the TRM shape the peers are compared at), the default preset's
models, the recursion schemes and tiny test shapes; and what is measured of each: a training step
and an evaluation batch (`bench_case`), the depth curve and the halting head's supervision steps."""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import torch

from .harness import peak_memory_mb, reset_peak_memory, spread, time_it

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
# The extrapolation studies' looped cell (extrap-quick): 2 layers, d = 64, window 1, T(n) = n/2 on
# prefix parity of 4-16 bits, the incremental loss, batch 64, evaluation in batches of 250, one thread.
EXTRAP = dict(d_model=64, n_layers=2, n_heads=4, window=1, loops_per_token=0.5, n_sup=8, batch=64, eval_batch=250)
CASE_NAMES = ("reasoner-a", "reasoner-mlp-a", "transformer-a", "hrm-a", "reasoner-default", "transformer-default",
              "reasoner-paper", "transformer-default-fixed", "reasoner-tiny", "transformer-tiny", "hrm-tiny",
              "reasoner-tiny-looped", "looped-extrap", *SCHEME_CASES)
CASE_GROUPS = {"a": CASE_NAMES[:4], "default": CASE_NAMES[4:6], "paper": CASE_NAMES[6:7],
               "all": CASE_NAMES[:7], "tiny": CASE_NAMES[8:12], "extrap": ("looped-extrap",),
               "schemes": ("reasoner-a", *SCHEME_CASES)}


def synthetic_split(n: int, question_len: int, answer_len: int, vocab: int = 11, seed: int = 0):
    """(tokenizer, EncodedSplit) of random fixed-length questions (4 special tokens + symbols)."""
    from ..data import EncodedSplit
    from ..tasks import Example
    from ..tokenizer import EOS, CharTokenizer
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
    from ..config import RunConfig, TrainConfig, preset
    from ..model import HRMConfig, ReasonerConfig, TransformerConfig
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
        from ..compare import plan
        from ..data import load_splits
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
    if name == "looped-extrap":
        return _extrap_case(train, threads, batch)
    raise ValueError(f"unknown bench case {name!r}; cases: {', '.join(CASE_NAMES)}")


def _extrap_case(train, threads: int, batch: int | None):
    """The extrap-quick looped cell on prefix parity (its data seed and sizes); the study runs it on
    one thread (`trmlab bench --cases extrap --threads 1`)."""
    from ..config import DataConfig, RunConfig
    from ..data import load_splits
    from ..model import ReasonerConfig
    e = EXTRAP
    model = ReasonerConfig(d_model=e["d_model"], n_layers=e["n_layers"], n_heads=e["n_heads"], window=e["window"],
                           n_latent=1, n_cycles=1, n_sup=e["n_sup"], n_registers=1, answer_len=0,
                           distinct_slots=False, recursion="looped", incremental_alpha=1.0,
                           loops_per_token=e["loops_per_token"])
    data = DataConfig(task="prefix_parity", knobs={"train_difficulty": [4, 16], "ood_difficulty": [32, 32]},
                      seed=1, n_train=2000, n_dev=e["eval_batch"], n_test=0, n_ood=0, answer_len=0, max_question_len=64)
    train.threads, train.batch_size = threads, batch or e["batch"]
    train.eval_batch_size = batch or e["eval_batch"]
    cfg = RunConfig(name="looped-extrap", model=model, data=data, train=train)
    return cfg, load_splits(data, splits=("train", "dev"))


def bench_case(name: str, *, precision: str = "bf16", repeats: int = 5, warmup: int = 2,
               eval_steps: int = 4, threads: int = 0, batch: int | None = None, cfg=None, data=None,
               compile: bool = False) -> dict:
    """Training and evaluation throughput of one case, through `Trainer.train_step`."""
    from ..model import count_params
    from ..precision import autocast
    from ..training.trainer import Trainer
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
    ev_flops = B * (model.step_flops(Lq, train=False) * steps if steps else model.answer_flops(Lq, decoded[-1]))
    evaluation = {"s_per_batch": spread(ev_times), "batch": B, "steps": steps or 1,
                  "examples_per_s": B / ev_s, "flops_per_s": ev_flops / ev_s}
    m = cfg.model
    return {"name": name, "model": m.kind, "mixer": getattr(m, "mixer", "attention"), "precision": precision,
            "compile": compile, "device": str(device), "threads": torch.get_num_threads(), "params": count_params(model),
            "d_model": m.d_model, "n_layers": m.n_layers, "n_heads": m.n_heads,
            "n_latent": getattr(m, "n_latent", None), "n_cycles": getattr(m, "n_cycles", None),
            "batch": cfg.train.batch_size, "seq_len": seq, "train": train, "eval": evaluation}


def bench_depth_curve(steps: int = 64, n: int = 256, precision: str = "bf16", repeats: int = 3) -> dict:
    """The whole depth curve (accuracy after steps 1..S, decoded and scored: `evaluate`) against
    one evaluation at S steps (the same recursion, only the last step's answer kept)."""
    from ..evaluation import evaluate
    from ..precision import autocast
    cfg, (tok, splits) = case_config("reasoner-default", precision)
    from ..model import build_model
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
    from ..config import RunConfig
    from ..data import load_splits
    from ..training import checkpoint as ckpt
    from ..training.trainer import Trainer
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
