"""End to end through the command line, as a user runs it."""
import json
import subprocess
import sys

import pytest

from trmlab.cli import main


@pytest.fixture
def smoke_run(smoke_compare):
    return smoke_compare


def test_compare_writes_report_plots_and_results(smoke_run):
    report = (smoke_run / "report.md").read_text()
    assert "params (counted)" in report and "accuracy_vs_steps.png" in report
    for png in ("accuracy_vs_steps.png", "accuracy_by_difficulty.png"):
        data = (smoke_run / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    results = json.loads((smoke_run / "results.json").read_text())
    models = results["models"]
    r, t = models["recursive reasoner"], models["transformer LM"]
    assert abs(r["params"] - t["params"]) / r["params"] <= 0.02
    n_sup = results["config"]["model"]["n_sup"]
    assert len(r["eval"]["dev"]["accuracy_by_step"]) == results["eval_steps"] == max(4 * n_sup, 8)
    assert r["train_flops_per_example"] > 0 and t["train_flops_per_example"] > 0


def test_compare_is_resumable_and_skips_finished_models(smoke_run, capsys):
    out = smoke_run.parent
    assert main(["compare", "--preset", "smoke", "--out", str(out), "--no-progress"]) == 0
    assert "step 15: dev accuracy" not in capsys.readouterr().err  # nothing retrained


def test_solve_prints_every_step(smoke_run, capsys):
    ckpt = smoke_run / "reasoner" / "checkpoints" / "best.safetensors"
    assert main(["solve", str(ckpt), "Ann has 3 pens. She buys 2 more. How many pens does Ann have?",
                 "--steps", "5"]) == 0
    out = capsys.readouterr().out
    assert out.count("halt probability") == 5 and "step   5" in out


def test_eval_reports_depth_curve(smoke_run, capsys):
    ckpt = smoke_run / "reasoner" / "checkpoints" / "best.safetensors"
    assert main(["eval", str(ckpt), "--split", "ood", "--steps", "4", "--n", "32"]) == 0
    out = capsys.readouterr().out
    assert "accuracy by supervision step: 1:" in out and "4:" in out


def test_train_single_model(tmp_path, capsys):
    assert main(["train", "--preset", "smoke", "--model", "transformer", "--out", str(tmp_path),
                 "-o", "train.steps=4", "--no-progress"]) == 0
    assert (tmp_path / "smoke-transformer" / "checkpoints" / "last.safetensors").exists()


@pytest.mark.parametrize("argv, message", [
    (["compare", "--preset", "nope"], "invalid choice"),
    (["train", "-o", "train.nope=1"], "no field"),
    (["train", "-o", "data.task='nope'", "-o", "train.steps=1"], "unknown task"),
    (["eval", "/nonexistent.safetensors"], "no checkpoint"),
])
def test_bad_input_is_one_clear_line_and_nonzero_exit(argv, message, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "trmlab.cli", *argv, *(["--out", str(tmp_path)] if argv[0] == "train" else [])],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_solve_rejects_too_long_question(smoke_run, capsys):
    ckpt = smoke_run / "reasoner" / "checkpoints" / "best.safetensors"
    assert main(["solve", str(ckpt), "x" * 5000]) == 2
    assert "tokens" in capsys.readouterr().err


@pytest.mark.parametrize("scheme", ["looped", "recurrent_depth", "deq"])
def test_every_scheme_trains_evaluates_and_solves(scheme, tmp_path, capsys):
    assert main(["train", "--preset", "smoke", "--out", str(tmp_path), "-o", "train.steps=2",
                 "-o", f"model.recursion='{scheme}'", "--no-progress"]) == 0
    ckpt = tmp_path / "smoke" / "checkpoints" / "last.safetensors"
    assert main(["eval", str(ckpt), "--split", "dev", "--steps", "6", "--n", "16"]) == 0
    out = capsys.readouterr().out
    assert "accuracy by supervision step: 1:" in out and "6:" in out and "state residual" in out
    assert main(["solve", str(ckpt), "Ann has 3 pens. How many pens does Ann have?", "--steps", "7"]) == 0
    assert capsys.readouterr().out.count("residual") == 7
