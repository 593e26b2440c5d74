"""Hub export, `from_pretrained`, the model card, upload (up to the upload call), and
`trmlab eval --file`. Offline: no test talks to the Hub."""
import json
import shutil

import pytest
import torch

from trmlab.cli import main
from trmlab.config import RunConfig
from trmlab.hub import export, load_any, load_pretrained, push
from trmlab.model import HRM, HRMConfig, RecursiveReasoner, TransformerLM, count_params
from trmlab.training.checkpoint import CheckpointError, load_checkpoint
from trmlab.training.trainer import load_model, train

QUESTION = "Ann has 3 pens. She buys 2 more. How many pens does Ann have?"


def same_predictions(a, b, batch, steps):
    out_a, out_b = a.predict(batch, steps), b.predict(batch, steps)
    assert out_a.keys() == out_b.keys()
    for key in out_a:
        assert torch.equal(out_a[key], out_b[key]), key


@pytest.mark.parametrize("model, cls", [("reasoner", RecursiveReasoner), ("transformer", TransformerLM)])
def test_export_then_from_pretrained_predicts_as_the_checkpoint(smoke_compare, smoke_data, tmp_path, model, cls):
    ckpt = smoke_compare / model / "checkpoints" / "best.safetensors"
    folder = export(ckpt, tmp_path / "out")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors", "tokenizer.json"]
    original, _, tokenizer, _ = load_model(ckpt)  # EMA weights
    loaded = cls.from_pretrained(folder)
    assert type(loaded) is type(original) and not loaded.training
    batch = smoke_data[1]["dev"].batch(torch.arange(32))
    same_predictions(original, loaded, batch, steps=7)  # more steps than trained, too
    assert load_pretrained(folder)[2].to_dict() == tokenizer.to_dict()


def test_hrm_exports_and_loads_as_itself_only(smoke_data, tmp_path):
    cfg = RunConfig.from_dict({"name": "hrm", "model": HRMConfig(d_model=32, n_layers=1, n_heads=2, n_sup=2, n_registers=2,
                                                                answer_len=4).to_dict(),
                               "data": {"n_train": 64, "n_dev": 8, "n_test": 0, "n_ood": 0, "answer_len": 4,
                                        "knobs": {"train_difficulty": [1, 1]}},
                               "train": {"steps": 2, "batch_size": 8, "eval_every": 2, "checkpoint_every": 2}})
    run = train(cfg, tmp_path / "run", progress=False)
    folder = export(run.run_dir, tmp_path / "out")  # a run folder stands for its best checkpoint
    loaded = HRM.from_pretrained(folder)
    assert isinstance(RecursiveReasoner.from_pretrained(folder), HRM)  # a subclass is a reasoner
    same_predictions(load_model(run.run_dir / "checkpoints" / "best.safetensors")[0], loaded,
                     smoke_data[1]["dev"].batch(torch.arange(8)), steps=3)
    with pytest.raises(CheckpointError, match="holds a HRM, not a TransformerLM"):
        TransformerLM.from_pretrained(folder)


def test_exported_weights_are_the_ema_only(exported_reasoner):
    from safetensors.torch import load_file
    ckpt, folder = exported_reasoner
    weights = load_file(folder / "model.safetensors")
    model = load_model(ckpt)[0]
    assert weights.keys() == model.state_dict().keys()  # no raw weights, optimiser state or carry
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    config = json.loads((folder / "config.json").read_text())
    assert config["library_name"] == "trmlab" and config["model_type"] == "reasoner"
    assert RunConfig.from_dict(config["run_config"]).model == model.cfg


def test_model_card_reads_the_runs_own_evaluation(smoke_compare, exported_reasoner):
    _, folder = exported_reasoner
    card = (folder / "README.md").read_text()
    front = card.split("---")[1]
    assert "library_name: trmlab" in front and "license: mit" in front and "- story_arithmetic" in front
    results = json.loads((smoke_compare / "results.json").read_text())["models"]["recursive reasoner"]
    assert f"parameters (counted): {count_params(RecursiveReasoner.from_pretrained(folder)):,}" in card
    _, meta = load_checkpoint(smoke_compare / "reasoner" / "checkpoints" / "best.safetensors")
    assert f"training FLOPs (matmul, counted by the trainer): {meta['totals']['flops']:.3g}" in card
    assert results["best_checkpoint_step"] == meta["step"]
    for split, ev in results["eval"].items():
        assert f"| {split} | {ev['n']} | {ev['accuracy']:.3f} |" in card
        assert f"| {split} | " + " | ".join(f"{ev['accuracy_by_step'][s - 1]:.3f}" for s in (1, 2, 3, 4, 8, 12)) + " |" in card


def test_model_card_says_when_there_is_no_evaluation(exported_reasoner, tmp_path):
    ckpt, _ = exported_reasoner
    lonely = tmp_path / "run" / "checkpoints" / "best.safetensors"  # no results.json, cell.json or metrics.jsonl
    lonely.parent.mkdir(parents=True)
    shutil.copy(ckpt, lonely)
    card = (export(lonely, tmp_path / "out") / "README.md").read_text()
    assert "no evaluation" in card and "| dev |" not in card


def test_model_card_of_a_study_cell_reads_its_cell_json(smoke_compare, exported_reasoner, tmp_path):
    ckpt, _ = exported_reasoner
    _, meta = load_checkpoint(ckpt)
    cell = tmp_path / "study" / "story" / "reasoner" / "seed0"
    (cell / "checkpoints").mkdir(parents=True)
    shutil.copy(ckpt, cell / "checkpoints" / "best.safetensors")
    measured = json.loads((smoke_compare / "results.json").read_text())["models"]["recursive reasoner"]["eval"]
    evals = {"test": measured["test"], "harder": {**measured["ood"], "n": 7}}  # a study's extra set
    record = {"config": meta["config"]["model"], "best_checkpoint_step": meta["step"], "eval": evals}
    (cell / "cell.json").write_text(json.dumps(record))
    card = (export(cell, tmp_path / "out") / "README.md").read_text()
    assert "Measured by study cell" in card and f"| harder | 7 | {measured['ood']['accuracy']:.3f} |" in card
    (cell / "cell.json").write_text(json.dumps({**record, "best_checkpoint_step": meta["step"] + 1}))
    card = (export(cell, tmp_path / "other") / "README.md").read_text()  # another checkpoint's numbers: not claimed
    assert "no evaluation" in card


def test_export_is_atomic_and_never_overwrites_silently(exported_reasoner, tmp_path, monkeypatch):
    ckpt, _ = exported_reasoner
    out = export(ckpt, tmp_path / "out")
    with pytest.raises(FileExistsError, match="--force"):
        export(ckpt, out)
    import trmlab.hub
    monkeypatch.setattr(trmlab.hub, "model_card", lambda *a: 1 / 0)  # fails after the weights are written
    with pytest.raises(ZeroDivisionError):
        export(ckpt, tmp_path / "new")
    with pytest.raises(ZeroDivisionError):
        export(ckpt, out, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no half-written folder, no leftovers
    assert len(list(out.iterdir())) == 4
    monkeypatch.undo()
    assert export(ckpt, out, force=True) == out


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "tokenizer.json").unlink(), "tokenizer.json is missing"),
    (lambda f: [(f / n).unlink() for n in ("model.safetensors", "config.json")], "config.json, model.safetensors are missing"),
    (lambda f: (f / "model.safetensors").write_bytes(b"\0" * 100), "cannot be rebuilt"),
    (lambda f: (f / "config.json").write_text("{not json"), "config.json is not readable JSON"),
    (lambda f: (f / "config.json").write_text('{"format": "other"}'), "not a trmlab model config"),
    (lambda f: (f / "config.json").write_text('{"format": "trmlab-pretrained-v1"}'), "config.json lacks run_config, step"),
])
def test_damaged_folder_is_a_clear_error(exported_reasoner, tmp_path, damage, message, capsys):
    folder = shutil.copytree(exported_reasoner[1], tmp_path / "copy")
    damage(folder)
    with pytest.raises(CheckpointError, match=message):
        RecursiveReasoner.from_pretrained(folder)
    assert main(["solve", str(folder), QUESTION]) == 2
    err = capsys.readouterr().err
    assert message.split()[0] in err and len(err.strip().splitlines()) == 1


def test_cli_commands_take_the_exported_folder(exported_reasoner, capsys):
    ckpt, folder = exported_reasoner
    outputs = []
    for source in (ckpt, folder):
        assert main(["solve", str(source), QUESTION, "--steps", "5"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and outputs[0].count("halt probability") == 5
    assert main(["eval", str(folder), "--split", "ood", "--n", "16", "--steps", "3"]) == 0
    assert "16 examples: accuracy" in capsys.readouterr().out
    assert main(["eval", str(folder), "--raw"]) == 2
    assert "EMA weights only" in capsys.readouterr().err


def test_a_repo_id_is_downloaded_then_loaded(exported_reasoner, monkeypatch):
    hub = pytest.importorskip("huggingface_hub")
    calls = []
    monkeypatch.setattr(hub, "snapshot_download", lambda repo, **kw: calls.append((repo, kw)) or str(exported_reasoner[1]))
    model = RecursiveReasoner.from_pretrained("someone/tiny-trm", revision="main")
    assert calls == [("someone/tiny-trm", {"revision": "main"})] and isinstance(model, RecursiveReasoner)

    def offline(repo, **kw):
        raise OSError("network\nunreachable")  # the library's messages span lines; the CLI's error does not
    monkeypatch.setattr(hub, "snapshot_download", offline)
    with pytest.raises(CheckpointError, match="someone/tiny-trm is not a local folder.*network unreachable"):
        load_any("someone/tiny-trm")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_any("not/a/repo/id")


def test_push_uploads_the_folder_after_checking_it(exported_reasoner, tmp_path, monkeypatch, capsys):
    hub = pytest.importorskip("huggingface_hub")
    calls = []
    monkeypatch.setattr(hub.HfApi, "create_repo", lambda self, repo_id, **kw: calls.append(("create", repo_id, kw)))
    monkeypatch.setattr(hub.HfApi, "upload_folder",
                        lambda self, **kw: calls.append(("upload", kw)) or "https://huggingface.co/me/tiny/commit/abc")
    folder = exported_reasoner[1]
    assert main(["push", str(folder), "me/tiny", "--private"]) == 0
    assert capsys.readouterr().out.strip() == "https://huggingface.co/me/tiny/commit/abc"
    assert calls[0] == ("create", "me/tiny", {"private": True, "exist_ok": True})
    assert calls[1][1]["folder_path"] == str(folder) and calls[1][1]["repo_id"] == "me/tiny"
    broken = shutil.copytree(folder, tmp_path / "broken")
    (broken / "model.safetensors").unlink()
    calls.clear()
    with pytest.raises(CheckpointError, match="model.safetensors is missing"):
        push(broken, "me/tiny")
    assert calls == []  # nothing uploaded
    with pytest.raises(ValueError, match="not a Hub repo id"):
        push(folder, "no-owner")


def test_eval_file_scores_own_questions_and_reports_what_does_not_fit(exported_reasoner, smoke_data, tmp_path, capsys):
    from trmlab.evaluation import evaluate
    from trmlab.evaluation.question_file import read_question_file
    dev = smoke_data[1]["dev"].examples[:6]
    lines = [{"question": ex.question, "answer": ex.answer} for ex in dev]
    lines[0]["answer"] = f"She has them.\n#### {dev[0].answer}"  # GSM8K's worked answer
    lines += [{"question": "x" * 300, "answer": "1"}, {"question": "Ann has 3 pens€", "answer": "3"},
              {"question": "Ann has 3 pens.", "answer": "123456789"}]
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(map(json.dumps, lines)) + "\n\n")
    assert main(["eval", str(exported_reasoner[1]), "--file", str(path), "--steps", "4"]) == 0
    out = capsys.readouterr().out
    assert "on " + str(path) + ", 6 examples" in out
    assert ("left out 3 line(s) that do not fit this model: 1 answer: longer than the model's 3-token field (line 9); "
            "1 question: too long (line 7); 1 question: unknown characters (line 8)") in out
    model, cfg, tokenizer, _ = load_any(exported_reasoner[1])
    split, _ = read_question_file(path, tokenizer, cfg)
    assert [ex.answer for ex in split.examples] == [ex.answer for ex in dev]
    expected = evaluate(model, split, tokenizer, steps=4, precision=cfg.train.precision)
    assert f"accuracy {expected.accuracy:.3f} after 4 step(s)" in out

    path.write_text('{"question": "a"}\n')
    assert main(["eval", str(exported_reasoner[1]), "--file", str(path)]) == 2
    assert f"{path}:1" in capsys.readouterr().err


def test_the_core_install_works_without_the_extras(exported_reasoner, tmp_path):
    """Local models need no optional package; the commands that do name the extra to install."""
    import subprocess
    import sys
    folder = str(exported_reasoner[1])
    runs = [["solve", folder, "Ann has 3 pens."], ["push", folder, "me/tiny"], ["demo", folder],
            ["train", "--preset", "smoke", "--out", str(tmp_path), "-o", "train.log=tensorboard"]]
    script = ("import sys\n"
              "for m in ('gradio', 'huggingface_hub', 'tensorboard'):\n    sys.modules[m] = None  # not installed\n"
              f"from trmlab.cli import main\nprint('exit codes', [main(argv) for argv in {runs!r}])\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert "exit codes [0, 2, 2, 2]" in proc.stdout and "halt probability" in proc.stdout, proc.stderr
    for extra in ("hub", "demo", "tensorboard"):
        assert f"pip install 'trmlab[{extra}]'" in proc.stderr
