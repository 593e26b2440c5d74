"""The GPU path: bf16 autocast, SDPA's fused kernels, torch.compile and NCCL data parallelism.
Skipped, with the reason, on a machine without CUDA; there, `trmlab bench` prints the command
a GPU user runs (`trmlab.bench.GPU_COMMAND`)."""
import json
import math
import warnings
from dataclasses import replace

import pytest
import torch

from trmlab.config import preset
from trmlab.training.trainer import Trainer

from .procs import run

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; this machine has none")


@needs_cuda
def test_bf16_compiled_training_on_cuda(tmp_path):
    cfg = preset("smoke")
    cfg.train = replace(cfg.train, steps=6, device="cuda", precision="bf16", compile=True, log_every=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a compile that falls back to eager warns: fail here
        history = Trainer(cfg, tmp_path, progress=False).run().history
    losses = [h["loss"] for h in history if "loss" in h]
    assert len(losses) == 6 and all(math.isfinite(l) for l in losses)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA GPUs")
def test_two_gpus_with_nccl_match_one(tmp_path):
    args = ["train", "--preset", "smoke", "--no-progress", "-o", "train.precision='fp32'", "-o", "train.steps=8",
            "-o", "train.log_every=1", "-o", "train.device='cuda'"]
    for ranks in (1, 2):
        done = run(args + ["--out", str(tmp_path / str(ranks))], ranks=ranks)
        assert done.returncode == 0, done.stderr[-3000:]
    curves = [[json.loads(line).get("loss") for line in (tmp_path / str(r) / "smoke" / "metrics.jsonl").open()]
              for r in (1, 2)]
    assert [l for l in curves[0] if l] == pytest.approx([l for l in curves[1] if l], abs=1e-4)
