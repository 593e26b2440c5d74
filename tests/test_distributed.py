"""Data-parallel training on CPU with gloo: two processes started by torchrun, as a user would,
against one process over the same global batch; and a killed two-process run resumed."""
import json

import pytest
import torch

from trmlab.cli import main
from trmlab.training.checkpoint import load_checkpoint
from trmlab.training.distributed import Comm

from .procs import kill_at, run

STEPS = 12
RUN = ["train", "--preset", "smoke", "--no-progress", "-o", "train.precision='fp32'", "-o", "train.threads=1",
       "-o", f"train.steps={STEPS}", "-o", "train.checkpoint_every=4", "-o", "train.eval_every=6",
       "-o", "train.log_every=1"]


def records(run_dir):
    """metrics.jsonl without the timings."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "wall_s"} for line in lines]


def files(run_dir):
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    threads = torch.get_num_threads()
    assert main(RUN + ["--out", str(out / "one")]) == 0
    torch.set_num_threads(threads)
    two = run(RUN + ["--out", str(out / "two")], ranks=2)
    assert two.returncode == 0, two.stderr[-3000:]
    return out


def test_two_ranks_match_one_process_over_the_same_global_batch(runs):
    one, two = runs / "one" / "smoke", runs / "two" / "smoke"
    a, b = records(one), records(two)
    assert len(a) == len(b) == STEPS + 2  # rank 1 logged nothing: no duplicated records
    for ra, rb in zip(a, b):
        assert ra.keys() == rb.keys()
        for k in ra:  # the loss, row accuracy and dev accuracy; counts of rows and examples exactly
            assert ra[k] == pytest.approx(rb[k], abs=1e-5, rel=0), (ra["step"], k)
    wa, ma = load_checkpoint(one / "checkpoints" / "last.safetensors")
    wb, mb = load_checkpoint(two / "checkpoints" / "last.safetensors")
    assert wa.keys() == wb.keys() and ma["stream"] == mb["stream"]
    for k in wa:  # the same global carry too: the checkpoint gathered both ranks' rows
        assert torch.allclose(wa[k].double(), wb[k].double(), rtol=0, atol=1e-5), k


def test_only_rank_0_writes(runs):
    assert files(runs / "two") == files(runs / "one")


def test_killed_two_rank_run_resumes_exactly(runs, tmp_path):
    out = ["--out", str(tmp_path)]
    kill_at(RUN + out, "save:8", tmp_path, ranks=2)  # rank 0 killed inside the write of step 8
    resumed = run(RUN + out + ["--resume"], ranks=2)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    straight, _ = load_checkpoint(runs / "two" / "smoke" / "checkpoints" / "last.safetensors")
    tensors, meta = load_checkpoint(tmp_path / "smoke" / "checkpoints" / "last.safetensors")
    assert meta["step"] == STEPS and tensors.keys() == straight.keys()
    assert all(torch.equal(tensors[k], straight[k]) for k in tensors)
    assert records(tmp_path / "smoke") == records(runs / "two" / "smoke")


def test_ranks_split_the_batch_evenly_or_refuse():
    assert [Comm(r, 4).rows(8) for r in range(4)] == [slice(0, 2), slice(2, 4), slice(4, 6), slice(6, 8)]
    with pytest.raises(ValueError, match="batch_size=6 must be divisible"):
        Comm(0, 4).rows(6)


def test_two_ranks_relabel_the_global_batch_as_one_process_does(tmp_path):
    """data.augment: every rank draws the relabellings of the whole global batch from the same
    generator, so two ranks train on exactly the rows one process does."""
    augment = RUN + ["-o", "data.augment=True", "-o", "train.steps=6", "-o", "train.eval_every=6"]
    threads = torch.get_num_threads()
    assert main(augment + ["--out", str(tmp_path / "one")]) == 0
    torch.set_num_threads(threads)
    two = run(augment + ["--out", str(tmp_path / "two")], ranks=2)
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = records(tmp_path / "one" / "smoke"), records(tmp_path / "two" / "smoke")
    assert len(a) == len(b) > 6
    for ra, rb in zip(a, b):
        for k in ra:
            assert ra[k] == pytest.approx(rb[k], abs=1e-5, rel=0), (ra["step"], k)
