"""Cross-check of trmlab's deep-supervision result against a public TRM implementation.

Measures lucidrains' `tiny-recursive-model` (PyPI 0.0.15, over an `x-transformers` Encoder set to
trmlab's block) trained on the *same* data, at the same size and budget as a trmlab study's
reasoner: exact-match accuracy after every supervision step 1..--eval-steps on dev / test / OOD
of the dev-selected EMA checkpoint, with the training curve, cost and parameter counts.

Run it with the peer virtualenv's python (`bash benchmarks/setup_peers.sh` makes
/work/peer-venvs/trm); it imports trmlab's data, configs, schedule and optimiser settings from this
checkout, which need only torch:

    OMP_NUM_THREADS=1 /work/peer-venvs/trm/bin/python benchmarks/crosscheck.py \
        --preset cpu-quick --seed 0 --out results/crosscheck/arith-seed0.json

From trmlab: the preset's data (`load_splits`, the char tokenizer, grids' augmentations), its
sizes and recipe (AdamW with trmlab's weight-decay groups and `lr_at` schedule, clipping, EMA
rate, bf16 autocast, best dev checkpoint of 4 evaluations) and the scoring rule (`answers_match`).
The peer's own: the model (its recursion, detached carry, halting head), its loss (`labels=`), its
halting rule (a row leaves the batch once its halt probability >= 0.5; a batch runs up to N_sup
steps, one optimiser step each, as its Trainer's loop) and its EMA class. The harness, what
matches and what does not, and every run: results/crosscheck/README.md.

Layout (text tasks): one row per example, [question | F answer-slot tokens | PAD ...] (the package
prepends the registers); labels are the answer + EOS at the slots, -100 elsewhere: the answer is
never input. Grids: the board as is, labels = the solved board.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import sys
import time
from importlib.metadata import version
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from trmlab.data import IndexStream, load_splits  # noqa: E402
from trmlab.study.presets import load_study  # noqa: E402
from trmlab.tasks import answers_match  # noqa: E402
from trmlab.tokenizer import PAD, UNK  # noqa: E402
from trmlab.training.optim import lr_at, make_optimizer  # noqa: E402

from ema_pytorch import EMA  # noqa: E402
from tiny_recursive_model import TinyRecursiveModel  # noqa: E402
from x_transformers import Encoder  # noqa: E402

IGNORE = -100  # F.cross_entropy's default ignore_index, which the package's loss inherits


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="cpu-quick", help="trmlab study preset (its first task)")
    p.add_argument("--seed", type=int, default=0, help="training seed (model init, data order)")
    p.add_argument("--n-sup", type=int, default=0, help="supervision steps per batch (default: the preset's)")
    p.add_argument("--steps", type=int, default=0, help="optimiser steps (default: the preset's)")
    p.add_argument("--eval-steps", type=int, default=16, help="supervision steps at evaluation")
    p.add_argument("--loss", default="package", choices=["package", "masked"],
                   help="package: the model's own loss (mean over every position, halting target from every "
                        "position); masked: trmlab's (mean over the scored positions, halting target = all right)")
    p.add_argument("--carry", default="keep", choices=["keep", "reset"],
                   help="reset: every supervision step starts again from the initial state (a probe)")
    p.add_argument("--mask-pad", action="store_true", help="give the Encoder a key mask hiding PAD (trmlab masks it)")
    p.add_argument("--init", default="package", choices=["package", "lecun"],
                   help="lecun: every Linear but the halting head re-drawn truncated LeCun-normal, as trmlab")
    p.add_argument("--eval-last", action="store_true", help="also evaluate the last EMA checkpoint")
    p.add_argument("--precision", default="bf16", choices=["bf16", "fp32"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True)
    return p.parse_args()


def layout(split, *, in_place: bool, width: int, answer_len: int, slot_ids: list[int]):
    """(seq [N, L], labels [N, L], answer_at [N, F] positions of the answer slots or None)."""
    if in_place:  # grids: the board is the sequence, the answer is read in place
        return split.question.clone(), torch.where(split.answer == PAD, IGNORE, split.answer), None
    N, L = len(split), width + answer_len
    seq = torch.full((N, L), PAD, dtype=torch.long)
    labels = torch.full((N, L), IGNORE, dtype=torch.long)
    answer_at = torch.zeros(N, answer_len, dtype=torch.long)
    for i in range(N):
        q = int(split.question_len[i])
        seq[i, :q] = split.question[i, :q]
        at = torch.arange(q, q + answer_len)
        seq[i, at] = torch.tensor(slot_ids)
        labels[i, at] = torch.where(split.answer[i] == PAD, IGNORE, split.answer[i])
        answer_at[i] = at
    return seq, labels, answer_at


class MaskedNetwork(torch.nn.Module):
    """The package calls `network(h)` without a mask; this passes the batch's key mask (`set_mask`
    before every forward) to the Encoder. Registers always count."""

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


def build_model(m, vocab: int, mask_pad: bool, init: str):
    """The peer's model over an x-transformers Encoder set to trmlab's block: post-norm, gainless
    RMSNorm, SwiGLU of trmlab's width, no biases, RoPE over the whole head."""
    d = m.d_model
    inner = math.ceil(m.ffn_expansion * d * 2 / 3 / m.ffn_multiple) * m.ffn_multiple  # trmlab's SwiGLU width
    kwargs = dict(dim=d, depth=m.n_layers, heads=m.n_heads, attn_dim_head=d // m.n_heads, rotary_pos_emb=True,
                  rotary_emb_dim=d // m.n_heads, ff_glu=True, ff_swish=True, ff_mult=inner / d, ff_no_bias=True,
                  use_simple_rmsnorm=True, pre_norm=False)
    net = Encoder(**kwargs)
    model = TinyRecursiveModel(dim=d, num_tokens=vocab, network=MaskedNetwork(net, m.n_registers) if mask_pad else net,
                               num_refinement_blocks=m.n_cycles, num_latent_refinements=m.n_latent,
                               num_register_tokens=m.n_registers)
    if init == "lecun":  # trmlab's init on every Linear but the package's zero-initialised halting head
        halt = model.to_halt_pred[1]
        for mod in model.modules():
            if isinstance(mod, torch.nn.Linear) and mod is not halt:
                std = 1.0 / math.sqrt(mod.in_features)
                torch.nn.init.trunc_normal_(mod.weight, std=std, a=-2 * std, b=2 * std)
                if mod.bias is not None:
                    torch.nn.init.zeros_(mod.bias)
    return model, kwargs


def param_breakdown(model) -> dict:
    out: dict[str, int] = {}
    for n, p in model.named_parameters():
        out[n.split(".")[0]] = out.get(n.split(".")[0], 0) + p.numel()
    return out


def masked_loss(pred, halt_prob, labels, halt_weight):
    """CE averaged over each row's scored positions, then over rows; BCE of the halting
    probability against "every scored position right"."""
    valid = labels != IGNORE
    nll = F.cross_entropy(pred.float().transpose(1, 2), labels, reduction="none")  # 0 where ignored
    per_row = (nll * valid).sum(-1) / valid.sum(-1).clamp(min=1)
    right = ((pred.argmax(-1) == labels) | ~valid).all(-1)
    halt = F.binary_cross_entropy(halt_prob.float().clamp(1e-6, 1 - 1e-6), right.float(), reduction="none")
    return per_row + halt_weight * halt, per_row, halt, right


@torch.no_grad()
def evaluate(model, data, tokenizer, *, steps: int, autocast, batch_size: int = 256) -> dict:
    """Accuracy after every supervision step 1..steps (the model's forward without labels, from its
    initial state, as its `predict` runs it but without early exit); grids also cell and fill accuracy."""
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
    halt = torch.cat(first_halt)
    out = {"n": correct.shape[1], "accuracy_by_step": correct.mean(1).tolist(),
           "accuracy_by_difficulty_by_step": {int(d): correct[:, difficulty == d].mean(1).tolist()
                                              for d in sorted(set(difficulty.tolist()))},
           "halt_step_mean": halt.clamp(max=steps).float().mean().item(),
           "never_halted": (halt > steps).float().mean().item()}
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


def main():
    a = parse_args()
    torch.set_num_threads(a.threads)
    study = load_study(a.preset)
    task = study.tasks[0]
    base = study.task_base(task)
    m, t, dcfg = base.model, base.train, base.data
    n_sup, steps = a.n_sup or m.n_sup, a.steps or t.steps
    halt_weight = 1.0 if a.loss == "package" else m.halt_loss_weight
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

    # ---- model, optimiser (trmlab's AdamW groups), EMA (the package's class)
    torch.manual_seed(a.seed)
    model, net_kwargs = build_model(m, vocab, a.mask_pad, a.init)
    params = sum(p.numel() for p in model.parameters())
    opt = make_optimizer(model, "adamw", t.lr, t.weight_decay, (t.beta1, t.beta2))
    ema = EMA(model, beta=t.ema, update_after_step=0, update_every=1, forward_method_names=("predict",))
    stream = IndexStream(len(splits["train"]), seed=a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    train = data["train"]

    # ---- training: the package Trainer's loop (a fresh batch runs up to N_sup supervision
    # steps, one optimiser step each; rows whose halt probability >= 0.5 leave the batch)
    history, window, steps_per_batch = [], [], []
    step, batches, examples_seen, rows_trained = 0, 0, 0, 0
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
                means = [sum(w[i] for w in window) / len(window) for i in range(6)]
                history.append({"step": step, "lr": lr, **dict(zip(("loss", "answer_loss", "halt_loss", "row_acc",
                                                                    "halt_prob", "rows"), means))})
                window = []
            if step % eval_every == 0 or step == steps:
                train_s += time.perf_counter() - start
                acc = evaluate(ema.ema_model, data["dev"], tokenizer, steps=n_sup, autocast=autocast)["accuracy_by_step"][-1]
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

    # ---- evaluation: the dev-selected EMA checkpoint (as trmlab study), and the last EMA if asked
    t1 = time.perf_counter()
    last_state = copy.deepcopy(ema.ema_model.state_dict())
    results = {}
    for which, state in (("best", best["state"]), ("last", last_state))[:2 if a.eval_last else 1]:
        ema.ema_model.load_state_dict(state)
        results[which] = {name: evaluate(ema.ema_model, data[name], tokenizer, steps=a.eval_steps, autocast=autocast)
                          for name in ("dev", "test", "ood") if name in data}
    predict_agrees = check_predict(ema.ema_model, data["test"], n_sup, autocast)
    eval_s = time.perf_counter() - t1

    from trmlab.model.reasoner import RecursiveReasoner  # trmlab's reasoner at this config, counted the same way
    trmlab_breakdown = param_breakdown(RecursiveReasoner(m, tokenizer.vocab_size))
    out = {
        "peer": "tiny-recursive-model", "versions": {p: version(p) for p in
                                                     ("tiny-recursive-model", "x-transformers", "ema-pytorch", "torch")},
        "command": " ".join(sys.argv), "preset": a.preset, "task": task.id, "seed": a.seed, "net": "matched",
        "loss": a.loss, "carry": a.carry, "mask_pad": a.mask_pad, "init": a.init, "halt_weight": halt_weight,
        "precision": a.precision, "threads": torch.get_num_threads(),
        "settings": {"d_model": m.d_model, "n_layers": m.n_layers, "n_heads": m.n_heads, "n_latent": m.n_latent,
                     "n_cycles": m.n_cycles, "n_sup": n_sup, "n_registers": m.n_registers,
                     "answer_slots": n_slots, "batch_size": t.batch_size, "steps": steps, "lr": t.lr,
                     "warmup": t.warmup, "schedule": t.schedule, "min_lr_ratio": t.min_lr_ratio,
                     "weight_decay": t.weight_decay, "betas": [t.beta1, t.beta2], "grad_clip": t.grad_clip,
                     "ema": t.ema, "eval_every": eval_every, "eval_steps": a.eval_steps},
        "data": {"config": {k: getattr(dcfg, k) for k in ("task", "knobs", "seed", "n_train", "n_dev", "n_test",
                                                            "n_ood", "answer_len")},
                 "sizes": {k: len(v) for k, v in splits.items()}, "vocab": vocab, "seq_len": train["seq"].shape[1],
                 "registers": m.n_registers},
        "network": net_kwargs, "params": params, "param_breakdown": param_breakdown(model),
        "trmlab_params": sum(trmlab_breakdown.values()), "trmlab_param_breakdown": trmlab_breakdown,
        "train": {"optimizer_steps": step, "batches": batches, "examples": examples_seen, "rows": rows_trained,
                  "mean_steps_per_batch": sum(steps_per_batch) / max(1, len(steps_per_batch)),
                  "wall_s": train_s, "cpu_s_incl_dev_evals": cpu_s, "data_s": data_s, "eval_s": eval_s},
        "best_checkpoint_step": best["step"], "best_dev_at_n_sup": best["dev"], "predict_agrees": predict_agrees,
        "eval": results, "history": history,
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))
    for name, r in results["best"].items():
        print(f"{name}: " + " ".join(f"@{s} {r['accuracy_by_step'][s - 1]:.3f}" for s in (1, 2, 4, 8, 16)
                                     if s <= a.eval_steps))
    print(f"params {params}; train {train_s:.1f}s wall, {cpu_s:.1f}s CPU; best step {best['step']}; "
          f"predict agrees {predict_agrees:.2f}")


if __name__ == "__main__":
    main()
