"""What a study is: a grid of tasks × models × seeds over one base run config.

A `StudyConfig` is plain data, saved beside every study and loadable from JSON
(`trmlab study my_study.json`). Every model is derived from the base reasoner, so a
comparison changes one thing at a time:

  reasoner      the base reasoner, with `overrides` (e.g. another (n, T) or halting mode)
  transformer   a decoder-only LM whose counted parameters match the base reasoner's (±2%)
  single_pass   the same network applied once: n = T = N_sup = 1
  unrolled      untied layers stacked to the reasoner's depth per supervision step
                (T·(n+1) networks, one pass): more parameters, the same compute per step
  hrm           HRM over the same blocks: two networks, 2 low x 2 high cycles by default,
                1-step gradient, Q-learning halting (the base's other settings kept)
  recurrent     an LSTM or GRU over the sequence (`overrides={"cell": "gru"}`), its width matched
                to the base reasoner's counted parameters (±5%); tasks answered in place only

On a task answered in place (`data.answer_len = 0`) the LM writes the answer after the question,
in a field of `data.max_question_len + 1` tokens; the one-pass models drop the looped recipes.

`groups` names the comparisons a model belongs to in the report: main (every baseline),
depth (trained recursion), halting (how many supervision steps rows train), feedback,
schemes (how the recursion is trained: `model.recursion`), ablations (one ingredient of a recipe
removed at a time).

Fair tuning: `tune = {"lr": [1e-3, 3e-3, 1e-2], "seed": 100}` gives every model its own
learning rate, chosen from the grid by dev accuracy on the tuning seed (never a study seed);
`ModelSpec.lr_grid` replaces the grid for one model. Without a grid a model trains at the
base's (or its own `train`) lr, and its cells are exactly those of a study without tuning.
`tune["extend"] = k`: when a model's best lr is at an end of its grid, also try the next
point beyond it on the 1-3 ladder (..., 3e-4, 1e-3, 3e-3, ...), up to k times, so an
optimum at the grid's edge is not taken for the optimum; the same rule for every model.
`tune["weight_decay"] = [0.1, 1.0]`: every tuned model also tries each weight decay, at every point
of its lr grid (the lr grid extended per weight decay), and trains at the (lr, weight decay) pair
with the best dev accuracy; ties go to the smaller lr, then the smaller weight decay. Without it
the weight decay is the base's (or the model's own `train`), and nothing changes.
`tune["steps"] = k`: the tuning cells train at most k steps (a shorter horizon, with its own full lr
schedule, the same for every model); the chosen lr then trains the task's full steps. Where a task
trains k steps or fewer its tuning cells are exactly those without the field.
`TaskSpec.tune_with = "<task id>"`: the task trains at the choices tuned on that other task (a
family of tasks that differ only in training-set size, tuned once at one size); every model gets
the same reuse, so the effort stays equal. `TaskSpec.seeds` runs one task at its own seeds (more
where its intervals are wide); `ModelSpec.seeds` one model at its own, on every task or per task
id (the headline models at more seeds than their baselines); a model's seeds win over its task's.
Paired comparisons pair the seeds two models share.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from ..config import DataConfig, RunConfig, TrainConfig, _build, apply_overrides, transformer_twin
from ..model.config import HRMConfig, ReasonerConfig, RecurrentConfig

MODEL_KINDS = ("reasoner", "transformer", "single_pass", "unrolled", "hrm", "recurrent")
GROUPS = ("main", "depth", "halting", "feedback", "schemes", "ablations")
ONE_PASS = {"loops_per_token": 0.0, "extra_loops": 0, "incremental_alpha": 0.0, "progressive": False}


@dataclass
class ModelSpec:
    name: str  # short id: the cell's folder name
    kind: str = "reasoner"
    overrides: dict = field(default_factory=dict)  # model-config fields changed from the base
    groups: list = field(default_factory=lambda: ["main"])
    label: str = ""  # for the report; default: built from the config
    eval_steps: int = 0  # test-time supervision steps for the depth curve; 0 = the study's
    train: dict = field(default_factory=dict)  # TrainConfig fields changed for this model (e.g. steps)
    lr_grid: list = field(default_factory=list)  # this model's learning-rate grid; empty = the study's tune.lr
    # This model's study seeds on every task, or {task id: seeds} for some tasks; empty = the task's.
    seeds: list | dict = field(default_factory=list)
    # DataConfig fields this model's cells change, its `knobs` merged into the task's: the same
    # questions in another answer format, e.g. the chain-of-thought LM's trace ({"knobs": {"trace":
    # True}, "answer_len": ...}). Left out of the study's JSON when empty.
    data: dict = field(default_factory=dict)

    def __post_init__(self):
        # The seed is the grid's, not the model's.
        unknown = set(self.train) - ({f.name for f in fields(TrainConfig)} - {"seed"})
        if unknown:
            raise ValueError(f"model {self.name!r}: train has no field {', '.join(sorted(unknown))}")
        unknown = set(self.data) - {f.name for f in fields(DataConfig)}
        if unknown:
            raise ValueError(f"model {self.name!r}: data has no field {', '.join(sorted(unknown))}")
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"model {self.name!r}: unknown kind {self.kind!r}; kinds: {', '.join(MODEL_KINDS)}")
        bad = set(self.groups) - set(GROUPS)
        if bad:
            raise ValueError(f"model {self.name!r}: unknown group {', '.join(sorted(bad))}; groups: {', '.join(GROUPS)}")
        if self.lr_grid:
            check_lr_grid(self.lr_grid, f"model {self.name!r}: lr_grid")


def check_lr_grid(grid, where: str) -> None:
    if not isinstance(grid, list) or not grid:
        raise ValueError(f"{where} must be a non-empty list of learning rates, got {grid!r}")
    bad = [lr for lr in grid if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0]
    if bad:
        raise ValueError(f"{where}: learning rates must be positive numbers, got {', '.join(map(repr, bad))}")
    if len(set(grid)) != len(grid):
        raise ValueError(f"{where} repeats a learning rate: {grid}")


def ladder_step(lr: float, up: bool) -> float:
    """The next learning rate above (or below) `lr` on the 1-3 ladder: 1e-3 -> 3e-3 -> 1e-2."""
    exponent = math.floor(math.log10(lr) + 1e-9)
    rungs = [m * 10.0 ** e for e in (exponent - 1, exponent, exponent + 1) for m in (1, 3)]
    rung = min(r for r in rungs if r > lr * (1 + 1e-9)) if up else max(r for r in rungs if r < lr * (1 - 1e-9))
    return float(f"{rung:.6g}")  # 3e-4, not 3.0000000000000003e-4


def check_wd_grid(grid, where: str) -> None:
    if not isinstance(grid, list) or not grid:
        raise ValueError(f"{where} must be a non-empty list of weight decays, got {grid!r}")
    bad = [wd for wd in grid if isinstance(wd, bool) or not isinstance(wd, (int, float)) or not wd >= 0]
    if bad:
        raise ValueError(f"{where}: weight decays must be numbers >= 0, got {', '.join(map(repr, bad))}")
    if len(set(grid)) != len(grid):
        raise ValueError(f"{where} repeats a weight decay: {grid}")


def lr_tag(lr: float, weight_decay: float | None = None) -> str:
    """A tuning cell's folder name, e.g. lr0.003, or lr0.003-wd1 when the weight decay is tuned too."""
    return f"lr{lr:g}" + ("" if weight_decay is None else f"-wd{weight_decay:g}")


@dataclass
class TaskSpec:
    id: str  # the cell's folder name and the report's heading
    data: dict = field(default_factory=dict)  # DataConfig fields changed from the base (task, knobs, ...)
    models: list = field(default_factory=list)  # model names run on this task; empty = all
    train: dict = field(default_factory=dict)  # TrainConfig fields changed from the base
    model: dict = field(default_factory=dict)  # base-reasoner fields changed for this task (e.g. answer_len)
    needs_data_dir: bool = False  # a real data set: skipped, with a message, when no data folder is given
    # Extra held-out sets, evaluated with the same checkpoints: name -> {"knobs": task knobs
    # changed, "split": the task split to read (e.g. "all"), "n": examples, "needs_data_dir": bool}.
    eval_sets: dict = field(default_factory=dict)
    tune_with: str = ""  # another task's id: train at the lrs (and weight decays) tuned there
    seeds: list = field(default_factory=list)  # this task's study seeds; empty = the study's


@dataclass
class StudyConfig:
    name: str
    base: RunConfig
    tasks: list[TaskSpec]
    models: list[ModelSpec]
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    eval_steps: int = 64
    tune: dict = field(default_factory=dict)  # {"lr": [...], "seed": k}: see the module's docstring
    # The oracle-free stop, fixed before any test number is seen: a recursive model's answer is
    # read once it is the same as the `settle_patience` iterations before it; 0 = not reported.
    settle_patience: int = 0

    def __post_init__(self):
        names = [m.name for m in self.models]
        if len(set(names)) != len(names):
            raise ValueError(f"study {self.name!r}: model names repeat: {names}")
        for t in self.tasks:
            unknown = set(t.models) - set(names)
            if unknown:
                raise ValueError(f"task {t.id!r} lists unknown model {', '.join(sorted(unknown))}")
        ids = {t.id: t for t in self.tasks}
        for t in self.tasks:
            if t.tune_with and (t.tune_with not in ids or ids[t.tune_with].tune_with):
                raise ValueError(f"task {t.id!r}: tune_with must name another task of the study that is "
                                 f"tuned itself, not {t.tune_with!r}")
            if t.tune_with and {m.name for m in self.models_for(t)} - {m.name for m in self.models_for(ids[t.tune_with])}:
                raise ValueError(f"task {t.id!r} runs models that task {t.tune_with!r}, whose tuning it reuses, does not")
        if not isinstance(self.base.model, ReasonerConfig):
            raise ValueError("a study's base model must be a reasoner (the others are derived from it)")
        self.check_tune()

    def check_tune(self) -> None:
        """Errors in the tune block; run again before a study runs (`--seeds` changes the seeds)."""
        unknown = set(self.tune) - {"lr", "seed", "extend", "weight_decay", "steps"}
        if unknown:
            raise ValueError(f"study {self.name!r}: tune has no field {', '.join(sorted(unknown))}; "
                             "fields: lr, seed, extend, weight_decay, steps")
        steps = self.tune.get("steps", 1)
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"study {self.name!r}: tune.steps must be a whole number >= 1, got {steps!r}")
        if "lr" in self.tune:
            check_lr_grid(self.tune["lr"], f"study {self.name!r}: tune.lr")
        if "weight_decay" in self.tune:
            check_wd_grid(self.tune["weight_decay"], f"study {self.name!r}: tune.weight_decay")
            if not any(self.lr_grid(m) for m in self.models):
                raise ValueError(f"study {self.name!r}: tune.weight_decay is tried at the points of a "
                                 "learning-rate grid; give tune.lr (or a model's lr_grid)")
        extend = self.tune.get("extend", 0)
        if isinstance(extend, bool) or not isinstance(extend, int) or extend < 0:
            raise ValueError(f"study {self.name!r}: tune.extend must be a whole number >= 0, got {extend!r}")
        if not any(self.lr_grid(m) for m in self.models):
            return
        seed = self.tune.get("seed")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"study {self.name!r}: a learning-rate grid needs an integer tuning seed "
                             f"(tune.seed), got {seed!r}")
        if seed in self.seeds or any(seed in self.seeds_for(t, m) for t in self.tasks for m in self.models):
            raise ValueError(f"study {self.name!r}: the tuning seed {seed} is also a study seed {self.seeds}; "
                             "it must not be, or the learning rate is chosen on the runs it is reported on")

    # ----- (de)serialisation
    def to_dict(self) -> dict:
        return {"name": self.name, "base": self.base.to_dict(), "seeds": list(self.seeds),
                "eval_steps": self.eval_steps, "tune": dict(self.tune), "settle_patience": self.settle_patience,
                "tasks": [asdict(t) for t in self.tasks],
                "models": [{k: v for k, v in asdict(m).items() if k != "data" or v} for m in self.models]}

    @classmethod
    def from_dict(cls, d: dict) -> "StudyConfig":
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"study config has no field {', '.join(sorted(unknown))}")
        return cls(name=d["name"], base=RunConfig.from_dict(d["base"]),
                   tasks=[_build(TaskSpec, t, "task") for t in d["tasks"]],
                   models=[_build(ModelSpec, m, "model spec") for m in d["models"]],
                   seeds=list(d.get("seeds", [0, 1, 2])), eval_steps=d.get("eval_steps", 64),
                   tune=dict(d.get("tune", {})), settle_patience=d.get("settle_patience", 0))

    @classmethod
    def load(cls, path: str | Path) -> "StudyConfig":
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from e
        except KeyError as e:
            raise ValueError(f"{path}: study config is missing {e}") from e

    def override(self, items: list[str]) -> None:
        """`section.field=value` (as `trmlab train -o`) in every cell: the base's setting, and every
        task's and model's own setting of that field where they have one."""
        for item in items:
            key = item.partition("=")[0].strip()
            if key == "train.seed":
                raise ValueError("a study's seeds are its grid's: use --seeds, not -o train.seed")
            self.base = apply_overrides(self.base, [item])  # parsed and checked here
            section, *path = key.split(".")
            value = self.base.to_dict()[section]
            for part in path:
                value = value[part]
            for holder in self._own_settings(section):
                _set_where_set(holder, path, value)

    def _own_settings(self, section: str) -> list[dict]:
        """The tasks' and models' own settings of one config section (what they change from the base)."""
        if section == "train":
            return [o.train for o in (*self.tasks, *self.models)]
        if section == "model":
            return [t.model for t in self.tasks] + [m.overrides for m in self.models]
        return [t.data for t in self.tasks]

    # ----- the grid
    def lr_grid(self, spec: ModelSpec) -> list[float]:
        """The learning rates tried for a model; empty = not tuned."""
        return list(spec.lr_grid or self.tune.get("lr", []))

    def wd_grid(self, spec: ModelSpec) -> list[float | None]:
        """The weight decays a tuned model tries; [None] = the weight decay is not tuned."""
        return list(self.tune.get("weight_decay", [])) if self.lr_grid(spec) and self.tune.get("weight_decay") else [None]

    def grid_point(self, spec: ModelSpec, train: TrainConfig) -> tuple[float, float | None]:
        """A tuning cell's point in its model's grid, as the tuning table records it: (lr, weight
        decay), the weight decay None where it is not tuned."""
        return train.lr, (train.weight_decay if self.wd_grid(spec) != [None] else None)

    def seeds_for(self, task: TaskSpec, spec: ModelSpec | None = None) -> list[int]:
        """The seeds a model trains on a task (without a model: the task's)."""
        own = spec.seeds if spec else []
        if isinstance(own, dict):  # per task id
            own = own.get(task.id, [])
        return list(own or task.seeds or self.seeds)

    def models_for(self, task: TaskSpec) -> list[ModelSpec]:
        return [m for m in self.models if not task.models or m.name in task.models]

    def task_base(self, task: TaskSpec) -> RunConfig:
        """The base reasoner's run config on one task."""
        data = _build(DataConfig, {**asdict(self.base.data), **task.data}, f"task {task.id!r} data")
        train = _build(TrainConfig, {**asdict(self.base.train), **task.train}, f"task {task.id!r} train")
        model = replace(self.base.model, **task.model)
        return replace(self.base, model=model, data=data, train=train)

    def run_config(self, task: TaskSpec, spec: ModelSpec, seed: int, lr: float | None = None,
                   weight_decay: float | None = None) -> RunConfig:
        """One cell's run config (the transformer still at the base width: `plan_cells` matches it);
        `lr` and `weight_decay`, a tuned model's, replace the base's and the model's own."""
        base = self.task_base(task)
        train = {**spec.train, "seed": seed}
        if lr is not None:
            train["lr"] = lr
        if weight_decay is not None:
            train["weight_decay"] = float(weight_decay)
        base = replace(base, name=f"{self.name}/{task.id}/{spec.name}/seed{seed}", train=replace(base.train, **train))
        if spec.data:  # the same questions in this model's answer format
            knobs = {**base.data.knobs, **spec.data.get("knobs", {})}
            data = _build(DataConfig, {**asdict(base.data), **spec.data, "knobs": knobs}, f"model {spec.name!r} data")
            base = replace(base, data=data, model=replace(base.model, answer_len=data.answer_len))
        m = base.model
        if spec.kind == "transformer":
            if not base.data.answer_len:  # a task answered in place: the LM writes it after the question
                field = base.data.max_question_len + 1  # an in-place answer is at most the question, + EOS
                base = replace(base, data=replace(base.data, answer_len=field), model=replace(m, answer_len=field))
            cfg = transformer_twin(base)
            return replace(cfg, name=base.name, model=replace(cfg.model, **spec.overrides))
        if spec.kind == "recurrent":
            if base.data.answer_len:
                raise ValueError(f"model {spec.name!r}: a recurrent model answers in place; task {task.id!r} "
                                 "has an answer field (data.answer_len > 0)")
            return replace(base, model=RecurrentConfig(**spec.overrides))
        if spec.kind == "single_pass":
            m = replace(m, n_latent=1, n_cycles=1, n_sup=1, **ONE_PASS)
        elif spec.kind == "unrolled":
            m = replace(m, untied=True, n_latent=m.net_calls_per_step - 1, n_cycles=1, n_sup=1, **ONE_PASS)
        elif spec.kind == "hrm":
            # its own scheme; the model's own settings too, at once (a looped base's recipes do not fit it)
            m = HRMConfig(**{**asdict(m), "n_latent": 2, "n_cycles": 2, "recursion": "trm", **spec.overrides})
        return replace(base, model=replace(m, **spec.overrides))

    def tune_config(self, task: TaskSpec, spec: ModelSpec, lr: float, weight_decay: float | None = None) -> RunConfig:
        """A tuning cell's run config: the model at one grid point, on the tuning seed, for at most
        `tune.steps` steps (its evaluations and checkpoints at most that far apart)."""
        cfg = self.run_config(task, spec, self.tune["seed"], lr, weight_decay)
        horizon = self.tune.get("steps", cfg.train.steps)
        if horizon < cfg.train.steps:
            t = cfg.train
            cfg = replace(cfg, train=replace(t, steps=horizon, eval_every=min(t.eval_every, horizon),
                                             checkpoint_every=min(t.checkpoint_every, horizon)))
        return replace(cfg, name=f"{self.name}/{task.id}/{spec.name}/tune/{lr_tag(lr, weight_decay)}")


def _set_where_set(holder: dict, path: list[str], value) -> None:
    """holder[a][b]... = value where the holder sets that field itself; a nested one (a task's own
    knobs, which replace the base's whole) wherever the holder has that mapping."""
    *parents, last = path
    for p in parents:
        holder = holder.get(p)
        if not isinstance(holder, dict):
            return
    if parents or last in holder:
        holder[last] = value


def model_label(spec: ModelSpec, cfg: RunConfig) -> str:
    if spec.label:
        return spec.label
    m = cfg.model
    if spec.kind == "transformer":
        return f"transformer LM ({m.n_layers}×d{m.d_model})"
    if spec.kind == "unrolled":
        return f"unrolled untied stack ({m.net_calls_per_step}×{m.n_layers} layers)"
    if spec.kind == "single_pass":
        return "single pass (n=T=N_sup=1)"
    if spec.kind == "recurrent":
        return f"{m.cell.upper()} ({m.n_layers}×d{m.d_model})"
    if spec.kind == "hrm":
        return f"HRM ({m.n_latent} low × {m.n_cycles} high, N_sup={m.n_sup})"
    if m.recursion != "trm":
        return f"{m.recursion.replace('_', ' ')} (n={m.n_latent}, T={m.n_cycles}, {m.n_sup} iterations{scheme_detail(m)})"
    extra = "" if m.halting == "act" else f", {m.halting} steps"
    extra += "" if m.mixer == "attention" else ", MLP mixer"
    extra += "" if m.feedback == "continuous" else ", token feedback"
    extra += scheme_detail(m)
    return f"reasoner (n={m.n_latent}, T={m.n_cycles}, N_sup={m.n_sup}{extra})"


def scheme_detail(m) -> str:
    """What a reasoner changes from TRM's defaults in how its recursion trains, for labels."""
    parts = [f"{m.injection} injection"] if m.injection != "sum" else []
    if m.recursion == "trm":
        parts += [f"grad through {m.grad_cycles or 'all'} cycles"] if m.grad_cycles != 1 else []
        parts += ["carry reset"] if m.carry == "reset" else []
        parts += ["rows staggered"] if m.stagger else []
        parts += [f"N_sup curriculum {m.sup_curriculum}"] if m.sup_curriculum else []
    parts += ["progressive loss"] if m.recursion == "looped" and m.progressive else []
    if m.recursion == "recurrent_depth":
        parts += [f"{m.depth_dist} depth", f"grad through last {m.grad_iters or 'all'}"]
    if m.recursion == "deq":
        parts += [f"{m.deq_grad} gradient", f"tol {m.deq_tol:g}"]
    return "".join(", " + p for p in parts)
