"""A shared model says how it was trained: one tiny run per scheme and model kind, exported,
and its model card (and the headers of `trmlab solve` and the demo) checked against the run's
own config. Offline."""
import json
from dataclasses import dataclass

import pytest

from trmlab.cli import main
from trmlab.config import RunConfig
from trmlab.hub import export
from trmlab.model import HRMConfig, ReasonerConfig, TransformerConfig
from trmlab.model.describe import changed_fields, describe_training, halting_head
from trmlab.training.trainer import train

TINY = dict(d_model=32, n_layers=1, n_heads=2, n_latent=2, n_cycles=2, n_sup=2, n_registers=2, answer_len=4)

# Each scheme and model kind: its config, and words its card must say (beside `recursion=...`).
SCHEMES = {
    "trm-act": (ReasonerConfig(**TINY, halting="act"),
                ["TRM's deep supervision (recursion=trm)", "halting=act", "Training obeyed it"]),
    "trm-fixed": (ReasonerConfig(**TINY, halting="fixed"),
                  ["halting=fixed: every row runs all N_sup steps", "Training did not use it"]),
    "trm-random": (ReasonerConfig(**TINY, halting="random", halt_explore_prob=0.2),
                   ["halting=random: each row runs a number of steps drawn uniformly", "Training did not use it"]),
    "looped": (ReasonerConfig(**TINY, recursion="looped"),
               ["full backpropagation", "one loss, after the last iteration (progressive=False)",
                "Training did not use it"]),
    "looped-progressive": (ReasonerConfig(**TINY, recursion="looped", progressive=True),
                           ["a loss after every iteration, averaged (progressive=True)"]),
    "looped-extrapolation": (ReasonerConfig(**TINY, recursion="looped", loops_per_token=0.5, extra_loops=2,
                                            incremental_alpha=0.5, recall=False, window=1),
                             ["(recursion=looped)", "T = ceil(0.5 x its question tokens)",
                              "a random 0..2 more (extra_loops)", "incremental_alpha=0.5",
                              "recall=False", "local attention within 1 position(s)"]),
    "recurrent-depth": (ReasonerConfig(**TINY, recursion="recurrent_depth", grad_iters=1),
                        ["uniform in 1..3: depth_dist=uniform", "from a random state", "the last 1 of them (grad_iters=1)"]),
    "recurrent-depth-lognormal": (ReasonerConfig(**TINY, recursion="recurrent_depth", depth_dist="lognormal"),
                                  ["depth_dist=lognormal", "all of them (grad_iters=0)"]),
    "deq-phantom": (ReasonerConfig(**TINY, recursion="deq", deq_tol=0.01),
                    ["deq_tol=0.01", "the phantom gradient: 1 iteration(s)", "deq_grad=phantom"]),
    "deq-implicit": (ReasonerConfig(**TINY, recursion="deq", deq_grad="implicit"),
                     ["the implicit gradient", "deq_grad=implicit"]),
    "single-pass": (ReasonerConfig(**{**TINY, "n_latent": 1, "n_cycles": 1, "n_sup": 1}, recursion="looped"),
                    ["Training scheme: **single pass**", "no recursion across iterations"]),
    "untied": (ReasonerConfig(**{**TINY, "n_latent": 3, "n_cycles": 1, "n_sup": 1}, untied=True),
               ["Training scheme: **untied stack, one pass**", "4 separate networks (untied=True)"]),
    "hrm": (HRMConfig(**{**TINY, "n_sup": 3}),
            ["HRM's deep supervision (recursion=trm)", "Q-learning", "halt > continue"]),
    "transformer": (TransformerConfig(d_model=32, n_layers=1, n_heads=2, answer_len=4),
                    ["Training scheme: **teacher forcing**", "greedy decoding"]),
}


def tiny_run(model_cfg, out, knobs=None):
    """A run trained for one step (the card reads a trained run's folder)."""
    cfg = RunConfig.from_dict({
        "name": "tiny", "model": model_cfg.to_dict(),
        "data": {"n_train": 64, "n_dev": 8, "n_test": 0, "n_ood": 0, "answer_len": 4,
                 "knobs": {"train_difficulty": [1, 1]} if knobs is None else knobs},
        "train": {"steps": 1, "batch_size": 8, "eval_every": 1, "checkpoint_every": 1, "eval_batch_size": 8}})
    return train(cfg, out, progress=False).run_dir


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_card_states_the_scheme_of_the_runs_config(scheme, tmp_path, capsys):
    model_cfg, words = SCHEMES[scheme]
    folder = export(tiny_run(model_cfg, tmp_path / "run"), tmp_path / "out")
    card = (folder / "README.md").read_text()
    m = RunConfig.from_dict(json.loads((folder / "config.json").read_text())["run_config"]).model
    assert m == model_cfg
    for said in words:
        assert said in card, said
    assert describe_training(m)[1:] in card  # the one description, as solve and the demo print it
    named = [r for r in ("trm", "looped", "recurrent_depth", "deq") if f"(recursion={r})" in describe_training(m)]
    assert named in ([], [getattr(m, "recursion", None)])  # only its own scheme is described
    if m.kind != "transformer":
        assert f"recursion={m.recursion}" in card and f"- {m.recursion.replace('_', '-')}" in card  # and a tag
        assert halting_head(m) in card and 'against "the whole answer is right"' in card
    else:
        assert "Halting head" not in card and "recursion=" not in card
    for name, (value, default) in changed_fields(m).items():  # every knob changed from its default
        assert f"| `{name}` | `{value}` | `{default}` |" in card
    assert "train_difficulty=[1, 1]" in card and "{}" not in card

    hub = pytest.importorskip("huggingface_hub")  # the card parses as the Hub reads it
    parsed = hub.ModelCard(card)
    assert parsed.data.library_name == "trmlab" and m.kind in parsed.data.tags
    assert "Training scheme" in parsed.text

    assert main(["solve", str(folder), "1 + 1?", "--steps", "2"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert describe_training(m) in header


def test_task_knobs_appear_only_when_the_run_set_them(tmp_path):
    folder = export(tiny_run(ReasonerConfig(**TINY), tmp_path / "run", knobs={}), tmp_path / "out")
    card = (folder / "README.md").read_text()
    assert "on the task `story_arithmetic`, char tokenizer" in card and "{}" not in card


def test_a_config_field_added_later_is_listed_with_no_change_to_the_card():
    """The card's table is generic: a knob that a later config gains (an attention window, say)
    is named whenever a run sets it away from its default."""
    from trmlab.hub import _config_table

    @dataclass
    class WindowedConfig(ReasonerConfig):
        window: int = 0  # a knob this code has never heard of

    assert "window" not in changed_fields(WindowedConfig(**TINY))
    table = "\n".join(_config_table(WindowedConfig(**TINY, window=8)))
    assert "| `window` | `8` | `0` |" in table and "`WindowedConfig`" in table
    assert _config_table(ReasonerConfig()) == [
        "Model config: every field at the default of trmlab's `ReasonerConfig` (the full config is in `config.json`)."]


def test_demo_header_names_the_scheme(tmp_path):
    from trmlab.demo import Demo
    model_cfg = SCHEMES["looped-progressive"][0]
    demo = Demo(str(tiny_run(model_cfg, tmp_path / "run")))
    assert describe_training(model_cfg) in demo.title and "progressive=True" in demo.title
