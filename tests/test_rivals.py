"""`rivals-cpu`: who else can think longer. The preset holds what its closing note claims (every rival,
its seeds, the sizes, the trace format's field), and the test-time cost that goes beside accuracy
is what the models compute."""
import math

import torch

from trmlab.config import DataConfig
from trmlab.data import load_splits
from trmlab.evaluation import answer_cost, evaluate
from trmlab.model import build_model, count_params
from trmlab.study import load_study
from trmlab.study.extrapolation import EXTRAP_TASKS, study_rivals_cpu

from .conftest import tiny_reasoner_config, tiny_transformer_config


def test_the_preset_holds_every_rival_at_every_size():
    study = study_rivals_cpu()
    assert [m.name for m in study.models] == ["looped", "lstm", "gru", "transformer", "lm-nope", "lm-random",
                                              "lm-coupled", "lm-cot", "lm-cot-random"]
    for task in study.tasks:
        t = EXTRAP_TASKS[task.id]
        assert {m.name: study.seeds_for(task, m) for m in study.models} == {
            m.name: [0, 1, 2, 3, 4] if m.name == "looped" else [0, 1, 2] for m in study.models}
        largest = t.trained[1]
        assert study.task_base(task).data.knobs["ood_difficulty"] == [2 * largest] * 2
        assert {name: s["knobs"]["ood_difficulty"][0] for name, s in task.eval_sets.items()} == {
            "4x": 4 * largest, "8x": 8 * largest, "16x": 16 * largest}
        for name, s in task.eval_sets.items():  # twice the loop's T(n), so the stop can settle
            assert s["steps"] == 2 * math.ceil(t.loops_per_token * t.tokens(s["knobs"]["ood_difficulty"][0]))
        for m in study.models:
            cfg = study.run_config(task, m, 0)
            assert cfg.train.steps == t.train["steps"] and cfg.data.seed == 1
            if m.kind == "transformer":
                trace = m.name.startswith("lm-cot")
                assert cfg.data.knobs.get("trace", False) == trace
                longest = t.trace(16 * largest) if trace else t.tokens(16 * largest)
                assert cfg.data.answer_len >= longest + 1  # + EOS: the LM can write the 16x answer
                assert cfg.model.max_positions >= t.tokens(16 * largest) + 1 + cfg.data.answer_len
            if m.name == "looped":
                assert cfg.model.window == t.window and cfg.model.loops_per_token == t.loops_per_token
    assert study.tune == {"lr": [1e-3, 3e-3], "seed": 100, "steps": 1000} and study.settle_patience == 4


def test_cost_counts_each_models_own_computation():
    """FLOPs per question grow with the iterations a loop spends and with the tokens an LM writes; the
    milliseconds are measured and positive."""
    tokenizer, splits = load_splits(DataConfig(task="prefix_parity", answer_len=0, n_train=0, n_dev=0, n_test=0,
                                               n_ood=20, max_question_len=32, knobs={"ood_difficulty": [32, 32]}))
    torch.manual_seed(0)
    loop = build_model(tiny_reasoner_config(answer_len=0, recursion="looped", n_registers=1, window=1,
                                            loops_per_token=0.5), tokenizer.vocab_size).eval()
    split = splits["ood"]
    r = evaluate(loop, split, tokenizer, steps=20)
    short, long = (answer_cost(loop, split, r, tokenizer, torch.full((len(split),), k)) for k in (4, 16))
    assert long["flops_per_question"] == 4 * short["flops_per_question"] > 0
    assert short["steps_per_question"] == 4 and short["ms_per_question"] > 0
    assert short["flops_per_question"] == loop.answer_flops(32, 4) == 4 * loop.step_flops(32, train=False)
    lm = build_model(tiny_transformer_config(answer_len=40), tokenizer.vocab_size).eval()
    assert lm.answer_flops(32, 33) > lm.answer_flops(32, 1) > 0
    assert count_params(loop) > 0


def test_extrap_trm_is_rivals_cpus_loop_beside_trms_scheme_and_hrm_at_most_t_of_n_steps():
    """TRM and HRM train by deep supervision with the learned halt, each row at most its T(n)
    supervision steps; the looped cells are rivals-cpu's (the same run configs: --reuse brings them)."""
    from trmlab.study.extrapolation import TRM_STEPS
    trm_study, rivals = load_study("extrap-trm"), load_study("rivals-cpu")
    assert [m.name for m in trm_study.models] == ["looped", "trm", "hrm"] and trm_study.tasks == rivals.tasks
    for task in trm_study.tasks:
        assert trm_study.run_config(task, trm_study.models[0], 0).to_dict() == \
            {**rivals.run_config(task, rivals.models[0], 0).to_dict(),
             "name": trm_study.run_config(task, trm_study.models[0], 0).name}
        for spec in trm_study.models[1:]:
            cfg = trm_study.run_config(task, spec, 0)
            assert cfg.model.recursion == "trm" and cfg.model.halting == "act" and cfg.train.steps == TRM_STEPS
            assert cfg.model.loops_per_token == EXTRAP_TASKS[task.id].loops_per_token
            assert cfg.model.window == EXTRAP_TASKS[task.id].window and cfg.model.kind == spec.kind or spec.name == "trm"
    assert trm_study.seeds_for(trm_study.tasks[0], trm_study.models[1]) == [0, 1, 2, 3, 4]


def test_a_trm_cell_thinks_up_to_t_of_n_and_records_its_halt(tmp_path):
    from trmlab.config import DataConfig, RunConfig, TrainConfig
    from trmlab.study import ModelSpec, StudyConfig, TaskSpec
    from trmlab.study.run import run_study
    from .conftest import tiny_reasoner_config
    base = RunConfig(name="trm", model=tiny_reasoner_config(answer_len=0, n_registers=1, window=1, loops_per_token=0.5,
                                                            n_latent=1, n_cycles=1),
                     data=DataConfig(task="prefix_parity", answer_len=0, n_train=64, n_dev=16, n_test=16, n_ood=16,
                                     max_question_len=32, knobs={"train_difficulty": [4, 8], "ood_difficulty": [16, 16]}),
                     train=TrainConfig(steps=3, batch_size=8, warmup=1, eval_every=3, checkpoint_every=3,
                                       precision="fp32", threads=1))
    study = StudyConfig("trm", base, [TaskSpec("prefix_parity")], [ModelSpec("trm"), ModelSpec("hrm", kind="hrm")],
                        seeds=[0], eval_steps=16, settle_patience=2)
    for cell in run_study(study, tmp_path, progress=False)["cells"]:
        ood = cell["eval"]["ood"]
        assert cell["config"]["recursion"] == "trm" and cell["config"]["loops_per_token"] == 0.5
        assert {"accuracy_at_halt", "halt_step_by_difficulty", "accuracy_at_settle", "rule_step_by_difficulty"} <= set(ood)
        assert ood["rule_step_by_difficulty"] == {"16": 8.0}  # T(16 bits), read from the length (JSON keys)
