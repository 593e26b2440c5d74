"""Training curves in TensorBoard (`-o train.log=tensorboard`), mirrored from metrics.jsonl."""
import json
from dataclasses import replace

import pytest

from trmlab.cli import main
from trmlab.config import RunConfig, apply_overrides, preset


def test_tensorboard_mirrors_metrics_jsonl(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    assert main(["train", "--preset", "smoke", "--out", str(tmp_path), "--no-progress", "-o", "train.steps=6",
                 "-o", "train.eval_every=3", "-o", "train.log_every=2", "-o", "train.threads=1",
                 "-o", "train.log=tensorboard"]) == 0
    run = tmp_path / "smoke"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    events = EventAccumulator(str(run)).Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/accuracy", "train/learning_rate", "eval/dev_accuracy",
            "throughput/rows_per_s", "throughput/new_examples_per_s"} <= tags
    assert {"halting/mean_steps", "halting/rate"} & tags  # once a row has halted
    logged = [(e.step, e.value) for e in events.Scalars("train/loss")]
    assert logged == [(r["step"], pytest.approx(r["loss"], rel=1e-6)) for r in records if "loss" in r]
    dev = [(e.step, e.value) for e in events.Scalars("eval/dev_accuracy")]
    assert dev == [(r["step"], pytest.approx(r["dev_accuracy"])) for r in records if "dev_accuracy" in r]
    assert "run/text_summary" in events.Tags()["tensors"]  # the run and its config, as text


def test_jsonl_alone_writes_no_event_files(smoke_compare):
    assert list(smoke_compare.rglob("metrics.jsonl")) and not list(smoke_compare.rglob("events.out.tfevents*"))


def test_train_log_is_validated():
    with pytest.raises(ValueError, match="train.log='wandb': must be one of jsonl, tensorboard"):
        apply_overrides(preset("smoke"), ["train.log=wandb"])
    assert RunConfig.from_dict(preset("smoke").to_dict()).train.log == "jsonl"


def test_a_study_cell_stays_finished_when_only_the_log_changes(tmp_path):
    from trmlab.study.reuse import same_run
    cfg = preset("smoke")
    assert same_run(cfg, apply_overrides(cfg, ["train.log=tensorboard"]))
    assert same_run(cfg.to_dict(), apply_overrides(cfg, ["train.log=tensorboard"]))  # as cell.json stores it
    assert not same_run(cfg, apply_overrides(cfg, ["train.steps=3"]))
    # the name holds the study's: another study's identical cell is the same run (study --reuse)
    assert same_run(cfg.to_dict(), replace(cfg, name="other-study/task/model/seed0"))
