"""`trmlab study`: the grid, its models, resumability, reproducibility and bad input."""
import json
from dataclasses import replace

import pytest
import torch

from trmlab.cli import main
from trmlab.config import RunConfig
from trmlab.data import load_splits
from trmlab.model import build_model, count_params
from trmlab.study import ModelSpec, StudyConfig, TaskSpec, load_study, run_study
from trmlab.study.presets import STUDY_PRESETS
from trmlab.study.run import plan_cells
from trmlab.tasks import make_task
from trmlab.training.objectives import DeepSupervision
from trmlab.data import IndexStream

from .conftest import tiny_reasoner_config


def tiny_study(models=None, seeds=(0,)) -> StudyConfig:
    study = load_study("smoke")
    study.seeds = list(seeds)
    if models is not None:
        study.models = [m for m in study.models if m.name in models]
    return study


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    study = tiny_study(["reasoner", "transformer", "single-pass", "unrolled", "token-feedback"])
    results = run_study(study, out, jobs=1, progress=False)
    return study, out, results


def test_study_runs_every_cell_and_writes_a_report(finished_study):
    study, out, results = finished_study
    assert len(results["cells"]) == 5
    assert {c["model"] for c in results["cells"]} == {"reasoner", "transformer", "single-pass", "unrolled",
                                                      "token-feedback"}
    report = (out / "smoke" / "report.md").read_text()
    assert "## Task `arithmetic`" in report and "within noise" in report or "better" in report
    assert list((out / "smoke").glob("*.png"))
    reasoner = next(c for c in results["cells"] if c["model"] == "reasoner")
    assert reasoner["recursive"] and len(reasoner["eval"]["test"]["accuracy_by_step"]) == study.eval_steps
    assert len(reasoner["eval"]["dev"]["accuracy_by_step"]) == study.base.model.n_sup  # dev picks, test curves
    lm = next(c for c in results["cells"] if c["model"] == "transformer")
    assert not lm["recursive"] and abs(lm["params"] - reasoner["params"]) / reasoner["params"] <= 0.02


def test_a_finished_cell_is_not_rerun(finished_study, monkeypatch):
    study, out, results = finished_study
    import trmlab.study.run as run_module

    def boom(*a, **k):
        raise AssertionError("a finished cell was retrained")
    monkeypatch.setattr(run_module, "train_or_resume", boom)
    again = run_study(study, out, jobs=1, progress=False)
    strip = lambda cells: sorted(json.dumps({k: v for k, v in c.items()}, sort_keys=True) for c in cells)
    assert strip(again["cells"]) == strip(results["cells"])


def test_same_seed_reproduces_the_same_numbers(finished_study, tmp_path):
    """The committed reports rest on this: rerunning a cell from scratch gives identical results."""
    study, _, results = finished_study
    study = tiny_study(["reasoner"])
    rerun = run_study(study, tmp_path, jobs=1, progress=False)["cells"][0]
    first = next(c for c in results["cells"] if c["model"] == "reasoner")
    for split in ("dev", "test", "ood"):
        assert rerun["eval"][split]["accuracy_by_step"] == first["eval"][split]["accuracy_by_step"]
    assert rerun["params"] == first["params"] and rerun["train_flops"] == first["train_flops"]


def test_a_changed_config_is_refused_not_mixed(finished_study):
    study, out, _ = finished_study
    changed = tiny_study(["reasoner"])
    changed.base.train.lr = 0.5
    with pytest.raises(ValueError, match="different config"):
        run_study(changed, out, jobs=1, progress=False)


def test_parallel_jobs_give_the_same_results(tmp_path):
    study = tiny_study(["reasoner", "single-pass"])
    serial = run_study(study, tmp_path / "a", jobs=1, progress=False)["cells"]
    parallel = run_study(study, tmp_path / "b", jobs=2, progress=False)["cells"]
    key = lambda c: c["model"]
    for a, b in zip(sorted(serial, key=key), sorted(parallel, key=key)):
        assert a["eval"]["test"]["accuracy_by_step"] == b["eval"]["test"]["accuracy_by_step"]


def test_derived_models_change_one_thing():
    study = tiny_study()
    task = study.tasks[0]
    spec = {m.name: m for m in study.models}
    base = study.run_config(task, spec["reasoner"], 0).model
    single = study.run_config(task, spec["single-pass"], 0).model
    unrolled = study.run_config(task, spec["unrolled"], 0).model
    assert (single.n_latent, single.n_cycles, single.n_sup) == (1, 1, 1)
    assert replace(single, n_latent=base.n_latent, n_cycles=base.n_cycles, n_sup=base.n_sup) == base
    assert unrolled.untied and unrolled.net_calls_per_step == base.net_calls_per_step and unrolled.n_sup == 1
    assert study.run_config(task, spec["reasoner"], 2).train.seed == 2


def test_a_model_can_change_its_training_budget():
    study = tiny_study()
    task = study.tasks[0]
    longer = ModelSpec("longer", overrides={"n_sup": 2}, train={"steps": 16})
    cfg = study.run_config(task, longer, 1)
    assert cfg.train.steps == 16 and cfg.train.seed == 1 and study.run_config(task, study.models[0], 1).train.steps == 8
    with pytest.raises(ValueError, match="train has no field"):
        ModelSpec("x", train={"stepz": 3})


def test_unrolled_has_more_parameters_and_the_same_compute_per_step(smoke_data):
    vocab = smoke_data[0].vocab_size
    tied = build_model(tiny_reasoner_config(n_latent=3, n_cycles=1, n_sup=1), vocab)
    untied = build_model(tiny_reasoner_config(n_latent=3, n_cycles=1, n_sup=1, untied=True), vocab)
    net = count_params(tied.net)
    assert count_params(untied) == count_params(tied) + 3 * net  # 4 networks instead of 1
    assert untied.step_flops(20) == tied.step_flops(20)
    assert len({id(untied.network(i)) for i in range(4)}) == 4


def test_untied_with_no_grad_cycles_is_refused(smoke_data):
    with pytest.raises(ValueError, match="n_cycles=1"):
        build_model(tiny_reasoner_config(untied=True, n_cycles=2), smoke_data[0].vocab_size)


def test_token_feedback_carries_only_the_decoded_answer(smoke_data):
    tok, splits = smoke_data
    torch.manual_seed(0)
    model = build_model(tiny_reasoner_config(feedback="tokens", distinct_slots=True), tok.vocab_size).eval()
    batch = splits["dev"].batch(torch.arange(6))
    x, ctx = model.embed(batch["question"], batch["question_len"])
    y, z = model.initial_state(x)
    y, z, logits, _ = model.supervision_step(x, y, z, ctx)
    R, F = model.cfg.n_registers, model.cfg.answer_len
    expected = model.token_embed(logits.argmax(-1)) * model.cfg.d_model ** 0.5
    torch.testing.assert_close(y[:, R:R + F], expected)
    assert torch.equal(y[:, :R], model.y_init.expand_as(y[:, :R]))  # everything else reset


@pytest.mark.parametrize("mode", ["fixed", "random", "act"])
def test_halting_modes_decide_how_many_steps_rows_train(mode, smoke_data):
    tok, splits = smoke_data
    torch.manual_seed(0)
    model = build_model(tiny_reasoner_config(halting=mode, n_sup=5), tok.vocab_size)
    obj = DeepSupervision(model, splits["train"], IndexStream(len(splits["train"]), 0), 32, "cpu")
    finished = []
    for _ in range(12):
        _, stats = obj.step()
        finished += obj.carry["steps"][obj.carry["halted"]].tolist()
    if mode == "fixed":
        assert set(finished) == {5}
    elif mode == "random":
        assert set(finished) <= set(range(1, 6)) and len(set(finished)) >= 3
    else:  # untrained head (bias -5) never halts: N_sup, or exploration's minimum
        assert set(finished) == {5}


def test_bad_halting_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="halting"):
        tiny_reasoner_config(halting="sometimes")


def test_mixture_task_is_disjoint_and_routes_knobs():
    mix = make_task("arithmetic+comparison", train_difficulty=(1, 1), ood_difficulty=(2, 2))
    train = mix.examples("train", 200)
    test = mix.examples("test", 50)
    assert {ex.family for ex in train} >= {"arithmetic", "comparison"} or len(train) == 200
    assert not {ex.question for ex in train} & {ex.question for ex in test}
    with pytest.raises(ValueError, match="no part has knob"):
        make_task("arithmetic+comparison", bogus=1)


def test_every_preset_builds_and_plans(tmp_path):
    for name in STUDY_PRESETS:
        study = load_study(name)
        vocab = {t.id: 600 for t in study.tasks}
        cells = plan_cells(study, tmp_path, study.tasks, vocab)
        assert len(cells) == sum(len(study.models_for(t)) for t in study.tasks) * len(study.seeds)
        # every comparison a CPU runs has seeds to tell noise from an effect; the GPU-sized grid
        # studies and the test-only grid smokes are one seed each
        assert len(study.seeds) >= 2 or name.endswith(("-paper", "-smoke")) and name != "paper", name


def test_paper_preset_is_10_to_20m_parameters_and_trains_on_cpu(tmp_path):
    """The GPU-sized study must at least start, take a few steps and checkpoint here."""
    study = load_study("paper")
    task = study.tasks[0]
    cfg = study.run_config(task, study.models[0], 0)
    tok, _ = load_splits(replace(cfg.data, n_train=0, n_dev=0, n_test=0, n_ood=0, tokenizer="char"),
                         splits=("dev",))
    params = count_params(build_model(cfg.model, cfg.data.bpe_vocab_size, device="meta"))
    assert 10e6 <= params <= 20e6, params
    study.seeds = [0]
    study.models = study.models[:1]
    study.tasks = [TaskSpec(task.id, data={**task.data, "n_train": 64, "n_dev": 4, "n_test": 4, "n_ood": 4,
                                           "bpe_vocab_size": 300},
                            train={"steps": 2, "batch_size": 2, "eval_every": 2, "checkpoint_every": 1,
                                   "eval_batch_size": 8, "warmup": 1})]
    study.eval_steps = 2
    study.base.model.n_sup = 2
    results = run_study(study, tmp_path, jobs=1, progress=False)
    cell = results["cells"][0]
    assert cell["train_steps"] == 2
    assert (tmp_path / "paper" / task.id / "reasoner" / "seed0" / "checkpoints" / "last.safetensors").exists()


def test_study_json_round_trip_and_errors(tmp_path):
    study = load_study("cpu")
    path = tmp_path / "s.json"
    path.write_text(json.dumps(study.to_dict()))
    assert StudyConfig.load(path).to_dict() == study.to_dict()
    with pytest.raises(ValueError, match="unknown kind"):
        ModelSpec("x", kind="lstm")
    with pytest.raises(ValueError, match="unknown study"):
        load_study("nope")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["study", str(bad), "--out", str(tmp_path)]) == 2


def test_real_data_task_is_skipped_without_a_data_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TRMLAB_DATA_DIR", raising=False)
    study = tiny_study(["reasoner"])
    study.tasks.append(TaskSpec("mawps", needs_data_dir=True, data={"task": "mawps"}))
    results = run_study(study, tmp_path, jobs=1, progress=False)
    assert set(results["tasks"]) == {"arithmetic"}
    assert "skipping task 'mawps'" in capsys.readouterr().err
