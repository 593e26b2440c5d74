"""The extrapolation studies: think longer, solve bigger (`extrap-quick`, `extrap-precision`,
`extrap-cpu`, `extrap-ablations`), who else can (`rivals-cpu`) and whether TRM's own scheme can
(`extrap-trm`).

Tasks whose size is the difficulty and whose rule is the same at every size, answered in place;
trained on sizes up to D, tested at 2D and 4D (and 8D, 16D in `rivals-cpu`).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from .config import ModelSpec, StudyConfig, TaskSpec
from .preset_base import cpu_base


@dataclass(frozen=True)
class ExtrapTask:
    """How one extrapolation task is trained and tested."""
    trained: tuple[int, int]  # the sizes trained on
    twice: int  # 2D: the OOD split
    four: int  # 4D: eval set "4x"
    window: int  # attention reaches |i - j| <= window
    loops_per_token: float  # T(n) = ceil(loops_per_token * question tokens)
    tokens: Callable[[int], int]  # question tokens at size n
    train: dict  # TrainConfig fields for every model
    trace: Callable[[int], int] | None = None  # chain-of-thought trace tokens at size n (the `trace` knob)


# 1,000 steps on parity, and a dev tie keeps the later checkpoint: in-distribution dev reaches 1.000
# early, and a strict "best dev" tested the first checkpoint that got there, step 250 (or 125) of 500
# in the first extrap-cpu run, where three of five seeds failed at 4x; the same seeds' checkpoints
# after 1,000 steps were exact there (results/extrap-cpu/last-checkpoint/). Addition stands as first
# run: 800 steps, ties kept earlier (its rerun with long carries: results/extrap-cpu/chained-training/).
# The shell game trains 3,000 steps: after 1,000 the loop was exact in distribution but not yet
# stable past it (results/extrap-cpu/shell-pilot/).
EXTRAP_TASKS = {
    # Prefix parity: window 1 reaches 4 positions per iteration (2 calls of 2 layers): T = n/2.
    "prefix_parity": ExtrapTask((4, 16), 32, 64, window=1, loops_per_token=0.5, tokens=lambda n: n,
                                train={"steps": 1000, "eval_every": 250, "checkpoint_every": 250, "dev_ties": "later"},
                                trace=lambda n: 4 * n - 1),  # `1>1 0>1 ...`
    # Long addition: 3n + 2 tokens for n digits, T = n + 1 (Fan et al.'s count for addition).
    "long_addition": ExtrapTask((1, 8), 16, 32, window=2, loops_per_token=1 / 3, tokens=lambda n: 3 * n + 2,
                                train={"steps": 800, "eval_every": 200, "checkpoint_every": 200}),
    # The shell game: 3n - 1 tokens for n moves, T = n (one move per iteration).
    "shell_game": ExtrapTask((1, 8), 16, 32, window=2, loops_per_token=1 / 3, tokens=lambda n: 3 * n - 1,
                             train={"steps": 3000, "eval_every": 500, "checkpoint_every": 500, "dev_ties": "later"},
                             trace=lambda n: 5 * n - 1),  # `AB>B,CA>C,...`
    # In-place sorting: n rounds of odd-even transposition for n digits, T = n (study/beyond.py).
    "in_place_sort": ExtrapTask((4, 16), 32, 64, window=1, loops_per_token=1.0, tokens=lambda n: n,
                                train={"steps": 2000, "eval_every": 500, "checkpoint_every": 500, "dev_ties": "later"}),
}


def _extrap_task(task: str, n_eval: int, ood_steps: int) -> TaskSpec:
    """One extrapolation task: trained on its small sizes, `n_eval` questions each at test (ID),
    2D (the OOD split) and 4D (eval set "4x"), the OOD sizes evaluated to `ood_steps` iterations."""
    t = EXTRAP_TASKS[task]
    knobs = {"train_difficulty": list(t.trained), "ood_difficulty": [t.twice, t.twice]}
    return TaskSpec(task, data={"task": task, "knobs": knobs, "n_test": n_eval, "n_ood": n_eval,
                                "max_question_len": t.tokens(t.four)},
                    train=dict(t.train),
                    model={"window": t.window, "loops_per_token": t.loops_per_token, "n_sup": fir_calls(task) // 2},
                    eval_sets={"4x": {"knobs": {"ood_difficulty": [t.four, t.four]}, "split": "ood", "n": n_eval,
                                      "steps": ood_steps}})


def fir_calls(task: str) -> int:
    """Network calls of the looped recipe at the task's largest trained size: T(n) iterations of 2."""
    t = EXTRAP_TASKS[task]
    return 2 * math.ceil(t.loops_per_token * t.tokens(t.trained[1]))


def _extrap_models(fir: int, ablations: bool) -> list[ModelSpec]:
    """The looped recipe (per-row loop count T(n) from the question's length, Bansal's incremental
    loss with alpha = 1, recall, the task's attention window) against the parameter-matched LM
    (full causal attention, RoPE), the single pass (full attention: with the window it could not
    even see across the trained sizes) and the untied stack at the trained depth with the same
    window (`fir` networks: the FIR model, as deep as the looped network's unrolled forward at the
    largest trained size of any of the study's tasks). Ablations remove one ingredient each: recall, the
    incremental loss, the per-row count (a fixed N_sup, the trained-depth count), the window."""
    models = [looped_spec(),
              ModelSpec("transformer", kind="transformer", overrides={"window": 0},
                        label="transformer LM (iso-parameter, full causal attention, RoPE)"),
              single_pass_spec(), untied_spec(fir)]
    if ablations:
        drop = {"no-recall": ({"recall": False}, "without recall (the question enters once)"),
                "no-incremental": ({"incremental_alpha": 0.0}, "without the incremental loss (loss after T(n))"),
                "fixed-loops": ({"loops_per_token": 0.0}, "with a fixed count in training (N_sup = trained depth)"),
                "full-attention": ({"window": 0}, "with full attention (no window)")}
        models += [ModelSpec(name, overrides=o, groups=["ablations"], label=f"looped {label}")
                   for name, (o, label) in drop.items()]
    return models


def _extrap_study(name: str, tasks: list[str], seeds: list[int], tune: dict, ablations: bool) -> StudyConfig:
    """The recipe's network: 2 layers, d = 64, one latent and one answer update per iteration.
    Data seed 1: the pilots that chose the recipe (one seed each) looked at seed 0's questions."""
    base = cpu_base(1000)
    base.name = name
    base.model = replace(base.model, answer_len=0, n_registers=1, n_latent=1, n_cycles=1, recursion="looped",
                         incremental_alpha=1.0, distinct_slots=False)
    base.data = replace(base.data, answer_len=0, n_dev=300, seed=1)
    base.train = replace(base.train, lr=1e-3, eval_batch_size=250)
    return StudyConfig(name=name, base=base, tasks=[_extrap_task(t, 1000, ood_steps=64) for t in tasks],
                       models=_extrap_models(max(fir_calls(t) for t in tasks), ablations), seeds=seeds,
                       eval_steps=288, tune=tune, settle_patience=4)


# The learning rates extrap-cpu's tuning chose on prefix parity (results/extrap-cpu/report.md).
EXTRAP_CPU_LRS = {"looped": 1e-3, "transformer": 1e-3, "single-pass": 1e-3, "untied": 1e-3}


def study_extrap_quick() -> StudyConfig:
    """≤ 15 minutes on 2 cores: prefix parity only (trained on 4-16 bits, tested on 32 and 64), the
    looped recipe, the LM, the single pass and the FIR stack, two seeds, each at the lr that
    extrap-cpu's tuning chose for it on this task (`EXTRAP_CPU_LRS`), so nothing is tuned here."""
    study = _extrap_study("extrap-quick", ["prefix_parity"], seeds=[0, 1], tune={}, ablations=False)
    for m in study.models:
        m.train = {**m.train, "lr": EXTRAP_CPU_LRS[m.name]}
    return study


def study_extrap_precision() -> StudyConfig:
    """extrap-quick with the looped model at five seeds (the baselines at its two), run once per
    precision for a paired table: `-o train.precision=fp32` and `-o train.precision=bf16`. Its cells
    are extrap-quick's (and, in bf16, extrap-cpu's looped parity seeds), so `--reuse` brings back what
    either has (results/extrap-precision/README.md)."""
    study = study_extrap_quick()
    study.name = study.base.name = "extrap-precision"
    next(m for m in study.models if m.name == "looped").seeds = [0, 1, 2, 3, 4]
    return study


def study_extrap_cpu() -> StudyConfig:
    """Think longer, solve bigger, on 2 cores: prefix parity (4-16 bits -> 32, 64), aligned long
    addition (1-8 digits -> 16, 32) and the shell game (1-8 moves -> 16, 32), 1,000 questions per
    size; the looped recipe (the headline model) at ten seeds on parity and five on the others, the
    LM, the single pass and the FIR stack at three, each model's lr tuned on seed 100 over
    {1e-3, 3e-3}, at most 1,000 steps (the shell game's 3,000-step runs tune at 1,000, the same
    horizon for every model). Measured on 2 idle cores: parity and addition about 130 min of wall
    time, the shell game 139 more (results/extrap-cpu/README.md)."""
    study = _extrap_study("extrap-cpu", ["prefix_parity", "long_addition", "shell_game"], seeds=[0, 1, 2],
                          tune={"lr": [1e-3, 3e-3], "seed": 100, "steps": 1000}, ablations=False)
    next(m for m in study.models if m.name == "looped").seeds = {"prefix_parity": list(range(10)),
                                                                 "long_addition": [0, 1, 2, 3, 4],
                                                                 "shell_game": [0, 1, 2, 3, 4]}
    return study


def study_extrap_ablations() -> StudyConfig:
    """One ingredient of the looped recipe removed at a time (recall, the incremental loss, the
    per-row count, the window) on prefix parity, three seeds, each tuned like extrap-cpu; the full
    recipe's cells are extrap-cpu's (`--reuse results/extrap-cpu/results.json` brings them back).
    Parity only: addition's five runs would add about two hours on 2 cores."""
    study = _extrap_study("extrap-ablations", ["prefix_parity"], seeds=[0, 1, 2],
                          tune={"lr": [1e-3, 3e-3], "seed": 100}, ablations=True)
    study.models = [m for m in study.models if m.name == "looped" or "ablations" in m.groups]
    return study


# ---------------------------------------------------------------- rivals
# Who else can think longer? The loop against the rivals a length-generalisation reader names first,
# each with its own field's recipe, at 2x to 16x the trained size.
RIVAL_MULTIPLES = (4, 8, 16)  # eval sets beyond the OOD split's 2x
RIVAL_SET_SIZE = {4: 1000, 8: 200, 16: 200}  # questions per set (the largest are the costliest to think through)
# The recurrent rivals read 2 tokens ahead: the shell game writes a move's cup at its first letter,
# before the letter that says which cups swap (a reader without lookahead scored 0.017 on dev there).
RIVAL_DELAY = 2
LM_POSITIONS = 2048  # every LM's positions: above the longest prompt + trace, and Ruoss et al.'s L for random ones


def _rival_task(task: str) -> TaskSpec:
    """An extrapolation task with eval sets at 4x, 8x and 16x the trained size, each evaluated to
    twice the iterations the loop's size rule gives there; questions up to 16x long."""
    t = EXTRAP_TASKS[task]
    spec = _extrap_task(task, 1000, ood_steps=64)
    largest = t.trained[1]
    spec.data["max_question_len"] = t.tokens(largest * RIVAL_MULTIPLES[-1])
    for k in RIVAL_MULTIPLES:
        size = largest * k
        spec.eval_sets[f"{k}x"] = {"knobs": {"ood_difficulty": [size, size]}, "split": "ood", "n": RIVAL_SET_SIZE[k],
                                   "steps": 2 * math.ceil(t.loops_per_token * t.tokens(size))}
    return spec


def _rival_models(tasks: list[str]) -> list[ModelSpec]:
    """The looped recipe; an LSTM and a GRU over the sequence (width matched to the loop's counted
    parameters, reading RIVAL_DELAY tokens ahead); the iso-parameter LM with RoPE (as in
    extrap-cpu), without positions (NoPE, Kazemnejad et al. 2023), with randomised positions (Ruoss
    et al. 2023) and with position coupling (each answer token at its question token's position;
    Cho et al. 2024); and the same LM writing a chain-of-thought trace (the running state after each
    input symbol, `trace` knob), with RoPE and with randomised positions. Every LM has positions for
    the longest prompt and trace."""
    trace_len = max(EXTRAP_TASKS[t].trace(EXTRAP_TASKS[t].trained[1] * RIVAL_MULTIPLES[-1]) for t in tasks)
    cot = {"knobs": {"trace": True}, "answer_len": trace_len + 1}  # + EOS
    return [looped_spec(), *recurrent_rivals({"delay": RIVAL_DELAY}), *lm_arms(LM_ARMS),
            ModelSpec("lm-cot", kind="transformer", overrides=LM, data=cot, label="LM writing a trace (CoT), RoPE"),
            ModelSpec("lm-cot-random", kind="transformer", overrides={**LM, "positions": "random"}, data=cot,
                      label="LM writing a trace (CoT), randomised positions")]


# The models every extrapolation study shares (study/beyond.py, study/stories.py too).
def looped_spec() -> ModelSpec:
    return ModelSpec("looped", label="looped: T(n) from the length, incremental loss, recall, local attention")


def single_pass_spec() -> ModelSpec:
    """The same network once, with full attention (with the window it could not see across a question)."""
    return ModelSpec("single-pass", kind="single_pass", overrides={"window": 0}, label="single pass (full attention)")


def untied_spec(fir: int) -> ModelSpec:
    """The untied stack of `fir` networks (the FIR model) with the task's window."""
    return ModelSpec("untied", kind="unrolled", overrides={"n_latent": fir - 1},
                     label=f"untied stack, {fir} networks (FIR, local attention)")


LM = {"window": 0, "max_positions": LM_POSITIONS}  # full causal attention, positions for any prompt here
LM_ARMS = {"transformer": ("rope", "LM, RoPE (iso-parameter)"), "lm-nope": ("none", "LM, no positions"),
           "lm-random": ("random", "LM, randomised positions"), "lm-coupled": ("coupled", "LM, position coupling")}


def lm_arms(names, data: dict | None = None) -> list[ModelSpec]:
    """The iso-parameter LM, one arm per position scheme (LM_ARMS); `data`: its answer format."""
    arms = []
    for name in names:
        positions, label = LM_ARMS[name]
        overrides = LM if positions == "rope" else {**LM, "positions": positions}
        arms.append(ModelSpec(name, kind="transformer", overrides=overrides, data=dict(data or {}), label=label))
    return arms


def recurrent_rivals(reading: dict, cells=("lstm", "gru")) -> list[ModelSpec]:
    """The LSTM and GRU, widths matched to the loop's counted parameters; `reading`: how far they
    read before answering (`delay`, or `read_first`)."""
    first = ", reads the whole question first" if reading.get("read_first") else ""
    return [ModelSpec(cell, kind="recurrent", overrides={"cell": cell, **reading},
                      label=f"{cell.upper()} (iso-parameter{first})") for cell in cells]


def study_rivals_cpu() -> StudyConfig:
    """Who else can think longer? Prefix parity (4-16 bits -> 32, 64, 128, 256) and the shell game
    (1-8 moves -> 16, 32, 64, 128) under extrap-cpu's protocol (steps, checkpoint rule, data seed 1,
    the oracle-free stop with patience 4), the loop at five seeds against the LSTM, the GRU and six LM
    arms at three, every model's lr tuned on seed 100 over {1e-3, 3e-3} (at most 1,000 steps). The
    test split is evaluated to 64 iterations (4x the trained need), not extrap-cpu's 288. Runs in
    parts: `--tasks prefix_parity` (results/rivals-cpu/README.md)."""
    tasks = ["prefix_parity", "shell_game"]
    study = _extrap_study("rivals-cpu", tasks, seeds=[0, 1, 2],
                          tune={"lr": [1e-3, 3e-3], "seed": 100, "steps": 1000}, ablations=False)
    study.tasks = [_rival_task(t) for t in tasks]
    study.models = _rival_models(tasks)
    study.models[0].seeds = [0, 1, 2, 3, 4]
    study.eval_steps = 64
    return study


# ---------------------------------------------------------------- TRM's own scheme
TRM_STEPS = 8000  # one supervision step per optimiser step: about the looped recipe's compute on parity


def study_extrap_trm() -> StudyConfig:
    """TRM's own scheme thinks longer? Deep supervision over the detached carry with the learned halt
    (ACT), each row's most supervision steps its T(n) (loops_per_token under recursion=trm), the
    task's window and recall, on rivals-cpu's tasks and sizes (2x to 16x); HRM beside it; the looped
    recipe as in rivals-cpu, so `--reuse` brings its cells back. TRM_STEPS optimiser steps for both:
    one iteration a step, where the looped recipe runs T(n) and its incremental pass (on parity about
    8 iterations a row), so about the same compute there and under a third of it on the shell game.
    Read at the learned halt (`halting` in each cell), the oracle-free stop and T(n)."""
    study = study_rivals_cpu()
    study.name = study.base.name = "extrap-trm"
    deep = {"recursion": "trm", "incremental_alpha": 0.0, "halting": "act"}
    steps = {"steps": TRM_STEPS, "eval_every": TRM_STEPS // 4, "checkpoint_every": TRM_STEPS // 4}
    study.models = [study.models[0],
                    ModelSpec("trm", overrides=deep, train=steps, seeds=[0, 1, 2, 3, 4],
                              label="TRM's scheme: deep supervision, ACT halting, at most T(n) steps"),
                    ModelSpec("hrm", kind="hrm", overrides=deep, train=steps,
                              label="HRM: two networks, 1-step gradient, Q-learning halting, at most T(n) steps")]
    return study
