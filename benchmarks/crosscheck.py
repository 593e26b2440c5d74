"""Cross-check of trmlab's deep-supervision result against a public TRM implementation.

Trains lucidrains' `tiny-recursive-model` (PyPI 0.0.15, over an `x-transformers` Encoder) on
the *same* data, at the same size and budget as a trmlab study's reasoner, and reports
exact-match accuracy after every supervision step 1..16 on dev / test / OOD.

Run it with the peer virtualenv's python (`bash benchmarks/setup_peers.sh` makes
/work/peer-venvs/trm); it imports trmlab's data code from this checkout, which needs only torch:

    OMP_NUM_THREADS=1 /work/peer-venvs/trm/bin/python benchmarks/crosscheck.py \
        --preset cpu-quick --seed 0 --out results/crosscheck/arith-seed0.json

What is taken from trmlab (nothing of trmlab's model or training code is used):
  - the data: the preset's DataConfig (`study.task_base(task).data`), `trmlab.data.load_splits`,
    the character tokenizer, and for grids the training split's augmentations;
  - the settings: d, layers, heads, n, T, N_sup, registers, batch, steps, AdamW lr / betas /
    weight decay (matrices only, as trmlab), linear warm-up then cosine to lr * min_lr_ratio,
    gradient clipping, EMA rate, bf16 autocast, dev-selected best checkpoint (dev evaluated
    every steps/4 at N_sup steps, as `trmlab study` does);
  - the scoring rule: `trmlab.tasks.answers_match` on the decoded answer (grids: the whole board).

What is the peer's: the model (`TinyRecursiveModel`: embedding, learned initial y / z,
registers, T refinement blocks of n latent updates + 1 output update, the first T-1 without
gradient, detached carry, prediction head, halting head), its loss (`labels=`), its halting
rule (a row leaves the batch once its halt probability >= 0.5; a batch runs up to N_sup
supervision steps, one optimiser step each, as its `Trainer.forward` does) and its EMA class
(`ema_pytorch.EMA`, which its Trainer uses). Its Trainer itself is not used: it hard-codes
MuonAdamAtan2 with lr / (batch * N_sup), no clipping, constant lr after warm-up, a fresh
DataLoader, and an EMA updated every 10 steps after step 100; the loop below is its loop
with trmlab's optimiser settings.

Layout (text tasks): one fixed-length row per example,
    [question tokens | F answer-slot tokens | PAD ...]      (the package prepends R registers)
The answer slots hold placeholder tokens (one distinct id per slot when the preset uses
distinct slots, as trmlab's learned slot vectors); labels are the answer tokens + EOS at the
slots and -100 (cross_entropy's ignore index) everywhere else. The answer is never input.
Grids: the board as is, labels = the solved board (unscored cells -100).
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import sys
import time
import types
from importlib.metadata import version
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# trmlab.study's __init__ pulls in the study runner and its plots (matplotlib), which the peer
# venv lacks; the presets themselves need only trmlab's configs. Register the package by path.
_study = types.ModuleType("trmlab.study")
_study.__path__ = [str(ROOT / "trmlab" / "study")]
sys.modules.setdefault("trmlab.study", _study)

from trmlab.data import IndexStream, load_splits  # noqa: E402
from trmlab.study.presets import load_study  # noqa: E402
from trmlab.tasks import answers_match  # noqa: E402
from trmlab.tokenizer import PAD, UNK  # noqa: E402

from ema_pytorch import EMA  # noqa: E402
from tiny_recursive_model import TinyRecursiveModel  # noqa: E402
from x_transformers import Encoder  # noqa: E402

IGNORE = -100  # F.cross_entropy's default ignore_index, which the package's loss inherits


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="cpu-quick", help="trmlab study preset (cpu-quick, maze-cpu, ...)")
    p.add_argument("--task", default="", help="the preset's task id (default: its first)")
    p.add_argument("--seed", type=int, default=0, help="training seed (model init, data order)")
    p.add_argument("--n-sup", type=int, default=0, help="supervision steps per batch (default: the preset's)")
    p.add_argument("--steps", type=int, default=0, help="optimiser steps (default: the preset's)")
    p.add_argument("--eval-steps", type=int, default=16, help="supervision steps at evaluation")
    p.add_argument("--net", default="matched", choices=["matched", "default"],
                   help="matched: x-transformers Encoder set to trmlab's block (post-norm, gainless RMSNorm, "
                        "SwiGLU of trmlab's width, no biases); default: the Encoder as the bench drives it "
                        "(pre-norm LayerNorm + final norm, GELU MLP x4, biased MLP)")
    p.add_argument("--loss", default="package", choices=["package", "masked"],
                   help="package: the model's own loss (labels=..., mean over every position, halting "
                        "target from every position); masked: cross-entropy averaged over the scored answer "
                        "positions and halting target = those positions right (trmlab's normalisation)")
    p.add_argument("--halt-weight", type=float, default=None,
                   help="halting-loss weight (default: the package's 1.0 with --loss package, "
                        "the preset's with --loss masked)")
    p.add_argument("--carry", default="keep", choices=["keep", "reset"],
                   help="keep: the (y, z) carry passes from one supervision step to the next (TRM); reset: "
                        "every supervision step starts again from the initial state (a probe: the same rows "
                        "are still trained N_sup times in a row)")
    p.add_argument("--mask-pad", action="store_true",
                   help="wrap the Encoder so that it gets a key mask hiding PAD positions (the package calls "
                        "network(h) without one, so by default every row attends to its padding; trmlab masks it)")
    p.add_argument("--init", default="package", choices=["package", "lecun"],
                   help="package: torch's default Linear init (as the package leaves it); lecun: every Linear "
                        "but the zero-initialised halting head re-drawn truncated LeCun-normal, trmlab's init")
    p.add_argument("--eval-last", action="store_true", help="also evaluate the last EMA checkpoint")
    p.add_argument("--precision", default="bf16", choices=["bf16", "fp32"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True)
    return p.parse_args()


# ----------------------------------------------------------------------------- data layout

def layout(split, *, in_place: bool, width: int, answer_len: int, slot_ids: list[int]):
    """(seq [N, L], labels [N, L], answer_at [N, F] positions of the answer slots or None)."""
    N = len(split)
    if in_place:  # grids: the board is the sequence, the answer is read in place
        seq = split.question.clone()
        labels = torch.where(split.answer == PAD, IGNORE, split.answer)
        return seq, labels, None
    L = width + answer_len
    seq = torch.full((N, L), PAD, dtype=torch.long)
    labels = torch.full((N, L), IGNORE, dtype=torch.long)
    answer_at = torch.zeros(N, answer_len, dtype=torch.long)
    for i in range(N):
        q = int(split.question_len[i])
        seq[i, :q] = split.question[i, :q]
        at = torch.arange(q, q + answer_len)
        seq[i, at] = torch.tensor(slot_ids)
        target = split.answer[i]
        labels[i, at] = torch.where(target == PAD, IGNORE, target)
        answer_at[i] = at
    return seq, labels, answer_at


# ----------------------------------------------------------------------------- model

class MaskedNetwork(torch.nn.Module):
    """The package calls `network(h)` with no mask; this passes the current batch's key mask
    (`set_mask(seq)` before every forward) to the x-transformers Encoder. Registers always count."""

    def __init__(self, net, n_registers: int):
        super().__init__()
        self.net, self.n_registers, self.mask = net, n_registers, None

    def set_mask(self, seq: torch.Tensor) -> None:
        self.mask = torch.cat([torch.ones(len(seq), self.n_registers, dtype=torch.bool), seq != PAD], 1)

    def forward(self, x):
        return self.net(x, mask=self.mask)


def set_mask(model, seq) -> None:
    if isinstance(model.network, MaskedNetwork):
        model.network.set_mask(seq)


def lecun_init_(model) -> None:
    """trmlab's init on every Linear except the package's zero-initialised halting head."""
    halt = model.to_halt_pred[1]
    for mod in model.modules():
        if isinstance(mod, torch.nn.Linear) and mod is not halt:
            std = 1.0 / math.sqrt(mod.in_features)
            torch.nn.init.trunc_normal_(mod.weight, std=std, a=-2 * std, b=2 * std)
            if mod.bias is not None:
                torch.nn.init.zeros_(mod.bias)


def build_model(m, vocab: int, net_kind: str, mask_pad: bool = False, init: str = "package"):
    d, heads = m.d_model, m.n_heads
    common = dict(dim=d, depth=m.n_layers, heads=heads, attn_dim_head=d // heads,
                  rotary_pos_emb=True, rotary_emb_dim=d // heads)  # RoPE over the whole head, as trmlab
    if net_kind == "matched":
        inner = math.ceil(m.ffn_expansion * d * 2 / 3 / m.ffn_multiple) * m.ffn_multiple  # trmlab's SwiGLU width
        net_kwargs = dict(ff_glu=True, ff_swish=True, ff_mult=inner / d, ff_no_bias=True,
                          use_simple_rmsnorm=True, pre_norm=False)
    else:
        net_kwargs = {}
    net = Encoder(**common, **net_kwargs)
    network = MaskedNetwork(net, m.n_registers) if mask_pad else net
    model = TinyRecursiveModel(dim=d, num_tokens=vocab, network=network, num_refinement_blocks=m.n_cycles,
                               num_latent_refinements=m.n_latent, num_register_tokens=m.n_registers)
    if init == "lecun":
        lecun_init_(model)
    return model, {**common, **net_kwargs}


def param_groups(model, weight_decay: float):
    """trmlab's rule: decay matrices, not embeddings, vectors or biases."""
    named = list(model.named_parameters())
    decay = [p for n, p in named if p.ndim >= 2 and "embed" not in n]
    keep = [p for n, p in named if not (p.ndim >= 2 and "embed" not in n)]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": keep, "weight_decay": 0.0}]


def lr_at(step, *, lr, warmup, total, schedule, min_ratio):
    if step < warmup:
        return lr * (step + 1) / warmup
    if schedule == "constant":
        return lr
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def param_breakdown(model) -> dict:
    out: dict[str, int] = {}
    for n, p in model.named_parameters():
        key = n.split(".")[0]
        out[key] = out.get(key, 0) + p.numel()
    return out


def trmlab_param_breakdown(model_cfg, vocab: int) -> dict:
    """trmlab's reasoner at the same config, counted the same way (built, never trained)."""
    from trmlab.model.reasoner import RecursiveReasoner
    ref = RecursiveReasoner(model_cfg, vocab)
    return param_breakdown(ref)


# ----------------------------------------------------------------------------- loss

def masked_loss(pred, halt_prob, labels, halt_weight):
    """CE averaged over each row's scored positions, then over rows; BCE of the halting
    probability against "every scored position right"."""
    valid = labels != IGNORE
    nll = F.cross_entropy(pred.float().transpose(1, 2), labels, reduction="none")  # 0 where ignored
    per_row = (nll * valid).sum(-1) / valid.sum(-1).clamp(min=1)
    right = ((pred.argmax(-1) == labels) | ~valid).all(-1)
    halt = F.binary_cross_entropy(halt_prob.float().clamp(1e-6, 1 - 1e-6), right.float(), reduction="none")
    return per_row + halt_weight * halt, per_row, halt, right


# ----------------------------------------------------------------------------- evaluation

@torch.no_grad()
def evaluate(model, data, tokenizer, *, steps: int, autocast, batch_size: int = 256) -> dict:
    """Accuracy after every supervision step 1..steps (the model's forward without labels,
    from its initial state, as its `predict` runs it but without early exit)."""
    model.eval()
    seq, labels, answer_at, examples, difficulty = (data[k] for k in ("seq", "labels", "answer_at", "examples",
                                                                     "difficulty"))
    in_place = answer_at is None
    per_step, cells, fill, first_halt = [], [], [], []
    for start in range(0, len(seq), batch_size):
        sl = slice(start, start + batch_size)
        s, lab = seq[sl], labels[sl]
        set_mask(model, s)
        y, z = model.get_initial()
        rows_correct, rows_cells, rows_fill, halted = [], [], [], torch.full((len(s),), steps + 1)
        for k in range(1, steps + 1):
            with autocast():
                y, z, pred, halt_prob = model(s, y, z)
            y, z = y.float(), z.float()
            tokens = pred.argmax(-1)
            halted = torch.where((halt_prob.float() >= 0.5) & (halted > steps), k, halted)
            if in_place:
                scored = lab != IGNORE
                hit = (tokens == lab) & scored
                rows_correct.append((hit | ~scored).all(-1))
                rows_cells.append(hit.sum(-1) / scored.sum(-1).clamp(min=1))
                to_fill = scored & (lab != s)
                rows_fill.append((hit & to_fill).sum(-1) / to_fill.sum(-1).clamp(min=1))
            else:
                ans = tokens.gather(1, answer_at[sl])
                ans = torch.where(ans >= tokenizer.vocab_size, UNK, ans)  # a slot id is no text: dropped as UNK
                rows_correct.append(torch.tensor([answers_match(tokenizer.decode(a), ex.answer)
                                                  for a, ex in zip(ans, examples[sl])]))
        per_step.append(torch.stack(rows_correct))
        first_halt.append(halted)
        if in_place:
            cells.append(torch.stack(rows_cells))
            fill.append(torch.stack(rows_fill))
    correct = torch.cat(per_step, 1).float()  # [S, N]
    out = {"n": correct.shape[1], "accuracy_by_step": correct.mean(1).tolist()}
    by_diff = {}
    for dval in sorted(set(difficulty.tolist())):
        m = difficulty == dval
        by_diff[int(dval)] = correct[:, m].mean(1).tolist()
    out["accuracy_by_difficulty_by_step"] = by_diff
    halt = torch.cat(first_halt)
    out["halt_step_mean"] = halt.clamp(max=steps).float().mean().item()
    out["never_halted"] = (halt > steps).float().mean().item()
    if in_place:
        out["cell_accuracy_by_step"] = torch.cat(cells, 1).float().mean(1).tolist()
        out["fill_accuracy_by_step"] = torch.cat(fill, 1).float().mean(1).tolist()
    return out


@torch.no_grad()
def check_predict(model, data, steps: int, autocast, n: int = 64) -> float:
    """Share of rows whose package `predict` (no early exit) equals our step-`steps` argmax."""
    model.eval()
    s = data["seq"][:n]
    set_mask(model, s)
    with autocast():
        preds, _ = model.predict(s, halt_prob_thres=2.0, max_deep_refinement_steps=steps)
        y, z = model.get_initial()
        for _ in range(steps):
            y, z, pred, _ = model(s, y, z)
            y, z = y.float(), z.float()
    return (preds == pred.argmax(-1)).all(-1).float().mean().item()


# ----------------------------------------------------------------------------- main

def main():
    a = parse_args()
    torch.set_num_threads(a.threads)
    study = load_study(a.preset)
    task = next((t for t in study.tasks if t.id == a.task), study.tasks[0]) if a.task else study.tasks[0]
    base = study.task_base(task)
    m, t, dcfg = base.model, base.train, base.data
    n_sup = a.n_sup or m.n_sup
    steps = a.steps or t.steps
    halt_weight = a.halt_weight if a.halt_weight is not None else (1.0 if a.loss == "package" else m.halt_loss_weight)
    autocast = ((lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if a.precision == "bf16"
                else contextlib.nullcontext)

    # ---- data: trmlab's splits and tokenizer, laid out for the peer
    t0 = time.perf_counter()
    tokenizer, splits = load_splits(dcfg)
    in_place = dcfg.answer_len == 0
    n_slots = 0 if in_place else (m.answer_len if m.distinct_slots else 1)
    slot_ids = list(range(tokenizer.vocab_size, tokenizer.vocab_size + n_slots))
    vocab = tokenizer.vocab_size + n_slots
    width = max(int(s.question_len.max()) for s in splits.values())
    data = {}
    for name, split in splits.items():
        seq, labels, answer_at = layout(split, in_place=in_place, width=width, answer_len=dcfg.answer_len,
                                        slot_ids=slot_ids if m.distinct_slots else slot_ids * dcfg.answer_len)
        data[name] = {"seq": seq, "labels": labels, "answer_at": answer_at, "examples": split.examples,
                      "difficulty": split.difficulty}
    augment = splits["train"].augment
    if augment is not None:
        from trmlab.tasks.grid import apply_augmentations
    data_s = time.perf_counter() - t0

    # ---- model, optimiser, EMA
    torch.manual_seed(a.seed)
    model, net_kwargs = build_model(m, vocab, a.net, a.mask_pad, a.init)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(param_groups(model, t.weight_decay), lr=t.lr, betas=(t.beta1, t.beta2))
    ema = EMA(model, beta=t.ema, update_after_step=0, update_every=1, forward_method_names=("predict",))
    stream = IndexStream(len(splits["train"]), seed=a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    train = data["train"]

    # ---- training: the package Trainer's loop (a fresh batch runs up to N_sup supervision
    # steps, one optimiser step each; rows whose halt probability >= 0.5 leave the batch)
    history, window = [], []
    step, batches, examples_seen, rows_trained = 0, 0, 0, 0
    steps_per_batch = []
    best = {"dev": -1.0, "step": 0, "state": None}
    eval_every = max(1, steps // 4)
    train_s = 0.0
    cpu0 = time.process_time()
    start = time.perf_counter()
    while step < steps:
        idx = stream.take(t.batch_size)
        seq, labels = train["seq"][idx], train["labels"][idx]
        if augment is not None:
            perm, symbols = augment(len(idx), gen)
            seq = apply_augmentations(seq, perm, symbols)
            labels = torch.where(labels == IGNORE, IGNORE, apply_augmentations(labels.clamp(min=0), perm, symbols))
        batches += 1
        examples_seen += len(idx)
        y, z = model.get_initial()
        for k in range(1, n_sup + 1):
            if a.carry == "reset":
                y, z = model.get_initial()
            lr = lr_at(step, lr=t.lr, warmup=t.warmup, total=steps, schedule=t.schedule, min_ratio=t.min_lr_ratio)
            for g in opt.param_groups:
                g["lr"] = lr
            model.train()
            set_mask(model, seq)
            with autocast():
                if a.loss == "package":
                    total, (main, halt), y, z, pred, halt_prob = model(seq, y, z, labels=labels)
                    loss = total / len(seq)  # the package sums over rows; trmlab means
                    valid = labels != IGNORE
                    right = ((pred.argmax(-1) == labels) | ~valid).all(-1)
                else:
                    y, z, pred, halt_prob = model(seq, y, z)
                    per_row, main, halt, right = masked_loss(pred, halt_prob, labels, halt_weight)
                    loss = per_row.mean()
            loss.backward()
            if t.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip)
            opt.step()
            opt.zero_grad(set_to_none=True)
            ema.update()
            step += 1
            rows_trained += len(seq)
            y, z = y.float(), z.float()
            window.append((loss.item(), main.float().mean().item(), halt.float().mean().item(),
                           right.float().mean().item(), halt_prob.float().mean().item(), len(seq)))
            if step % 25 == 0 or step == steps:
                n = len(window)
                history.append({"step": step, "lr": lr, "loss": sum(w[0] for w in window) / n,
                                "answer_loss": sum(w[1] for w in window) / n,
                                "halt_loss": sum(w[2] for w in window) / n,
                                "row_acc": sum(w[3] for w in window) / n,
                                "halt_prob": sum(w[4] for w in window) / n,
                                "rows": sum(w[5] for w in window) / n})
                window = []
            if step % eval_every == 0 or step == steps:
                train_s += time.perf_counter() - start
                dev = evaluate(ema.ema_model, data["dev"], tokenizer, steps=n_sup, autocast=autocast)
                acc = dev["accuracy_by_step"][-1]
                history.append({"step": step, "dev_accuracy": acc})
                print(f"step {step}: loss {loss.item():.3f} dev@{n_sup} {acc:.3f}", flush=True)
                if acc > best["dev"]:
                    best = {"dev": acc, "step": step, "state": copy.deepcopy(ema.ema_model.state_dict())}
                start = time.perf_counter()
            halt_mask = halt_prob.detach() >= 0.5
            if step >= steps:
                break
            if halt_mask.any():
                keep = ~halt_mask
                y, z, seq, labels = y[keep], z[keep], seq[keep], labels[keep]
                if len(seq) == 0:
                    break
        steps_per_batch.append(k)
    train_s += time.perf_counter() - start
    cpu_s = time.process_time() - cpu0  # training and the dev evaluations, CPU seconds of this process

    # ---- evaluation: the dev-selected EMA checkpoint (as trmlab study) and the last EMA
    t1 = time.perf_counter()
    last_state = copy.deepcopy(ema.ema_model.state_dict())
    results = {}
    for which, state in (("best", best["state"]), ("last", last_state))[:2 if a.eval_last else 1]:
        ema.ema_model.load_state_dict(state)
        results[which] = {name: evaluate(ema.ema_model, data[name], tokenizer, steps=a.eval_steps, autocast=autocast)
                          for name in ("dev", "test", "ood") if name in data}
    predict_agrees = check_predict(ema.ema_model, data["test"], n_sup, autocast)
    eval_s = time.perf_counter() - t1

    out = {
        "peer": "tiny-recursive-model", "versions": {p: version(p) for p in
                                                     ("tiny-recursive-model", "x-transformers", "ema-pytorch", "torch")},
        "command": " ".join(sys.argv), "preset": a.preset, "task": task.id, "seed": a.seed, "net": a.net,
        "loss": a.loss, "carry": a.carry, "mask_pad": a.mask_pad, "init": a.init, "halt_weight": halt_weight, "precision": a.precision, "threads": torch.get_num_threads(),
        "settings": {"d_model": m.d_model, "n_layers": m.n_layers, "n_heads": m.n_heads, "n_latent": m.n_latent,
                     "n_cycles": m.n_cycles, "n_sup": n_sup, "n_registers": m.n_registers,
                     "answer_slots": n_slots, "batch_size": t.batch_size, "steps": steps, "lr": t.lr,
                     "warmup": t.warmup, "schedule": t.schedule, "min_lr_ratio": t.min_lr_ratio,
                     "weight_decay": t.weight_decay, "betas": [t.beta1, t.beta2], "grad_clip": t.grad_clip,
                     "ema": t.ema, "eval_every": eval_every, "eval_steps": a.eval_steps},
        "data": {"config": {k: getattr(dcfg, k) for k in ("task", "knobs", "seed", "n_train", "n_dev", "n_test",
                                                            "n_ood", "answer_len")},
                 "sizes": {k: len(v) for k, v in splits.items()}, "vocab": vocab, "seq_len": data["train"]["seq"].shape[1],
                 "registers": m.n_registers},
        "network": net_kwargs,
        "params": params, "param_breakdown": param_breakdown(model),
        "trmlab_params": None, "trmlab_param_breakdown": None,
        "train": {"optimizer_steps": step, "batches": batches, "examples": examples_seen, "rows": rows_trained,
                  "mean_steps_per_batch": sum(steps_per_batch) / max(1, len(steps_per_batch)),
                  "wall_s": train_s, "cpu_s_incl_dev_evals": cpu_s, "data_s": data_s, "eval_s": eval_s},
        "best_checkpoint_step": best["step"], "best_dev_at_n_sup": best["dev"],
        "predict_agrees": predict_agrees,
        "eval": results, "history": history,
    }
    try:
        ref = trmlab_param_breakdown(m, tokenizer.vocab_size)
        out["trmlab_params"], out["trmlab_param_breakdown"] = sum(ref.values()), ref
    except Exception as e:  # noqa: BLE001 - informational only
        out["trmlab_params"] = f"not counted: {e}"
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))
    b = results["best"]
    shown = [s for s in (1, 2, 4, 8, 16) if s <= a.eval_steps]
    for name, r in b.items():
        print(f"{name}: " + " ".join(f"@{s} {r['accuracy_by_step'][s - 1]:.3f}" for s in shown))
    print(f"params {params}; train {train_s:.1f}s wall, {cpu_s:.1f}s CPU; best step {best['step']}; predict agrees {predict_agrees:.2f}")


if __name__ == "__main__":
    main()
