"""What the named studies share: the CPU base run every CPU preset starts from."""
from __future__ import annotations

from ..config import DataConfig, RunConfig, TrainConfig
from ..model.config import ReasonerConfig


def cpu_base(steps: int) -> RunConfig:
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
