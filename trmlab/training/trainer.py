"""The training loop, one for every model.

Per step: learning rate from the schedule, the objective's loss under autocast,
backward, gradient clipping, optimiser step, EMA update. Every `eval_every` steps
the EMA model is scored on the dev split and the best checkpoint is kept (a tie keeps the
earlier or the later one: `dev_ties`); every `checkpoint_every` steps `last.safetensors` is
rewritten, and `--resume` continues from it exactly (model, EMA, optimiser, step, carry,
random state, data position).
Metrics go to `metrics.jsonl`. Under torchrun the run is data-parallel (`distributed.py`):
rank 0 evaluates and writes. A non-finite loss or gradient stops the run before anything is
saved (`train.nonfinite=stop`) or skips the step and counts it (`skip`).
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..config import RunConfig
from ..data import IndexStream, load_splits
from ..evaluation import evaluate
from ..model import build_model, count_params
from ..precision import autocast, compile_networks, pick_device, resolve_run, warn_if_emulated
from . import checkpoint as ckpt
from . import distributed
from .loading import load_model  # noqa: F401  (its home was here: trmlab.training.trainer.load_model)
from .objectives import make_objective
from .optim import EMA, lr_at, make_optimizer, sign_sgd_
from .tracking import make_tracker


class NonFiniteError(RuntimeError):
    pass


@dataclass
class TrainResult:
    run_dir: Path
    model: torch.nn.Module  # the EMA model: what evaluation and checkpoints use
    tokenizer: object
    params: int
    steps: int
    wall_s: float
    rows: int  # example-steps processed (a reasoner row-step is one supervision step)
    new_examples: int  # distinct training examples started
    flops: float  # training matmul FLOPs in total
    best_dev: float
    history: list[dict] = field(default_factory=list)

    @property
    def rows_per_s(self) -> float:
        return self.rows / max(self.wall_s, 1e-9)

    @property
    def flops_per_example(self) -> float:
        return self.flops / max(self.new_examples, 1)


class Trainer:
    def __init__(self, cfg: RunConfig, run_dir: str | Path, data=None, progress: bool = True):
        warn_if_emulated(cfg.train.precision, cfg.train.device)
        cfg = resolve_run(cfg)  # train.precision=auto: the run records what it ran in
        self.cfg, self.run_dir, self.progress = cfg, Path(run_dir), progress
        t = cfg.train
        if t.threads:
            torch.set_num_threads(t.threads)
        self.comm = distributed.connect(t.device)
        self.device = pick_device(t.device)
        torch.manual_seed(t.seed)
        if cfg.model.answer_len != cfg.data.answer_len:
            raise ValueError(f"model.answer_len ({cfg.model.answer_len}) must equal data.answer_len "
                             f"({cfg.data.answer_len}): the answer field holds the data's answers")
        self.tokenizer, self.splits = data if data is not None else load_splits(cfg.data)
        if "train" not in self.splits or len(self.splits["train"]) == 0:
            raise ValueError("no training examples: check data.n_train and the task's filters")
        puzzles = [int(s.puzzle.max()) + 1 for s in self.splits.values() if s.puzzle is not None and len(s)]
        if puzzles and getattr(cfg.model, "puzzle_ids", 0) < max(puzzles):
            raise ValueError(f"task {cfg.data.task!r} has per-puzzle identifiers: set model.puzzle_ids "
                             f"to at least {max(puzzles)}")
        self.model = build_model(cfg.model, self.tokenizer.vocab_size, self.device)
        self.ema = EMA(self.model, t.ema)
        if t.compile:  # after the EMA copy: each model gets its own compiled stacks
            compile_networks(self.model)
            compile_networks(self.ema.model)
        self.optimizer = make_optimizer(self.model, t.optimizer, t.lr, t.weight_decay, (t.beta1, t.beta2))
        self.stream = IndexStream(len(self.splits["train"]), seed=t.seed)
        self.objective = make_objective(self.model, self.splits["train"], self.stream, t.batch_size,
                                        self.device, seed=t.seed, comm=self.comm)
        self.step = 0
        self.totals = {"rows": 0, "new_examples": 0, "flops": 0.0, "wall_s": 0.0}
        self.best_dev = -1.0
        self.history: list[dict] = []
        self.last_good = "none written yet"  # the checkpoint a failed run can resume from
        self.tracker = None  # TensorBoard (train.log), opened by run()
        self.resumed = False

    # ----- checkpoints -----
    def state(self) -> tuple[dict, dict]:
        opt_tensors, opt_meta = ckpt.flatten_optimizer(self.optimizer)
        obj_tensors, obj_meta = self.objective.state_dict()
        tensors = {**ckpt.prefixed("model", self.model.state_dict()),
                   **ckpt.prefixed("ema", self.ema.model.state_dict()),
                   **opt_tensors, **obj_tensors, "rng.torch": torch.get_rng_state()}
        meta = {"config": self.cfg.to_dict(), "tokenizer": self.tokenizer.to_dict(),
                "step": self.step, "stream": self.stream.state_dict(), "ema_updates": self.ema.updates,
                "optimizer": opt_meta, "objective": obj_meta, "totals": self.totals,
                "best_dev": self.best_dev, "params": count_params(self.model)}
        return tensors, meta

    def save(self, name: str) -> Path:
        """Every rank takes part (the carry is gathered); rank 0 writes."""
        path = self.run_dir / "checkpoints" / f"{name}.safetensors"
        tensors, meta = self.state()
        self.comm.check_in_sync({k: v for k, v in tensors.items() if k.startswith(("model.", "ema."))})
        if self.comm.main:
            try:
                ckpt.save_checkpoint(path, tensors, meta)
            except OSError as e:
                raise ckpt.CheckpointError(f"could not write {path} at step {self.step} ({e}); "
                                           f"the previous checkpoint is intact: {self.last_good}") from e
        self.comm.barrier()  # the file is there for every rank once save returns
        if name == "last":
            self.last_good = f"{path} (step {self.step})"
        return path

    def resume(self, path: str | Path) -> None:
        tensors, meta = ckpt.load_checkpoint(path)
        if meta["config"]["model"] != self.cfg.model.to_dict():
            raise ckpt.CheckpointError(f"{path} was trained with a different model config")
        self.model.load_state_dict(ckpt.unprefixed("model", tensors))
        self.ema.model.load_state_dict(ckpt.unprefixed("ema", tensors))
        self.ema.updates = meta["ema_updates"]
        ckpt.restore_optimizer(self.optimizer, tensors, meta["optimizer"])
        self.objective.load_state_dict(tensors, meta["objective"])
        self.stream.load_state_dict(meta["stream"])
        torch.set_rng_state(tensors["rng.torch"])
        self.step, self.totals, self.best_dev = meta["step"], meta["totals"], meta["best_dev"]
        self.last_good = f"{path} (step {self.step})"
        if not self.comm.main:
            return  # rank 0 keeps the metrics
        self.history = [json.loads(line) for line in self._metrics_path().read_text().splitlines()
                        if line.strip()] if self._metrics_path().exists() else []
        # Drop records written after this checkpoint (a crash between log and save).
        self.history = [h for h in self.history if h.get("step", 0) <= self.step]
        self._metrics_path().write_text("".join(json.dumps(h) + "\n" for h in self.history))
        self.resumed = True

    # ----- the loop -----
    def _metrics_path(self) -> Path:
        return self.run_dir / "metrics.jsonl"

    def _log(self, record: dict) -> None:
        self.history.append(record)
        if not self.comm.main:
            return
        with open(self._metrics_path(), "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tracker:
            self.tracker.write(record)

    def train_step(self) -> tuple[float, dict]:
        t = self.cfg.train
        lr = lr_at(self.step, lr=t.lr, warmup=t.warmup, total=t.steps, schedule=t.schedule,
                   min_ratio=t.min_lr_ratio)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.model.train()
        with autocast(self.device, t.precision):
            loss, stats = self.objective.step()
        loss.backward()
        self.comm.average_gradients(self.model.parameters())
        if t.grad_clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), t.grad_clip)
        else:
            norm = torch.nn.utils.get_total_norm([p.grad for p in self.model.parameters() if p.grad is not None])
        averaged = [k for k in ("row_acc", "residual") if k in stats]  # per-rank means
        value, *means = self.comm.mean([loss.item(), *(stats[k] for k in averaged)])
        stats.update(zip(averaged, means))
        if not (math.isfinite(value) and math.isfinite(norm)):
            return self._skip_nonfinite("loss" if not math.isfinite(value) else "gradient", value, stats, lr)
        self.optimizer.step()
        if getattr(self.cfg.model, "puzzle_ids", 0):  # the puzzle embeddings are outside the optimiser
            sign_sgd_(self.model, t.puzzle_lr * lr / t.lr, t.puzzle_weight_decay)
        self.optimizer.zero_grad(set_to_none=True)
        self.ema.update(self.model)
        self.step += 1
        return value, {**stats, "lr": lr}

    def _skip_nonfinite(self, what: str, value: float, stats: dict, lr: float):
        """Stop (nothing poisoned is saved: the last checkpoint stays the last good one), or
        drop this step's gradients and restart the carry rows it poisoned, and count it."""
        if self.cfg.train.nonfinite == "stop":
            raise NonFiniteError(f"non-finite {what} at step {self.step + 1} (loss {value}); training stopped "
                                 f"without saving; last good checkpoint: {self.last_good} (resume with --resume; "
                                 f"-o train.nonfinite=skip skips such steps)")
        self.model.zero_grad(set_to_none=True)
        self.objective.drop_nonfinite()
        self.step += 1
        self.totals["nonfinite_skipped"] = self.totals.get("nonfinite_skipped", 0) + 1
        if self.comm.main:
            print(f"[{self.cfg.name}] step {self.step}: non-finite {what}, step skipped "
                  f"({self.totals['nonfinite_skipped']} so far)", file=sys.stderr)
        return value, {**stats, "lr": lr, "skipped": True}

    def evaluate_dev(self) -> float:
        """Dev accuracy of the EMA model, computed on rank 0 and shared with every rank."""
        t = self.cfg.train
        dev = self.splits.get("dev")
        if dev is None or len(dev) == 0 or not self.comm.main:
            return self.comm.broadcast(float("nan"))
        result = evaluate(self.ema.model, dev, self.tokenizer, steps=t.eval_steps or None,
                          batch_size=t.eval_batch_size, device=self.device, precision=t.precision)
        return self.comm.broadcast(result.accuracy)

    def run(self) -> TrainResult:
        t = self.cfg.train
        self.progress = self.progress and self.comm.main
        if self.comm.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.cfg.save(self.run_dir / "config.json")
            if self.step == 0:  # a fresh run: metrics of a run killed before its first checkpoint go
                self._metrics_path().unlink(missing_ok=True)
            self.tracker = make_tracker(t.log, self.run_dir, self.cfg, self.step if self.resumed else None)
        try:
            return self._loop()
        finally:
            if self.tracker:
                self.tracker.close()

    def _loop(self) -> TrainResult:
        t = self.cfg.train
        bar = tqdm(total=t.steps, initial=self.step, desc=self.cfg.name, disable=not self.progress,
                   unit="step", dynamic_ncols=True)
        window: list = []
        start = time.perf_counter() - self.totals["wall_s"]
        while self.step < t.steps:
            loss, stats = self.train_step()
            for k in ("rows", "new_examples", "flops"):
                self.totals[k] += stats[k]
            window.append((loss, stats))
            self.totals["wall_s"] = time.perf_counter() - start
            if self.step % t.log_every == 0 or self.step == t.steps:
                self._log(self._summarise(window))
                bar.set_postfix(loss=f"{self.history[-1]['loss']:.3f}",
                                acc=f"{self.history[-1]['row_acc']:.2f}")
                window = []
            if self.step % t.eval_every == 0 or self.step == t.steps:
                eval_start = time.perf_counter()
                acc = self.evaluate_dev()
                self._log({"step": self.step, "dev_accuracy": acc})
                if acc > self.best_dev or (acc == self.best_dev and t.dev_ties == "later"):
                    self.best_dev = acc
                    self.save("best")
                start += time.perf_counter() - eval_start  # wall time counts training only
                if self.progress:
                    bar.write(f"[{self.cfg.name}] step {self.step}: dev accuracy {acc:.3f} (best {self.best_dev:.3f})")
            if self.step % t.checkpoint_every == 0 or self.step == t.steps:
                self.totals["wall_s"] = time.perf_counter() - start
                self.save("last")
            bar.update(1)
        bar.close()
        return TrainResult(self.run_dir, self.ema.model, self.tokenizer, count_params(self.model),
                           self.step, self.totals["wall_s"], self.totals["rows"],
                           self.totals["new_examples"], self.totals["flops"], self.best_dev, self.history)

    def _summarise(self, window: list) -> dict:
        lr = window[-1][1]["lr"]
        window = [(l, s) for l, s in window if not s.get("skipped")] or window  # all skipped: NaN
        n = len(window)
        rec = {"step": self.step, "loss": sum(l for l, _ in window) / n,
               "row_acc": sum(s["row_acc"] for _, s in window) / n, "lr": lr,
               "wall_s": round(self.totals["wall_s"], 3), "rows": self.totals["rows"],
               "new_examples": self.totals["new_examples"], "flops": self.totals["flops"]}
        for key in ("iterations", "residual"):  # the unrolled schemes' forward
            if key in window[-1][1]:
                rec[f"mean_{key}"] = sum(s[key] for _, s in window) / n
        halted = sum(s.get("halted", 0) for _, s in window)
        if halted:
            rec["mean_halt_step"] = sum(s["halt_steps_sum"] for _, s in window) / halted
            rec["halt_rate"] = halted / sum(s["rows"] for _, s in window)  # share of rows that stopped
        if self.totals.get("nonfinite_skipped"):
            rec["nonfinite_skipped"] = self.totals["nonfinite_skipped"]
        return rec


def train(cfg: RunConfig, run_dir, *, data=None, resume: bool = False, progress: bool = True) -> TrainResult:
    trainer = Trainer(cfg, run_dir, data=data, progress=progress)
    last = Path(run_dir) / "checkpoints" / "last.safetensors"
    if resume:
        if not last.exists():
            raise ckpt.CheckpointError(f"--resume: no checkpoint at {last}")
        trainer.resume(last)
    elif last.exists():
        raise FileExistsError(f"{run_dir} already holds a run; use --resume to continue it "
                              f"or choose another --out")
    return trainer.run()
