"""train.precision=auto: bf16 where the hardware computes it, fp32 elsewhere; the choice said at the
start of every command, recorded by every run and cell, and part of what --reuse compares. The
hardware is faked both ways (`native_bf16`'s inputs), so these run the same on any CPU."""
import json
import warnings

import pytest
import torch

from trmlab import precision
from trmlab.cli import main
from trmlab.config import preset
from trmlab.data import load_splits
from trmlab.evaluation import evaluate
from trmlab.model import build_model
from trmlab.study import run_study

from .conftest import tiny_reasoner_config
from .test_study import tiny_study


@pytest.fixture(params=["native", "emulated"])
def cpu(request, monkeypatch):
    """A CPU with native bf16 (AVX512-BF16) or without it (AVX2 only)."""
    native = request.param == "native"
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: native)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512" if native else "AVX2")
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512f", *(["avx512_bf16"] if native else [])})
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(precision, "_ANNOUNCED", set())
    precision.native_bf16.cache_clear()
    yield request.param
    precision.native_bf16.cache_clear()


def test_auto_is_bf16_only_where_the_cpu_computes_it(cpu):
    chosen, why = precision.resolve_precision("auto", "cpu")
    assert chosen == ("bf16" if cpu == "native" else "fp32")
    assert why.startswith("auto: this CPU") and ("AVX512" if cpu == "native" else "AVX2") in why
    assert precision.resolve_precision("fp32", "cpu") == ("fp32", "as asked")
    explicit, why = precision.resolve_precision("bf16", "cpu")  # an explicit bf16 runs as asked ...
    assert explicit == "bf16" and ("emulated" in why) == (cpu == "emulated")
    line = precision.precision_line("bf16", "cpu")  # ... with a warning where it is emulated
    assert line.startswith("warning: precision bf16") == (cpu == "emulated")
    with pytest.raises(ValueError, match="unknown precision 'fp16'"):
        precision.resolve_precision("fp16")


def test_avx512_without_bf16_instructions_is_not_native(monkeypatch):
    """AVX-512 converts to bf16 but does not compute in it: oneDNN's check alone says yes there."""
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512f", "avx512bw"})
    precision.native_bf16.cache_clear()
    try:
        assert precision.native_bf16("cpu")[0] is False
        assert precision.resolve_precision("auto", "cpu")[0] == "fp32"
    finally:
        precision.native_bf16.cache_clear()


def test_a_run_records_the_precision_it_ran_in_and_an_emulated_bf16_warns(cpu, tmp_path, capsys):
    assert preset("smoke").train.precision == "auto"  # the default
    args = ["train", "--preset", "smoke", "--no-progress", "-o", "train.steps=2", "-o", "train.threads=1",
            "--out", str(tmp_path)]
    assert main(args) == 0
    expected = "bf16" if cpu == "native" else "fp32"
    assert json.loads((tmp_path / "smoke" / "config.json").read_text())["train"]["precision"] == expected
    assert f"precision {expected} (auto: this CPU" in capsys.readouterr().err
    # Through the Python API an emulated bf16 warns once (the command line printed its line instead).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from trmlab.training.trainer import Trainer
        cfg = preset("smoke")
        cfg.train.precision = "bf16"
        Trainer(cfg, tmp_path / "api", data=load_splits(cfg.data), progress=False)
        Trainer(cfg, tmp_path / "api", data=load_splits(cfg.data), progress=False)
    said = [w for w in caught if "emulated" in str(w.message)]
    assert len(said) == (1 if cpu == "emulated" else 0)


def test_study_cells_record_their_precision_and_reuse_keeps_precisions_apart(cpu, tmp_path, monkeypatch, capsys):
    """A study at auto trains its cells in the machine's precision and records it; --reuse brings a
    cell back only into a study that would run it in the same precision."""
    study = tiny_study(["reasoner"])
    done = run_study(study, tmp_path / "first", jobs=1, progress=False)
    expected = "bf16" if cpu == "native" else "fp32"
    assert [c["precision"] for c in done["cells"]] == [expected]
    assert [c["run_config"]["train"]["precision"] for c in done["cells"]] == [expected]
    assert ("bf16 native" if cpu == "native" else "bf16 emulated") in done["environment"]
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps(done))
    import trmlab.study.run as run_module
    asked = []
    monkeypatch.setattr(run_module, "_run_cells", lambda cells, *a, **k: asked.extend(c.key for c in cells))
    same = tiny_study(["reasoner"])
    same.base.train.precision = expected  # spelled out: the same run as auto resolved to
    run_study(same, tmp_path / "same", jobs=1, progress=False, reuse=str(earlier))
    assert asked == []
    other = tiny_study(["reasoner"])
    other.base.train.precision = "fp32" if expected == "bf16" else "bf16"
    run_study(other, tmp_path / "other", jobs=1, progress=False, reuse=str(earlier))
    assert asked == ["arithmetic/reasoner/seed0"]  # not restored: another precision is another run


def test_study_override_reaches_every_cell_and_is_checked(tmp_path, monkeypatch, capsys):
    """`trmlab study -o`: the base's setting and every task's and model's own setting of the field."""
    import trmlab.study
    seen = []
    monkeypatch.setattr(trmlab.study, "run_study", lambda study, *a, **k: seen.append(study) or {"cells": [], "compute_s": 0})
    assert main(["study", "extrap-cpu", "--out", str(tmp_path), "-o", "train.precision=fp32",
                 "-o", "train.eval_every=50", "-o", "model.window=3", "-o", "data.knobs.train_difficulty=[2, 4]"]) == 0
    study = seen[-1]
    cfgs = [study.run_config(t, m, 0) for t in study.tasks for m in study.models]
    assert {c.train.precision for c in cfgs} == {"fp32"}
    assert {c.train.eval_every for c in cfgs} == {50}  # every task sets its own: replaced too
    assert {c.model.window for c in cfgs} == {3}  # the LM and single pass set window 0 themselves
    assert {tuple(c.data.knobs["train_difficulty"]) for c in cfgs} == {(2, 4)}
    assert "precision fp32 (as asked)" in capsys.readouterr().err
    for bad, said in [("train.precison=fp32", "train config has no field precison"),
                      ("train.precision=fp16", "must be one of auto, bf16, fp32"),
                      ("train.seed=3", "use --seeds")]:
        assert main(["study", "extrap-quick", "--out", str(tmp_path), "-o", bad]) == 2
        assert said in capsys.readouterr().err
    assert len(seen) == 1


def test_evaluation_batches_rows_by_length_and_returns_them_in_stored_order(smoke_data):
    """Sorting rows by length (less padding) changes nothing a row gets: the same as one row a batch."""
    tok, splits = smoke_data
    torch.manual_seed(0)
    model = build_model(tiny_reasoner_config(), tok.vocab_size).eval()
    dev = splits["dev"].head(24)
    assert len(set(dev.question_len.tolist())) > 1  # mixed lengths: the order really changes
    together = evaluate(model, dev, tok, steps=3, batch_size=8, precision="fp32")
    alone = evaluate(model, dev, tok, steps=3, batch_size=1, precision="fp32")
    assert together.predictions == alone.predictions
    assert torch.equal(together.correct, alone.correct) and torch.equal(together.halt_step, alone.halt_step)
    assert torch.equal(together.changed, alone.changed)
    assert torch.allclose(together.residual, alone.residual, rtol=1e-4, atol=1e-6)


def test_bench_runs_the_extrapolation_cell_in_each_precision_asked(monkeypatch, capsys):
    """`trmlab bench --cases extrap --precision auto,bf16,fp32`: auto resolved, each precision once."""
    import trmlab.bench.command as command
    asked = {}
    monkeypatch.setattr(command, "run_bench", lambda names, precisions, **k: asked.update(names=names, precisions=precisions)
                        or {"environment": {}, "peak": {}, "cases": []})
    monkeypatch.setattr(command, "markdown", lambda results: "")
    assert main(["bench", "--cases", "extrap", "--precision", "auto,bf16,fp32"]) == 0
    assert asked["names"] == ["looped-extrap"] and sorted(asked["precisions"]) == ["bf16", "fp32"]
    assert main(["bench", "--precision", "fp16"]) == 2
    from trmlab.bench.cases import bench_case
    r = bench_case("looped-extrap", precision="fp32", repeats=1, warmup=0, eval_steps=2, threads=1)
    assert r["params"] > 0 and r["batch"] == 64 and r["eval"]["batch"] == 250 and r["threads"] == 1
