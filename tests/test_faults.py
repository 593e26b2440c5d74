"""Faults a long run meets, and bad input: kill -9 at any moment, non-finite losses, a failed
checkpoint write, questions a model cannot read, and config values that cannot work."""
import errno
import json
from dataclasses import fields, replace

import pytest
import torch

import trmlab.training.checkpoint as ckpt
from trmlab.cli import main
from trmlab.config import DataConfig, RunConfig, TrainConfig, preset, transformer_twin
from trmlab.model.config import MODEL_CONFIGS
from trmlab.study import load_study, run_study
from trmlab.training.objectives import DeepSupervision
from trmlab.training.trainer import Trainer

from .procs import kill_at, run

FP32 = ["--no-progress", "-o", "train.precision='fp32'", "-o", "train.threads=1"]
RUN = ["train", "--preset", "smoke", *FP32, "-o", "train.steps=16", "-o", "train.checkpoint_every=4",
       "-o", "train.eval_every=8", "-o", "train.log_every=1"]


@pytest.fixture
def keep_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def error_output(capsys) -> str:
    """What a failed command wrote to stderr, less the precision line every run starts with."""
    lines = capsys.readouterr().err.strip().splitlines()
    return "\n".join(line for line in lines if not line.startswith(("precision ", "warning: precision ")))


def metrics(run_dir):
    """metrics.jsonl without the timings."""
    return [{k: v for k, v in json.loads(line).items() if k != "wall_s"}
            for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


# ----- kill -9 -----

def test_kill_9_at_several_points_then_resume_is_bit_identical(tmp_path, keep_threads):
    assert main(RUN + ["--out", str(tmp_path / "straight")]) == 0
    out = ["--out", str(tmp_path / "killed")]
    kill_at(RUN + out, "save:12", tmp_path)  # inside the write of last.safetensors, half written
    kill_at(RUN + out + ["--resume"], "step:13", tmp_path)  # between checkpoints, a step past the last one
    done = run(RUN + out + ["--resume"])
    assert done.returncode == 0, done.stderr[-3000:]
    a, b = tmp_path / "straight" / "smoke", tmp_path / "killed" / "smoke"
    compared, steps = 0, []
    for name in ("last", "best"):
        straight, meta = ckpt.load_checkpoint(a / "checkpoints" / f"{name}.safetensors")
        steps.append(meta["step"])
        resumed, _ = ckpt.load_checkpoint(b / "checkpoints" / f"{name}.safetensors")
        assert resumed.keys() == straight.keys()
        for k in straight:  # model, EMA, optimiser, carry, random states
            assert torch.equal(resumed[k], straight[k]), (name, k)
        compared += len(straight)
    assert compared == 134 and steps == [16, 8]  # 67 tensors each
    assert metrics(b) == metrics(a)
    assert sorted(p.name for p in (b / "checkpoints").iterdir()) == ["best.safetensors", "last.safetensors"]


def test_killed_study_cell_finishes_with_the_same_numbers(tmp_path, keep_threads):
    study = load_study("smoke")
    study.seeds, study.models = [0], [m for m in study.models if m.name == "reasoner"]
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(study.to_dict()))
    reference = run_study(study, tmp_path / "reference", jobs=1, progress=False)["cells"]
    args = ["study", str(path), "--out", str(tmp_path / "killed"), "--jobs", "1", "--no-progress"]
    kill_at(args, "save:4", tmp_path)
    done = run(args)
    assert done.returncode == 0, done.stderr[-3000:]
    rerun = json.loads((tmp_path / "killed" / "smoke" / "results.json").read_text())["cells"]
    assert [numbers(c) for c in rerun] == [numbers(c) for c in reference]


def numbers(cell: dict) -> dict:
    """A cell's numbers, without the times it measured (training, evaluation, ms per answer)."""
    evals = {name: {**e, "cost": {k: v for k, v in e["cost"].items() if k != "ms_per_question"}} if "cost" in e else e
             for name, e in cell["eval"].items()}
    return {**{k: v for k, v in cell.items() if k not in ("wall_s", "eval_s")}, "eval": evals}


# ----- non-finite losses -----

def poison(monkeypatch, at: int):
    """The objective's `at`-th step returns a NaN loss and leaves a NaN in the carry (row 0)."""
    real, calls = DeepSupervision.step, []

    def step(self):
        loss, stats = real(self)
        calls.append(1)
        if len(calls) != at:
            return loss, stats
        self.carry["y"][0] = float("nan")
        return loss * float("nan"), stats
    monkeypatch.setattr(DeepSupervision, "step", step)


SHORT = ["train", "--preset", "smoke", *FP32, "-o", "train.steps=8", "-o", "train.checkpoint_every=4",
         "-o", "train.eval_every=4"]


def test_nan_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, capsys, keep_threads):
    poison(monkeypatch, at=6)
    assert main(SHORT + ["--out", str(tmp_path)]) == 2
    err = error_output(capsys)
    last = tmp_path / "smoke" / "checkpoints" / "last.safetensors"
    assert "\n" not in err and "non-finite loss at step 6" in err and f"{last} (step 4)" in err
    for name in ("last", "best"):  # never overwritten by the poisoned state
        tensors, meta = ckpt.load_checkpoint(tmp_path / "smoke" / "checkpoints" / f"{name}.safetensors")
        assert meta["step"] == 4 and all(t.float().isfinite().all() for t in tensors.values())
    monkeypatch.undo()
    assert main(SHORT + ["--out", str(tmp_path), "--resume"]) == 0


def test_nan_can_be_skipped_and_counted(tmp_path, monkeypatch, capsys, keep_threads):
    poison(monkeypatch, at=2)  # mid-way through the rows: they do not halt (and restart) at once
    assert main(SHORT + ["--out", str(tmp_path), "-o", "train.nonfinite='skip'"]) == 0
    assert "step 2: non-finite loss, step skipped (1 so far)" in capsys.readouterr().err
    tensors, meta = ckpt.load_checkpoint(tmp_path / "smoke" / "checkpoints" / "last.safetensors")
    assert meta["step"] == 8 and meta["totals"]["nonfinite_skipped"] == 1  # the poisoned carry row restarted
    assert all(t.float().isfinite().all() for t in tensors.values())
    assert [r for r in metrics(tmp_path / "smoke") if "loss" in r][-1]["nonfinite_skipped"] == 1


# ----- disk faults -----

def test_failed_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch, capsys, keep_threads):
    real = ckpt.save_file

    def disk_full(tensors, path, metadata):
        if json.loads(metadata["meta"])["step"] == 8:
            with open(path, "wb") as f:
                f.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        real(tensors, path, metadata=metadata)
    monkeypatch.setattr(ckpt, "save_file", disk_full)
    assert main(SHORT + ["--out", str(tmp_path)]) == 2
    err = error_output(capsys)
    assert "\n" not in err and "No space left on device" in err and "previous checkpoint is intact" in err
    folder = tmp_path / "smoke" / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == ["best.safetensors", "last.safetensors"]
    assert ckpt.load_checkpoint(folder / "last.safetensors")[1]["step"] == 4


# ----- bad input -----

@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, smoke_data):
    """Untrained text, transformer and 4x4 Sudoku checkpoints: enough to check what inputs they take."""
    out = tmp_path_factory.mktemp("ckpt")
    text = Trainer(preset("smoke"), out / "text", data=smoke_data, progress=False)
    lm = Trainer(transformer_twin(preset("smoke")), out / "lm", data=smoke_data, progress=False)
    study = load_study("sudoku-smoke")
    spec = next(m for m in study.models if m.name == "trm-att")
    grid = study.run_config(study.tasks[0], spec, 0)
    grid.data = replace(grid.data, n_train=16, n_dev=0, n_test=0, n_ood=0)
    grid = Trainer(grid, out / "grid", progress=False)
    return {"text": str(text.save("last")), "lm": str(lm.save("last")), "grid": str(grid.save("last"))}


@pytest.mark.parametrize("kind, question, message", [
    ("text", "", "the question is empty"),
    ("text", "   ", "the question is empty"),
    ("text", "How many pens does Zoë have?", "does not know the character(s) 'ë'"),
    ("text", "x" * 5000, "5000 tokens; this model reads at most"),
    ("lm", "x" * 5000, "5000 tokens; this model reads at most"),
    ("grid", "1234", "board has 16 cells (4x4, row-major); got 4"),
    ("grid", "12x4" * 4, "does not know the character(s) 'x'"),
    ("grid", "Ann has 3 pens. How many?", "does not know"),  # a text question for a Sudoku model
])
def test_solve_rejects_what_the_model_cannot_read(checkpoints, kind, question, message, capsys):
    assert main(["solve", checkpoints[kind], question]) == 2
    err = error_output(capsys)
    assert message in err and "\n" not in err


@pytest.mark.parametrize("argv, message", [
    (["eval", "{text}", "--steps", "-1"], "not a whole number"),
    (["eval", "{text}", "--n", "many"], "not a whole number"),
    (["eval", "{text}", "-k", "no_such_knob=1"], "no_such_knob"),
    (["eval", "{grid}", "--split", "ood", "-k", "size=5"], "size"),
    (["solve", "{text}", "1 + 1?", "--steps", "x"], "not a whole number"),
])
def test_eval_and_solve_options_are_checked(checkpoints, argv, message, capsys):
    argv = [a.format(**checkpoints) for a in argv]
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own errors: usage and one line, exit 2
        code = e.code
    assert code == 2
    assert message in capsys.readouterr().err


# ----- config values -----

@pytest.mark.parametrize("override, message", [
    ("model.d_model=-3", "model.d_model=-3: must be an integer >= 1"),  # out of range
    ("train.batch_size=0", "train.batch_size=0: must be an integer >= 1"),
    ("train.steps=-5", "train.steps=-5: must be an integer >= 1"),
    ("train.lr=abc", "train.lr='abc': must be a finite number > 0"),  # wrong type
    ("train.lr=inf", "train.lr='inf': must be"),
    ("train.compile=1", "train.compile=1: must be True or False"),
    ("data.knobs=3", "data.knobs=3: must be a mapping"),
    ("train.precision='fp16'", "train.precision='fp16': must be one of auto, bf16, fp32"),  # not a choice
    ("train.device='gpu'", "train.device='gpu': must be auto, cpu, cuda, cuda:N or mps"),
    ("model.halting='sometimes'", "model.halting='sometimes': must be one of act, fixed, random"),
    ("train.ema=1.5", "train.ema=1.5: must be a number in [0, 1)"),
    ("model.n_heads=3", "model.d_model=32 must be a multiple of 2 * model.n_heads=3"),  # combinations
    ("model.mixer='mlp'", "model.mixer='mlp' needs a fixed model.question_len"),
    ("model.answer_len=6", "model.answer_len (6) must equal data.answer_len (4)"),
    pytest.param("train.device='cuda'", "train.device='cuda': this PyTorch build sees no CUDA GPU",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")),
])
def test_bad_config_value_is_one_line_naming_the_field(override, message, tmp_path, capsys):
    assert main(["train", "--preset", "smoke", "--out", str(tmp_path), "--no-progress", "-o", override]) == 2
    err = error_output(capsys)
    assert message in err and "\n" not in err
    assert not list(tmp_path.iterdir())  # refused before anything was written


@pytest.mark.parametrize("text, message", [
    ('{"train": 3}', "each a mapping"), ("[1, 2]", "a run config is a mapping"), ("{", "not valid JSON"),
    ('{"train": {"steps": "many"}}', "train.steps='many': must be an integer >= 1"),
])
def test_bad_config_file_is_one_line(text, message, tmp_path, capsys):
    path = tmp_path / "run.json"
    path.write_text(text)
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "runs")]) == 2
    err = error_output(capsys)
    assert message in err and "\n" not in err


CONFIGS = [("data", DataConfig), ("train", TrainConfig), *(("model", c) for c in MODEL_CONFIGS.values())]


@pytest.mark.parametrize("section, cls", CONFIGS, ids=[c.__name__ for _, c in CONFIGS])
def test_every_field_is_checked(section, cls):
    """A value of the wrong type in any field, and a negative number in any numeric one, is refused."""
    for f in fields(cls):
        with pytest.raises(ValueError, match=rf"^{section}\.{f.name}="):
            cls(**{f.name: object()})
        if f.type in ("int", "float") and f.name not in ("seed",):
            with pytest.raises(ValueError, match=rf"^{section}\.{f.name}="):
                cls(**{f.name: -1})
    assert RunConfig.from_dict(RunConfig().to_dict()) == RunConfig()
