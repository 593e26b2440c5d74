"""The named studies: `trmlab study cpu-quick | cpu | paper | smoke`.

Every preset is the same design at a different size: the reasoner against its baselines
(main), trained recursion (n, T) (depth), how many supervision steps rows train
(halting: ACT vs a fixed count vs a random count) and the feedback ablation, each with
three seeds. A JSON file with the same fields (`trmlab study my.json`) runs any other grid;
`runs/<study>/study.json` is a template.
"""
from __future__ import annotations

from ..config import DataConfig, RunConfig, TrainConfig
from ..model.config import ReasonerConfig
from .config import ModelSpec, StudyConfig, TaskSpec


def _baselines() -> list[ModelSpec]:
    return [ModelSpec("reasoner", groups=["main", "depth", "halting", "feedback"]),
            ModelSpec("transformer", kind="transformer"),
            ModelSpec("single-pass", kind="single_pass", groups=["main", "depth"]),
            ModelSpec("unrolled", kind="unrolled")]


def _variants(depths: list[tuple[int, int]], eval_steps: int, halting_eval_steps: int = 0) -> list[ModelSpec]:
    """Trained-recursion points (n, T), the halting modes and token feedback. The depth and
    feedback variants are evaluated to `eval_steps` only (the depth curve is the halting
    group's question), which bounds the study's evaluation cost."""
    out = [ModelSpec(f"n{n}T{t}", overrides={"n_latent": n, "n_cycles": t}, groups=["depth"], eval_steps=eval_steps)
           for n, t in depths]
    out += [ModelSpec(f"halting-{mode}", overrides={"halting": mode}, groups=["halting"],
                      eval_steps=halting_eval_steps) for mode in ("fixed", "random")]
    out += [ModelSpec("token-feedback", overrides={"feedback": "tokens"}, groups=["feedback"], eval_steps=eval_steps)]
    return out


def _cpu_base(steps: int) -> RunConfig:
    """A 2-layer d=64 reasoner on short arithmetic, one thread per cell (two cells at a time)."""
    return RunConfig(
        name="cpu",
        model=ReasonerConfig(d_model=64, n_layers=2, n_heads=4, n_latent=2, n_cycles=2, n_sup=4,
                             n_registers=4, answer_len=5, distinct_slots=True),
        data=DataConfig(task="arithmetic", knobs={"train_difficulty": [1, 2], "ood_difficulty": [3, 4]},
                        n_train=20000, n_dev=300, n_test=500, n_ood=500, answer_len=5),
        train=TrainConfig(steps=steps, batch_size=64, lr=3e-3, warmup=50, eval_every=steps // 4,
                          checkpoint_every=steps // 4, log_every=25, threads=1),
    )


def study_cpu_quick() -> StudyConfig:
    """≤ 15 minutes on a 2-core CPU: the four main models, three seeds, one task."""
    return StudyConfig(name="cpu-quick", base=_cpu_base(steps=600),
                       tasks=[TaskSpec("arithmetic", data={"n_test": 300, "n_ood": 300})],
                       models=_baselines(), seeds=[0, 1, 2], eval_steps=32)


def study_cpu() -> StudyConfig:
    """≤ 90 minutes on a 2-core CPU: every comparison on arithmetic (trained recursion (n, T) at
    (1,1), (2,2), (3,2) and TRM's (6,3)), and a real-data cell
    (MAWPS + GSM8K filtered to short, few-step, integer problems; BPE) for the reasoner and
    the transformer. Resumable: rerun the same command to continue a stopped study."""
    real = TaskSpec("mawps+gsm8k", needs_data_dir=True, models=["reasoner", "transformer"],
                    data={"task": "mawps+gsm8k", "tokenizer": "bpe", "bpe_vocab_size": 512, "answer_len": 6,
                          "n_train": 5000, "n_dev": 300, "n_test": 500, "n_ood": 500,
                          "knobs": {"max_chars": 200, "max_steps": 2, "integer_only": True, "max_answer": 9999}},
                    model={"answer_len": 6})
    return StudyConfig(name="cpu", base=_cpu_base(steps=1500),
                       tasks=[TaskSpec("arithmetic"), real],
                       models=_baselines() + _variants([(1, 1), (3, 2), (6, 3)], eval_steps=16),
                       seeds=[0, 1, 2], eval_steps=64)


def study_paper() -> StudyConfig:
    """For one GPU: TRM's published shape (n=6, T=3, N_sup=16) at 10-20M counted parameters
    (2 layers, d=768), on procedural word problems and filtered GSM8K + Orca-Math."""
    base = RunConfig(
        name="paper",
        model=ReasonerConfig(d_model=768, n_layers=2, n_heads=12, n_latent=6, n_cycles=3, n_sup=16,
                             n_registers=16, answer_len=8, distinct_slots=True, loss="stablemax"),
        data=DataConfig(task="word_problems", knobs={"train_difficulty": [1, 4], "ood_difficulty": [5, 8]},
                        n_train=200_000, n_dev=1000, n_test=2000, n_ood=2000, answer_len=8, tokenizer="bpe",
                        bpe_vocab_size=2048),
        train=TrainConfig(steps=50_000, batch_size=256, lr=1e-4, warmup=2000, schedule="constant",
                          weight_decay=1.0, eval_every=5000, checkpoint_every=1000, eval_batch_size=512),
    )
    real = TaskSpec("gsm8k+orca_math", needs_data_dir=True, models=["reasoner", "transformer", "single-pass"],
                    data={"task": "gsm8k+orca_math",
                          "knobs": {"max_chars": 300, "max_steps": 4, "integer_only": True, "max_answer": 9999999}})
    return StudyConfig(name="paper", base=base, tasks=[TaskSpec("word_problems"), real],
                       models=_baselines() + _variants([(2, 2), (3, 2)], eval_steps=64), seeds=[0, 1, 2],
                       eval_steps=64)


def study_smoke() -> StudyConfig:
    """Seconds: every model kind and comparison once, for the tests."""
    base = RunConfig(
        name="smoke",
        model=ReasonerConfig(d_model=32, n_layers=1, n_heads=2, n_latent=2, n_cycles=2, n_sup=3,
                             n_registers=2, answer_len=4, distinct_slots=True),
        data=DataConfig(task="arithmetic", knobs={"train_difficulty": [1, 1], "ood_difficulty": [2, 2]},
                        n_train=300, n_dev=32, n_test=32, n_ood=32, answer_len=4),
        train=TrainConfig(steps=8, batch_size=16, lr=3e-3, warmup=2, eval_every=4, checkpoint_every=4,
                          log_every=2, eval_batch_size=64, threads=1),
    )
    return StudyConfig(name="smoke", base=base, tasks=[TaskSpec("arithmetic")],
                       models=_baselines() + _variants([(1, 1)], eval_steps=4), seeds=[0, 1], eval_steps=4)


STUDY_PRESETS = {"cpu-quick": study_cpu_quick, "cpu": study_cpu, "paper": study_paper, "smoke": study_smoke}


def load_study(name_or_path: str) -> StudyConfig:
    """A preset by name, or a study JSON file."""
    if name_or_path in STUDY_PRESETS:
        return STUDY_PRESETS[name_or_path]()
    if name_or_path.endswith(".json"):
        return StudyConfig.load(name_or_path)
    raise ValueError(f"unknown study {name_or_path!r}: give a preset ({', '.join(STUDY_PRESETS)}) "
                     f"or a study .json file")
