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

The timing helpers (harness.py) import nothing from trmlab, so the peer drivers in
benchmarks/ (run in their own virtualenvs) use exactly the same harness.

Layout: `harness.py` the timing helpers (torch only), `cases.py` the cases and what is measured
of each, `run.py` runs them (isolated), `report.py` writes bench.json and bench.md, `command.py`
is `trmlab bench`. Every name is importable from `trmlab.bench`.
"""
from .cases import (A, CASE_GROUPS, CASE_NAMES, DEFAULT_LM_FIXED, SCHEME_CASES, SCHEMES, TINY, bench_case,
                    bench_depth_curve, bench_halting, case_config, split_scheme, synthetic_split)
from .command import GPU_COMMAND, add_bench_parser, cmd_bench
from .harness import environment, gemm_shapes, matmul_peak, peak_memory_mb, reset_peak_memory, spread, time_it
from .report import label, markdown, write
from .run import run_bench

__all__ = ["A", "CASE_GROUPS", "CASE_NAMES", "DEFAULT_LM_FIXED", "GPU_COMMAND", "SCHEME_CASES", "SCHEMES", "TINY",
           "add_bench_parser", "bench_case", "bench_depth_curve", "bench_halting", "case_config", "cmd_bench",
           "environment", "gemm_shapes", "label", "markdown", "matmul_peak", "peak_memory_mb", "reset_peak_memory",
           "run_bench", "spread", "split_scheme", "synthetic_split", "time_it", "write"]
