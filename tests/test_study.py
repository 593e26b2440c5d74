"""`trmlab study`: the grid, its models, resumability, reproducibility and bad input."""
import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from trmlab.cli import main
from trmlab.config import RunConfig
from trmlab.data import load_splits
from trmlab.model import build_model, count_params
from trmlab.precision import resolve_run
from trmlab.study import ModelSpec, StudyConfig, TaskSpec, load_study, run_study
from trmlab.study.presets import STUDY_PRESETS
from trmlab.study.config import ladder_step
from trmlab.study.run import extended_grid, pick_lr, plan_cells, plan_tuning_cells
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


def test_every_cell_records_what_its_answers_cost_and_the_report_shows_it(finished_study):
    """Per held-out set: FLOPs from the model's own count at the steps it spent (the reasoner's
    readout, the LM's generated tokens), measured milliseconds; none for dev, which picks checkpoints."""
    study, out, results = finished_study
    by = {c["model"]: c for c in results["cells"]}
    for c in results["cells"]:
        assert "cost" not in c["eval"]["dev"] and {"test", "ood"} <= {s for s, e in c["eval"].items() if "cost" in e}
        for e in (c["eval"]["test"], c["eval"]["ood"]):
            assert e["cost"]["flops_per_question"] > 0 and e["cost"]["ms_per_question"] > 0
    assert by["reasoner"]["eval"]["test"]["cost"]["steps_per_question"] == study.base.model.n_sup
    assert by["single-pass"]["eval"]["test"]["cost"]["steps_per_question"] == 1
    assert 1 <= by["transformer"]["eval"]["test"]["cost"]["steps_per_question"] <= study.base.data.answer_len
    report = (out / "smoke" / "report.md").read_text()
    assert "### The cost of an answer" in report and "The price of a right answer" in report


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
        tuning = plan_tuning_cells(study, tmp_path, study.tasks, vocab)
        assert len(tuning) == sum(len(study.lr_grid(m)) * len(study.wd_grid(m))
                                  for t in study.tasks if not t.tune_with for m in study.models_for(t))
        cells = plan_cells(study, tmp_path, study.tasks, vocab, {(c.task.id, c.spec.name): c.cfg.train.lr
                                                                 for c in tuning})
        assert len(cells) == sum(len(study.seeds_for(t, m)) for t in study.tasks for m in study.models_for(t))
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


def test_study_command_runs_some_tasks_and_its_steps_reach_every_cell(tmp_path, monkeypatch, capsys):
    """--tasks keeps only the named tasks (an unknown one is a one-line error); --steps replaces the
    steps a task or a model sets for itself too, not only the base's."""
    import trmlab.study
    seen = []
    monkeypatch.setattr(trmlab.study, "run_study", lambda study, *a, **k: seen.append(study) or {"cells": [], "compute_s": 0})
    assert main(["study", "extrap-cpu", "--out", str(tmp_path), "--tasks", "shell_game,prefix_parity", "--steps", "7"]) == 0
    study = seen[-1]
    assert [t.id for t in study.tasks] == ["prefix_parity", "shell_game"]
    assert {study.run_config(t, m, 0).train.steps for t in study.tasks for m in study.models} == {7}
    assert main(["study", "extrap-cpu", "--out", str(tmp_path), "--tasks", "sudoku"]) == 2
    assert "has no task sudoku; its tasks: prefix_parity, long_addition, shell_game" in capsys.readouterr().err
    assert len(seen) == 1


def test_real_data_task_is_skipped_without_a_data_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TRMLAB_DATA_DIR", raising=False)
    study = tiny_study(["reasoner"])
    study.tasks.append(TaskSpec("mawps", needs_data_dir=True, data={"task": "mawps"}))
    results = run_study(study, tmp_path, jobs=1, progress=False)
    assert set(results["tasks"]) == {"arithmetic"}
    assert "skipping task 'mawps'" in capsys.readouterr().err


# --- fair tuning: each model's learning rate chosen from a grid by dev accuracy on a tuning seed


def tuned_study() -> StudyConfig:
    study = tiny_study(["single-pass", "transformer"])
    study.tune = {"lr": [1e-3, 1e-2], "seed": 100}
    next(m for m in study.models if m.name == "transformer").lr_grid = [3e-3]  # its own grid
    return study


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    out = tmp_path_factory.mktemp("tuned")
    return out, run_study(tuned_study(), out, jobs=1, progress=False)


def test_pick_lr_takes_the_best_dev_and_ties_go_to_the_smaller_lr():
    assert pick_lr({1e-3: 0.2, 3e-3: 0.5, 1e-2: 0.4}) == 3e-3
    assert pick_lr({1e-2: 0.5, 1e-3: 0.5, 3e-3: 0.1}) == 1e-3  # whatever the grid's order
    assert pick_lr({3e-3: 0.0}) == 3e-3


def test_each_model_trains_at_the_lr_with_the_best_dev_accuracy_on_the_tuning_seed(tuned):
    out, results = tuned
    tuning = {t["model"]: t for t in results["tuning"]}
    assert [p["lr"] for p in tuning["single-pass"]["grid"]] == [1e-3, 1e-2]
    assert [p["lr"] for p in tuning["transformer"]["grid"]] == [3e-3]
    for model, t in tuning.items():
        for point in t["grid"]:  # the dev accuracy is the best the trainer recorded in that tuning cell
            cell = out / "smoke" / "arithmetic" / model / "tune" / f"lr{point['lr']:g}"
            logged = [json.loads(line) for line in (cell / "metrics.jsonl").read_text().splitlines()]
            assert point["best_dev"] == max(r["dev_accuracy"] for r in logged if "dev_accuracy" in r)
            done = json.loads((cell / "cell.json").read_text())
            assert done["run_config"]["train"]["seed"] == 100 and set(done["eval"]) == {"dev"}
        assert t["seed"] == 100 and t["chosen_lr"] == pick_lr({p["lr"]: p["best_dev"] for p in t["grid"]})
    assert len(results["cells"]) == 2  # tuning cells are not study cells
    assert 0 < results["tuning_compute_s"] < results["compute_s"]
    for c in results["cells"]:
        assert c["run_config"]["train"]["lr"] == tuning[c["model"]]["chosen_lr"] and c["seed"] == 0


def test_a_finished_tuning_cell_is_not_rerun(tuned, monkeypatch):
    out, results = tuned
    import trmlab.study.run as run_module

    def boom(*a, **k):
        raise AssertionError("a finished cell was retrained")
    monkeypatch.setattr(run_module, "train_or_resume", boom)
    again = run_study(tuned_study(), out, jobs=1, progress=False)
    assert again["tuning"] == results["tuning"]


def test_report_only_shows_an_unfinished_grid_and_leaves_its_model_out(tuned, tmp_path):
    out, results = tuned
    study = tuned_study()
    study.tune["lr"] = [1e-3, 1e-2, 3e-2]  # a point not trained yet: no choice, so no study cells
    again = run_study(study, out, jobs=1, progress=False, report_only=True)
    single = next(t for t in again["tuning"] if t["model"] == "single-pass")
    assert single["grid"][-1] == {"lr": 3e-2, "best_dev": None} and single["chosen_lr"] is None
    assert [c["model"] for c in again["cells"]] == ["transformer"]
    report = (out / "smoke" / "report.md").read_text()
    assert "### Learning-rate tuning" in report and "*pending*" in report and "not yet" in report


def test_tuning_replaces_a_models_own_lr_only_when_a_grid_applies(tmp_path):
    study = tiny_study(["reasoner"])
    study.models.append(ModelSpec("own-lr", train={"lr": 0.02}))
    vocab = {"arithmetic": 600}
    untuned = plan_cells(study, tmp_path, study.tasks, vocab)
    assert [c.cfg.train.lr for c in untuned] == [study.base.train.lr, 0.02]
    # tuning off: cells as before (with train.precision=auto resolved, as every cell records it)
    assert [c.cfg.to_dict() for c in untuned] == [resolve_run(study.run_config(study.tasks[0], m, 0)).to_dict()
                                                   for m in study.models]
    study.tune = {"lr": [1e-3, 3e-3], "seed": 7}
    tune = plan_tuning_cells(study, tmp_path, study.tasks, vocab)
    assert [c.key for c in tune][:2] == ["arithmetic/reasoner/tune/lr0.001", "arithmetic/reasoner/tune/lr0.003"]
    assert {c.cfg.train.seed for c in tune} == {7} and [c.cfg.train.lr for c in tune] == [1e-3, 3e-3] * 2
    assert plan_cells(study, tmp_path, study.tasks, vocab) == []  # nothing chosen yet
    chosen = plan_cells(study, tmp_path, study.tasks, vocab, {("arithmetic", "own-lr"): 1e-3})
    assert [(c.spec.name, c.cfg.train.lr) for c in chosen] == [("own-lr", 1e-3)]


def test_tuning_config_round_trip_and_errors(tmp_path):
    study = tuned_study()
    path = tmp_path / "s.json"
    path.write_text(json.dumps(study.to_dict()))
    again = StudyConfig.load(path)
    assert again.to_dict() == study.to_dict() and again.tune == {"lr": [1e-3, 1e-2], "seed": 100}
    assert [m.lr_grid for m in again.models] == [[3e-3], []]
    d = study.to_dict()
    for tune, error in [({"lr": [], "seed": 100}, "non-empty list"), ({"lr": [1e-3, 0.0], "seed": 100}, "positive"),
                        ({"lr": [1e-3, 1e-3], "seed": 100}, "repeats"), ({"lr": [1e-3]}, "integer tuning seed"),
                        ({"lr": [1e-3], "seed": 0}, "tuning seed 0 is also a study seed"),
                        ({"lr": [1e-3], "seed": 100, "warmup": [2]}, "tune has no field warmup"),
                        ({"lr": [1e-3], "seed": 100, "extend": -1}, "extend must be a whole number"),
                        ({"lr": [1e-3], "seed": 100, "steps": 0}, "steps must be a whole number")]:
        with pytest.raises(ValueError, match=error):
            StudyConfig.from_dict({**d, "tune": tune})
    with pytest.raises(ValueError, match="lr_grid: learning rates must be positive"):
        ModelSpec("x", lr_grid=[1e-3, -1e-3])
    with pytest.raises(ValueError, match="integer tuning seed"):  # a model's own grid needs the seed too
        StudyConfig.from_dict({**d, "tune": {}})
    study.seeds = [0, 100]  # as `trmlab study --seeds 0,100` would: refused before anything trains
    with pytest.raises(ValueError, match="also a study seed"):
        run_study(study, tmp_path, jobs=1, progress=False)
    assert not (tmp_path / "smoke").exists()


def test_tuning_steps_shorten_only_the_tuning_cells_of_longer_tasks(tmp_path):
    """tune.steps caps the tuning horizon (evaluations and checkpoints within it); the study seeds
    train the task's full steps, and a task already that short tunes exactly as without the field."""
    study = tiny_study(["single-pass", "reasoner"])  # smoke trains 8 steps, evaluating every 4
    study.tune = {"lr": [1e-3, 3e-3], "seed": 100}
    vocab = {"arithmetic": 600}
    plain = plan_tuning_cells(study, tmp_path, study.tasks, vocab)
    study.tune["steps"] = 8
    assert [c.cfg for c in plan_tuning_cells(study, tmp_path, study.tasks, vocab)] == [c.cfg for c in plain]
    study.tune["steps"] = 3
    short = plan_tuning_cells(study, tmp_path, study.tasks, vocab)
    assert {(c.cfg.train.steps, c.cfg.train.eval_every, c.cfg.train.checkpoint_every) for c in short} == {(3, 3, 3)}
    assert [replace(c.cfg, train=replace(c.cfg.train, steps=8, eval_every=4, checkpoint_every=4)) for c in short] \
        == [c.cfg for c in plain]  # nothing else changes
    cells = plan_cells(study, tmp_path, study.tasks, vocab, {("arithmetic", m): 3e-3 for m in ("single-pass", "reasoner")})
    assert {c.cfg.train.steps for c in cells} == {8}


def test_schemes_run_in_a_grid_study(tmp_path):
    """The recursion schemes through `trmlab study` on a grid task (answers in place)."""
    from trmlab.study.presets import _schemes, study_sudoku_smoke
    from trmlab.study.run import run_study
    study = study_sudoku_smoke()
    study.models = [m for m in study.models if m.name == "trm-att"] + _schemes()
    results = run_study(study, tmp_path, progress=False)
    cells = results["cells"] if "cells" in results else results
    text = json.dumps(cells)
    for scheme in ("looped", "recurrent-depth", "deq"):
        assert f'"{scheme}"' in text
    assert "residual_by_step" in text


def test_a_transformer_given_a_shape_keeps_it_the_other_is_matched(tmp_path):
    """The iso-FLOP LM (n_layers set) is built as asked; the plain one matches the reasoner's count."""
    study = tiny_study(["reasoner", "transformer"])
    study.models.append(ModelSpec("deep-lm", kind="transformer", overrides={"n_layers": 6}))
    vocab = {"arithmetic": 600}
    cells = {c.spec.name: c.cfg.model for c in plan_cells(study, tmp_path, study.tasks, vocab)}
    count = lambda m: count_params(build_model(m, 600, device="meta"))
    assert cells["deep-lm"].n_layers == 6 and cells["deep-lm"].d_model == study.base.model.d_model
    assert abs(count(cells["transformer"]) / count(cells["reasoner"]) - 1) <= 0.02
    assert count(cells["deep-lm"]) > 2 * count(cells["reasoner"])


def test_the_ladder_and_an_extended_grid():
    assert [ladder_step(1e-3, up=True), ladder_step(3e-3, up=True), ladder_step(1e-3, up=False),
            ladder_step(2e-3, up=False)] == [3e-3, 1e-2, 3e-4, 1e-3]
    curve = {1e-4: 0.2, 3e-4: 0.6, 1e-3: 0.5, 3e-3: 0.3, 1e-2: 0.1}.get  # dev accuracy by lr
    assert extended_grid([1e-3, 3e-3], curve, extend=0) == ([1e-3, 3e-3], True)  # no extension asked
    assert extended_grid([1e-3, 3e-3], curve, extend=3) == ([1e-4, 3e-4, 1e-3, 3e-3], True)  # 3e-4 inside
    assert extended_grid([3e-3, 1e-2], curve, extend=1) == ([1e-3, 3e-3, 1e-2], True)  # used up
    assert extended_grid([1e-3, 3e-3], {1e-3: 0.5}.get, extend=2) == ([1e-3, 3e-3], False)  # waiting
    rising = {3e-4: 0.1, 1e-3: 0.2, 3e-3: 0.3}.get  # the best at the top edge: extend upwards
    assert extended_grid([3e-4, 1e-3], rising, extend=2) == ([3e-4, 1e-3, 3e-3, 1e-2], False)


def test_an_extended_grid_plans_its_next_point_from_finished_cells(tmp_path):
    study = tiny_study(["single-pass"])
    study.tune = {"lr": [1e-3, 3e-3], "seed": 100, "extend": 1}
    vocab = {"arithmetic": 600}
    lrs = lambda: [c.cfg.train.lr for c in plan_tuning_cells(study, tmp_path, study.tasks, vocab)]
    assert lrs() == [1e-3, 3e-3]
    for lr, dev in [(1e-3, 0.4), (3e-3, 0.7)]:  # the top edge wins
        cell = tmp_path / "arithmetic" / "single-pass" / "tune" / f"lr{lr:g}"
        cell.mkdir(parents=True)
        (cell / "cell.json").write_text(json.dumps({"best_dev": dev}))
    assert lrs() == [1e-3, 3e-3, 1e-2]


def test_depth_quick_is_depth_cpus_core_at_the_lrs_its_tuning_chose():
    """depth-quick's untuned lrs are the ones the committed depth-cpu study chose on dev."""
    from pathlib import Path
    from trmlab.study.presets import DEPTH_CPU_LRS, study_depth_cpu, study_depth_quick
    quick, full = study_depth_quick(), study_depth_cpu()
    assert {m.name for m in quick.models} <= {m.name for m in full.models}
    assert quick.tasks == full.tasks and quick.base.model == full.base.model and not quick.tune
    assert {m.name: m.train["lr"] for m in quick.models} == DEPTH_CPU_LRS
    committed = Path(__file__).parents[1] / "results" / "depth-cpu" / "results.json"
    chosen = {t["model"]: t["chosen_lr"] for t in json.loads(committed.read_text())["tuning"]}
    assert all(chosen[name] == lr for name, lr in DEPTH_CPU_LRS.items())


def test_extrap_quick_is_extrap_cpus_parity_cell_at_the_lrs_its_tuning_chose():
    """extrap-quick's untuned lrs are the ones the committed extrap-cpu study chose on parity's dev set."""
    from pathlib import Path
    from trmlab.study.extrapolation import EXTRAP_CPU_LRS, study_extrap_cpu, study_extrap_quick
    quick, full = study_extrap_quick(), study_extrap_cpu()
    assert {m.name for m in quick.models} == {m.name for m in full.models} and not quick.tune
    assert [t.id for t in quick.tasks] == ["prefix_parity"] and quick.tasks[0] == full.tasks[0]
    assert {m.name: m.train["lr"] for m in quick.models} == EXTRAP_CPU_LRS
    committed = Path(__file__).parents[1] / "results" / "extrap-cpu" / "results.json"
    tuning = json.loads(committed.read_text())["tuning"]
    assert {t["model"]: t["chosen_lr"] for t in tuning if t["task"] == "prefix_parity"} == EXTRAP_CPU_LRS
    # the headline model at ten seeds on parity and five on addition and the shell game, the baselines
    # at three; parity trains 1,000 steps, the shell game 3,000, both keeping the later of tied
    # checkpoints; every model tunes at most 1,000 steps; the committed run holds them all
    parity, addition, shell = full.tasks
    assert {m.name: full.seeds_for(parity, m) for m in full.models} == {
        "looped": list(range(10)), "transformer": [0, 1, 2], "single-pass": [0, 1, 2], "untied": [0, 1, 2]}
    assert full.seeds_for(addition, full.models[0]) == full.seeds_for(shell, full.models[0]) == [0, 1, 2, 3, 4]
    assert [(full.task_base(t).train.steps, full.task_base(t).train.dev_ties) for t in full.tasks] == [
        (1000, "later"), (800, "earlier"), (3000, "later")]
    assert {full.tune_config(shell, m, 1e-3).train.steps for m in full.models} == {1000}
    # The committed run's preset, but for the precision: bf16 was the default then, and the run recorded
    # it; the default is now auto, which resolves to bf16 on a CPU like that run's (native bf16). Read
    # back through StudyConfig, as --reuse reads a run: a field added to the code since keeps its default.
    ran = StudyConfig.from_dict(json.loads((committed.parent / "study.json").read_text())).to_dict()
    now = full.to_dict()
    assert ran["base"]["train"].pop("precision") == "bf16" and now["base"]["train"].pop("precision") == "auto"
    assert now == ran
    cells = json.loads(committed.read_text())["cells"]
    assert {t: sorted(c["seed"] for c in cells if c["model"] == "looped" and c["task"] == t)
            for t in ("prefix_parity", "long_addition", "shell_game")} == {
        "prefix_parity": list(range(10)), "long_addition": [0, 1, 2, 3, 4], "shell_game": [0, 1, 2, 3, 4]}


def test_study_cells_score_the_training_examples_and_the_report_holds_them_apart(finished_study):
    study, out, results = finished_study
    for c in results["cells"]:
        assert "train" in c["eval"] and 0 <= c["eval"]["train"]["accuracy"] <= 1
    from trmlab.reporting.study_report.cells import eval_splits
    assert "train" not in eval_splits(results["cells"])  # not a held-out set: no comparisons on it


def _fake_finished(cell, best_dev):
    cell.run_dir.mkdir(parents=True, exist_ok=True)
    (cell.run_dir / "cell.json").write_text(json.dumps(
        {"best_dev": best_dev, "run_config": cell.cfg.to_dict(), "eval_steps": cell.eval_steps,
         "wall_s": 1.0, "eval_s": 0.0}))


def test_a_weight_decay_grid_is_tuned_with_the_lr_and_the_best_pair_trains(tmp_path):
    from trmlab.study.run import tuning_results
    study = tiny_study(["single-pass"])
    study.tune = {"lr": [1e-3, 3e-3], "weight_decay": [0.1, 1.0], "seed": 100}
    vocab = {"arithmetic": 600}
    tune = plan_tuning_cells(study, tmp_path, study.tasks, vocab)
    assert [c.key for c in tune] == [f"arithmetic/single-pass/tune/lr{lr}-wd{wd}" for wd in ("0.1", "1")
                                     for lr in ("0.001", "0.003")]
    assert [(c.cfg.train.lr, c.cfg.train.weight_decay, c.cfg.train.seed) for c in tune] == [
        (1e-3, 0.1, 100), (3e-3, 0.1, 100), (1e-3, 1.0, 100), (3e-3, 1.0, 100)]
    assert tuning_results(study, tune)[0]["chosen_lr"] is None  # nothing finished yet
    for c, dev in zip(tune, [0.3, 0.5, 0.5, 0.4]):  # a tie: the smaller lr wins
        _fake_finished(c, dev)
    record = tuning_results(study, tune)[0]
    assert (record["chosen_lr"], record["chosen_weight_decay"]) == (1e-3, 1.0)
    assert record["grid"][0] == {"lr": 1e-3, "weight_decay": 0.1, "best_dev": 0.3}
    cells = plan_cells(study, tmp_path, study.tasks, vocab, {("arithmetic", "single-pass"): (1e-3, 1.0)})
    assert [(c.cfg.train.lr, c.cfg.train.weight_decay, c.seed) for c in cells] == [(1e-3, 1.0, 0)]
    from trmlab.reporting.study_report.tuning import tuning_table
    text = "\n".join(tuning_table([record], {}))
    assert "**lr 0.001, wd 1**" in text and "weight decay" in text
    # Without a weight-decay grid nothing changes: the same folders, records and cells as before.
    study.tune = {"lr": [1e-3, 3e-3], "seed": 100}
    plain = plan_tuning_cells(study, tmp_path, study.tasks, vocab)
    assert [c.key for c in plain] == ["arithmetic/single-pass/tune/lr0.001", "arithmetic/single-pass/tune/lr0.003"]
    assert study.run_config(study.tasks[0], study.models[0], 0).train.weight_decay == study.base.train.weight_decay


def test_a_task_can_reuse_another_tasks_tuning_and_run_its_own_seeds(tmp_path):
    """A family tuned once (tune_with): the reusing task plans no tuning cells and trains at the
    other task's choice; a task with its own seeds runs them, the rest the study's."""
    study = tiny_study(["single-pass"], seeds=(0, 1))
    small = replace(study.tasks[0], id="arithmetic-n50", data={**study.tasks[0].data, "n_train": 50},
                    tune_with="arithmetic", seeds=[0, 1, 2])
    study.tasks.append(small)
    study.tune = {"lr": [1e-3, 3e-3], "seed": 100}
    vocab = {"arithmetic": 600, "arithmetic-n50": 600}
    assert {c.task.id for c in plan_tuning_cells(study, tmp_path, study.tasks, vocab)} == {"arithmetic"}
    cells = plan_cells(study, tmp_path, study.tasks, vocab, {("arithmetic", "single-pass"): 3e-3})
    assert [(c.task.id, c.seed, c.cfg.train.lr) for c in cells] == [
        ("arithmetic", 0, 3e-3), ("arithmetic-n50", 0, 3e-3), ("arithmetic", 1, 3e-3), ("arithmetic-n50", 1, 3e-3),
        ("arithmetic-n50", 2, 3e-3)]
    assert StudyConfig.from_dict(study.to_dict()).tasks[1] == small  # round trip
    d = study.to_dict()
    for change, error in [({"tune_with": "nope"}, "tune_with must name another task"),
                          ({"seeds": [100]}, "tuning seed 100 is also a study seed")]:
        tasks = [d["tasks"][0], {**d["tasks"][1], **change}]
        with pytest.raises(ValueError, match=error):
            StudyConfig.from_dict({**d, "tasks": tasks})


def test_reuse_puts_back_an_earlier_runs_cells_and_trains_only_the_rest(tuned, tmp_path, monkeypatch, capsys):
    """--reuse: the cells an earlier run trained exactly as the study would come back (tuning
    included), so only the new ones train; a changed config brings nothing back."""
    _, results = tuned
    earlier = tmp_path / "earlier.json"  # as the run wrote it (other tests rewrite the folder's copy)
    earlier.write_text(json.dumps(results))
    earlier = str(earlier)
    import trmlab.study.run as run_module
    asked = []
    monkeypatch.setattr(run_module, "_run_cells", lambda cells, *a, **k: asked.extend(c.key for c in cells))
    study = tuned_study()
    next(m for m in study.models if m.name == "single-pass").seeds = [0, 1]  # one model at one more seed
    again = run_study(study, tmp_path / "more", jobs=1, progress=False, reuse=earlier)
    assert asked == ["arithmetic/single-pass/seed1"]
    assert [{**t, "compute_s": 0} for t in again["tuning"]] == [{**t, "compute_s": 0} for t in results["tuning"]]
    assert again["tuning_compute_s"] == pytest.approx(results["tuning_compute_s"])
    assert [{k: v for k, v in c.items() if k != "restored_from"} for c in again["cells"]] == results["cells"]
    assert "3 tuning cells restored" in capsys.readouterr().err
    assert again["reused"]["cells"] == 2 and "2 of 2 cells" in (tmp_path / "more" / "smoke" / "report.md").read_text()

    class Trained(Exception):
        pass

    def train(cells, *a, **k):
        asked[:] = [c.key for c in cells]
        raise Trained
    monkeypatch.setattr(run_module, "_run_cells", train)
    changed = tuned_study()
    changed.base.train.steps += 1
    with pytest.raises(Trained):
        run_study(changed, tmp_path / "changed", jobs=1, progress=False, reuse=earlier)
    assert len(asked) == 3  # every tuning cell trains afresh
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(ValueError, match="not a study's results.json"):
        run_study(tuned_study(), tmp_path / "junk", jobs=1, progress=False, reuse=str(tmp_path / "junk.json"))


def test_reuse_trains_again_a_cell_that_lacks_an_evaluation_set_the_study_now_asks_for(tuned, tmp_path, monkeypatch):
    """The checkpoints are not in results.json: a cell evaluated without a set the study has since
    gained cannot be scored on it, so it trains again (its tuning, scored on dev only, comes back)."""
    _, results = tuned
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps(results))
    import trmlab.study.run as run_module
    asked = []
    monkeypatch.setattr(run_module, "_run_cells", lambda cells, *a, **k: asked.extend(c.key for c in cells))
    grown = tuned_study()
    grown.tasks[0].eval_sets = {"harder": {"knobs": {"ood_difficulty": [3, 3]}, "split": "ood", "n": 8}}
    again = run_study(grown, tmp_path / "grown", jobs=1, progress=False, reuse=str(earlier))
    assert sorted(asked) == ["arithmetic/single-pass/seed0", "arithmetic/transformer/seed0"]
    assert again["tuning"][0]["chosen_lr"] == results["tuning"][0]["chosen_lr"]


def test_a_model_can_run_more_seeds_than_its_baselines(tmp_path):
    """ModelSpec.seeds: a headline model at five seeds beside baselines at the study's; the model's
    seeds win over its task's."""
    study = tiny_study(["reasoner", "single-pass"], seeds=(0, 1))
    study.tasks[0].seeds = [0, 1, 2]
    next(m for m in study.models if m.name == "reasoner").seeds = [0, 1, 2, 3, 4]
    cells = plan_cells(study, tmp_path, study.tasks, {"arithmetic": 600})
    assert sorted((c.spec.name, c.seed) for c in cells) == sorted(
        [("reasoner", s) for s in range(5)] + [("single-pass", s) for s in range(3)])
    assert StudyConfig.from_dict(study.to_dict()).models == study.models  # round trip
    study.tune = {"lr": [1e-3], "seed": 4}
    with pytest.raises(ValueError, match="tuning seed 4 is also a study seed"):
        study.check_tune()
    # per task: seeds for the tasks it names, the task's own elsewhere
    study.tune = {}
    other = replace(study.tasks[0], id="other", seeds=[])
    study.tasks.append(other)
    next(m for m in study.models if m.name == "reasoner").seeds = {"arithmetic": [0, 1, 2, 3, 4]}
    assert study.seeds_for(study.tasks[0], study.models[0]) == [0, 1, 2, 3, 4]
    assert study.seeds_for(other, study.models[0]) == [0, 1]
    assert StudyConfig.from_dict(study.to_dict()).models == study.models
    study.tune = {"lr": [1e-3], "seed": 4}
    with pytest.raises(ValueError, match="tuning seed 4 is also a study seed"):
        study.check_tune()


def test_weight_decay_grid_errors():
    d = tiny_study(["single-pass"]).to_dict()
    for tune, error in [({"lr": [1e-3], "seed": 100, "weight_decay": []}, "non-empty list of weight decays"),
                        ({"lr": [1e-3], "seed": 100, "weight_decay": [-1.0]}, "numbers >= 0"),
                        ({"lr": [1e-3], "seed": 100, "weight_decay": [1.0, 1.0]}, "repeats a weight decay"),
                        ({"seed": 100, "weight_decay": [1.0]}, "learning-rate grid")]:
        with pytest.raises(ValueError, match=error):
            StudyConfig.from_dict({**d, "tune": tune})


def test_data_presets_vary_only_the_training_set_size():
    from trmlab.study.presets import DATA_SIZES, study_data_cpu, study_data_quick
    for study, tasks in [(study_data_quick(), ["phop"]), (study_data_cpu(), ["phop", "story_arithmetic"])]:
        assert [t.id for t in study.tasks] == [f"{task}-n{n}" for task in tasks for n in DATA_SIZES]
        for task in tasks:
            bases = [study.task_base(t) for t in study.tasks if t.id.startswith(task + "-n")]
            assert [b.data.n_train for b in bases] == list(DATA_SIZES)
            assert len({json.dumps({**b.to_dict()["data"], "n_train": 0}) for b in bases}) == 1  # dev/test fixed
            assert {b.data.n_test for b in bases} == {1000} and len({b.train.steps for b in bases}) == 1
        trm = next(m for m in study.models if m.name == "trm")
        assert trm.overrides["n_sup"] == 16 and trm.overrides["halting"] == "act"
        assert study.base.train.ema == 0.999 and all(study.task_base(t).data.augment for t in study.tasks)
    assert next(m for m in study_data_quick().models if m.name == "trm").train["weight_decay"] == 1.0  # untuned
    full = study_data_cpu()
    assert {m.name for m in full.models} == {"trm", "looped-progressive", "single-pass", "transformer", "transformer-5x"}
    # tuned once per task family, at 1,000 questions, over a grid that holds TRM's weight decay 1.0
    assert [t.tune_with for t in full.tasks if t.id.startswith("phop")] == ["phop-n1000", "", "phop-n1000", "phop-n1000"]
    assert full.tune["weight_decay"] == [0.1, 1.0] and full.tune["seed"] not in full.seeds
    # five seeds where the intervals are wide (<= 1,000 questions), the study's three elsewhere
    assert {t.id: t.seeds for t in full.tasks if t.seeds} == {
        f"{task}-n{n}": [0, 1, 2, 3, 4] for task in ("phop", "story_arithmetic") for n in (250, 1000)}


WORKER_SCRIPT = '''
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from trmlab.study.run import exit_with_parent

def work(path):
    open(path, "w").write(str(os.getpid()))
    time.sleep(120)

if __name__ == "__main__":
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=exit_with_parent) as pool:
        pool.submit(work, sys.argv[1])
        time.sleep(120)
'''


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_study_takes_its_workers_with_it(tmp_path):
    """A study killed mid-cell must not leave workers training: a rerun would train the same cell
    in two processes at once."""
    import signal
    import subprocess
    import time
    script, pid_file = tmp_path / "study.py", tmp_path / "worker.pid"
    script.write_text(WORKER_SCRIPT)
    parent = subprocess.Popen([sys.executable, str(script), str(pid_file)])
    deadline = time.time() + 60
    while not (pid_file.exists() and pid_file.read_text()) and time.time() < deadline:
        time.sleep(0.2)
    worker = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()

    def running(pid: int) -> bool:
        status = Path(f"/proc/{pid}/status")
        try:
            return "State:\tZ" not in status.read_text()
        except OSError:
            return False
    deadline = time.time() + 15
    while running(worker) and time.time() < deadline:
        time.sleep(0.2)
    assert not running(worker)


def test_extrap_precision_is_extrap_quick_with_the_loop_at_five_seeds():
    """The precision comparison's preset changes only the looped model's seeds, so its bf16 cells
    are extrap-quick's and extrap-cpu's; each committed run holds five looped seeds in its precision."""
    from trmlab.study.presets import study_extrap_precision, study_extrap_quick
    quick, precision = study_extrap_quick(), study_extrap_precision()
    assert precision.tasks == quick.tasks and precision.seeds == quick.seeds == [0, 1]
    assert {m.name: precision.seeds_for(precision.tasks[0], m) for m in precision.models} == {
        "looped": [0, 1, 2, 3, 4], "transformer": [0, 1], "single-pass": [0, 1], "untied": [0, 1]}
    assert [replace(m, seeds=[]) for m in precision.models] == [replace(m, seeds=[]) for m in quick.models]
    folder = Path(__file__).parents[1] / "results" / "extrap-precision"
    for name in ("bf16", "fp32"):
        cells = json.loads((folder / name / "results.json").read_text())["cells"]
        assert sorted(c["seed"] for c in cells if c["model"] == "looped") == [0, 1, 2, 3, 4]
        assert {c["run_config"]["train"]["precision"] for c in cells} == {name}
