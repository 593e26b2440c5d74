"""Think longer, solve bigger: the size-generalisation tasks, knobs, recipes and stop."""
import json

import pytest
import torch

from trmlab.config import DataConfig
from trmlab.data import load_splits
from trmlab.evaluation import evaluate
from trmlab.evaluation.evaluate import EvalResult
from trmlab.model import build_model
from trmlab.model.recursion import read_rows, unroll
from trmlab.tasks import make_task
from trmlab.tasks.base import normalize_question

from .conftest import tiny_reasoner_config


def test_prefix_parity_answers_the_running_parity():
    for ex in make_task("prefix_parity").examples("train", 200, seed=3):
        ones = 0
        for bit, answer in zip(ex.question, ex.answer):
            ones += bit == "1"
            assert answer == str(ones % 2)
        assert ex.difficulty == len(ex.question)


def test_long_addition_answers_the_sum_column_by_column():
    """Read back independently: the columns give the operands, the answer's digits the sum."""
    for ex in make_task("long_addition", train_difficulty=(1, 12)).examples("train", 300, seed=4):
        cols = ex.question.split(",")
        a = int("".join(c[0] for c in reversed(cols)))
        b = int("".join(c[1] for c in reversed(cols)))
        assert len(str(a)) == ex.difficulty and len(cols) == ex.difficulty + 1
        assert len(ex.answer) == len(ex.question)
        digits = ex.answer[0::3]
        assert set(ex.answer[1::3] + ex.answer[2::3]) <= {"_"}
        assert int(digits[::-1]) == a + b
        assert ex.solution == f"{a}+{b}={a + b}"


def chained(ex) -> bool:
    """A sum whose carry crosses every column: each sum digit after the first is 0 (9 + the
    carry) and the extra leading digit is 1."""
    return ex.answer[3::3] == "0" * (ex.difficulty - 1) + "1"


def test_long_addition_carry_chains_carry_through_every_column():
    """With carry_chain=1 every sum carries out of the first column and through all the others."""
    for ex in make_task("long_addition", train_difficulty=(2, 12), carry_chain=1.0).examples("train", 200, seed=5):
        a, b = ex.solution.split("=")[0].split("+")
        assert chained(ex) and len(a) == len(b) == ex.difficulty
        assert int(ex.answer[0::3][::-1]) == int(a) + int(b)
    half = make_task("long_addition", train_difficulty=(4, 8), carry_chain=0.5).examples("train", 400, seed=6)
    assert 0.4 < sum(map(chained, half)) / len(half) < 0.6  # random sums almost never chain this far
    with pytest.raises(ValueError, match="carry_chain"):
        make_task("long_addition", carry_chain=1.5)
    with pytest.raises(ValueError, match="test_carry_chain"):
        make_task("long_addition", test_carry_chain=-0.1)


def test_long_addition_can_test_on_long_carries_only():
    """test_carry_chain sets the test and OOD splits' fraction apart from training's: mixed sums
    in train and dev, only chained ones in test and OOD; unset, every split uses carry_chain."""
    task = make_task("long_addition", train_difficulty=(4, 8), ood_difficulty=(12, 12),
                     carry_chain=0.5, test_carry_chain=1.0)
    rate = {s: sum(map(chained, task.examples(s, 300))) / 300 for s in ("train", "dev", "test", "ood")}
    assert 0.4 < rate["train"] < 0.6 and 0.4 < rate["dev"] < 0.6 and rate["test"] == rate["ood"] == 1.0
    same = make_task("long_addition", train_difficulty=(4, 8), carry_chain=0.5)
    assert 0.4 < sum(map(chained, same.examples("test", 300))) / 300 < 0.6
    assert task.examples("train", 50) == same.examples("train", 50)  # training data unchanged by the knob


def test_shell_game_tracks_the_ball_through_every_swap():
    """Read back independently: swap the cups' contents move by move and look where the ball is."""
    for ex in make_task("shell_game", train_difficulty=(1, 12)).examples("train", 300, seed=7):
        moves = ex.question.split(",")
        cups = {"A": True, "B": False, "C": False}
        assert len(moves) == ex.difficulty and len(ex.answer) == len(ex.question)
        assert set(ex.answer[1::3] + ex.answer[2::3]) <= {"_"}
        for move, answer in zip(moves, ex.answer[0::3]):
            x, y = move
            assert x != y and {x, y} <= set(cups)
            cups[x], cups[y] = cups[y], cups[x]
            assert cups[answer]


@pytest.mark.parametrize("task", ["prefix_parity", "long_addition", "shell_game"])
def test_size_splits_are_disjoint_and_ood_is_longer(task):
    t = make_task(task)
    splits = {s: {normalize_question(e.question) for e in t.examples(s, 300 if s == "train" else 100)}
              for s in ("train", "dev", "test")}
    assert not (splits["train"] & splits["dev"]) and not (splits["train"] & splits["test"])
    ood = t.examples("ood", 50)
    assert min(e.difficulty for e in ood) > t.train_difficulty[1]


def test_an_in_place_task_written_by_the_lm_is_scored_exactly():
    """The LM writes the scored characters after the question; "0100" is not "100"."""
    tok, splits = load_splits(DataConfig(task="long_addition", answer_len=12, n_train=20, n_dev=20, n_test=0,
                                         n_ood=0, max_question_len=40))
    dev = splits["dev"]
    assert dev.exact and all("_" not in e.answer for e in dev.examples)
    _, in_place = load_splits(DataConfig(task="long_addition", answer_len=0, n_train=20, n_dev=20, n_test=0,
                                         n_ood=0, max_question_len=40))
    assert not in_place["dev"].exact and "_" in in_place["dev"].examples[0].answer


def _parity(n_dev=64):
    return load_splits(DataConfig(task="prefix_parity", answer_len=0, n_train=64, n_dev=n_dev, n_test=0, n_ood=0,
                                  knobs={"train_difficulty": [4, 20]}))


def test_local_attention_reaches_only_as_far_as_its_layers():
    """One pass of 1 layer x 2 calls with window 1 reaches 2 positions: a bit further away
    cannot change the answer at a position."""
    tok, splits = _parity()
    torch.manual_seed(0)
    cfg = tiny_reasoner_config(answer_len=0, n_latent=1, n_cycles=1, n_sup=1, n_registers=1, window=1,
                               recursion="looped")
    model = build_model(cfg, tok.vocab_size).eval()
    dev = splits["dev"]
    i = int(torch.argmax(dev.question_len))
    batch = dev.batch(torch.tensor([i]))
    flipped = {k: v.clone() for k, v in batch.items()}
    q = flipped["question"]
    q[0, 10] = tok.encode("1")[0] if int(q[0, 10]) == tok.encode("0")[0] else tok.encode("0")[0]
    a, b = model.predict(batch, 1)["tokens"][0, 0], model.predict(flipped, 1)["tokens"][0, 0]
    far = [j for j in range(int(batch["question_len"][0])) if abs(j - 10) > 2]
    assert torch.equal(a[far], b[far])
    full = build_model(tiny_reasoner_config(answer_len=0, n_latent=1, n_cycles=1, n_sup=1, n_registers=1,
                                            recursion="looped"), tok.vocab_size).eval()
    logits = lambda bt: full.readout(full.iteration(*_state(full, bt))[0])[0]  # noqa: E731
    assert not torch.allclose(logits(batch)[0, far], logits(flipped)[0, far])  # full attention reaches further


def _state(model, batch):
    x, ctx = model.embed(batch["question"], batch["question_len"])
    return (x, *model.initial_state(x), ctx)


def test_the_size_rule_counts_iterations_from_the_question_length():
    tok, splits = _parity()
    model = build_model(tiny_reasoner_config(answer_len=0, recursion="looped", loops_per_token=0.5, n_registers=1),
                        tok.vocab_size).eval()
    dev = splits["dev"]
    assert torch.equal(model.loop_counts(dev.question_len), (dev.question_len + 1) // 2)
    r = evaluate(model, dev, tok, precision="fp32")
    assert r.steps == int(((dev.question_len + 1) // 2).max())
    assert torch.equal(r.rule_step, (dev.question_len + 1) // 2)
    assert r.accuracy == r.accuracy_at_rows(r.rule_step)


def test_each_row_is_read_after_its_own_count():
    tok, splits = _parity()
    torch.manual_seed(0)
    model = build_model(tiny_reasoner_config(answer_len=0, recursion="looped", n_registers=1), tok.vocab_size).eval()
    batch = splits["dev"].batch(torch.arange(6))
    stop = torch.tensor([1, 3, 2, 5, 4, 1])
    x, y, z, ctx = _state(model, batch)
    valid = model.valid_positions(batch["question_len"], x.shape[1])
    with torch.no_grad():
        (logits, _), _ = read_rows(model, x, y, z, ctx, valid, stop)
        tokens = model.predict(batch, 5)["tokens"]
    for i, s in enumerate(stop.tolist()):
        assert torch.equal(logits[i].argmax(-1), tokens[s - 1, i])


def test_the_incremental_loss_sends_no_gradient_before_the_detach():
    tok, splits = _parity()
    model = build_model(tiny_reasoner_config(answer_len=0, recursion="looped", n_registers=1), tok.vocab_size)
    batch = splits["dev"].batch(torch.arange(8))
    x, y, z, ctx = _state(model, batch)
    valid = model.valid_positions(batch["question_len"], x.shape[1])
    stop = torch.full((8,), 3)
    (logits, _), _ = read_rows(model, x, y, z, ctx, valid, stop, detach_after=stop)  # nothing after the cut
    logits.sum().backward()
    assert model.head.weight.grad is not None
    assert all(p.grad is None or not p.grad.any() for p in model.net.parameters())


def test_the_looped_recipe_trains_every_row_within_its_count():
    tok, splits = _parity()
    model = build_model(tiny_reasoner_config(answer_len=0, recursion="looped", loops_per_token=0.5, extra_loops=2,
                                             incremental_alpha=0.5, n_registers=1), tok.vocab_size)
    batch = splits["dev"].batch(torch.arange(16))
    x, ctx = model.embed(batch["question"], batch["question_len"])
    valid = model.valid_positions(batch["question_len"], x.shape[1])
    out = unroll(model, x, ctx, valid, torch.Generator().manual_seed(0))
    assert out.weights == [0.5, 0.5] and len(out.readouts) == 2
    most = int(((batch["question_len"] + 1) // 2).max()) + 2
    assert out.grad <= 2 * most


def test_recall_off_feeds_the_question_only_into_the_start():
    tok, splits = _parity()
    torch.manual_seed(0)
    model = build_model(tiny_reasoner_config(answer_len=0, recursion="looped", recall=False, n_registers=1),
                        tok.vocab_size)
    x = torch.randn(2, 5, 32)
    y, z = model.initial_state(x)
    assert torch.allclose(z, model.z_init + x) and torch.equal(model.inject(x, y, z), y + z)


def test_looped_recipes_are_refused_outside_the_looped_scheme():
    """The size rule also sets TRM's most supervision steps; the other recipes are the looped scheme's."""
    assert tiny_reasoner_config(loops_per_token=0.5).recursion == "trm"
    with pytest.raises(ValueError, match="most supervision steps"):
        tiny_reasoner_config(loops_per_token=0.5, recursion="deq")
    with pytest.raises(ValueError, match="looped recipe"):
        tiny_reasoner_config(incremental_alpha=0.5)
    with pytest.raises(ValueError, match="recall"):
        tiny_reasoner_config(recall=False)


def test_the_settle_stop_reads_only_the_models_own_answers():
    correct = torch.tensor([[0, 0, 1], [1, 0, 1], [1, 1, 0], [1, 1, 0], [1, 1, 0], [1, 1, 0]], dtype=torch.bool)
    changed = torch.tensor([[1, 1, 1], [1, 0, 0], [1, 1, 1], [0, 0, 0], [0, 1, 0], [0, 1, 0]], dtype=torch.bool)
    r = EvalResult(correct, torch.ones(3, dtype=torch.long), ["", "", ""], torch.tensor([1, 2, 2]), changed=changed)
    assert r.settle_step(2).tolist() == [5, 6, 5]  # row 1 keeps moving: it never settles
    s = r.summary(1, patience=2)
    assert s["accuracy_at_settle"] == pytest.approx(2 / 3) and s["never_settled"] == pytest.approx(1 / 3)
    assert s["accuracy_by_difficulty_by_step"][1] == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def test_evaluation_records_when_the_answer_changes(smoke_data):
    tok, splits = smoke_data
    model = build_model(tiny_reasoner_config(recursion="looped"), tok.vocab_size).eval()
    r = evaluate(model, splits["dev"], tok, steps=5, precision="fp32")
    assert r.changed.shape == r.correct.shape and bool(r.changed[0].all())
    assert "accuracy_at_multiple" in r.summary(4, patience=2)


def test_extrapolation_study_runs_and_reports(tmp_path):
    from dataclasses import replace

    from trmlab.study.presets import load_study
    from trmlab.study.run import run_study
    study = load_study("extrap-quick")
    study.seeds = [0]
    study.base.model = replace(study.base.model, d_model=16, n_heads=2)
    study.base.train = replace(study.base.train, batch_size=16, warmup=1)
    for t in study.tasks:
        t.train = {"steps": 4, "eval_every": 2, "checkpoint_every": 2}
        t.data.update({"n_train": 100, "n_dev": 16, "n_test": 24, "n_ood": 24})
        for e in t.eval_sets.values():
            e.update({"n": 24, "steps": 6})
    study.eval_steps = 8
    results = run_study(study, tmp_path, progress=False)
    lm = next(c for c in results["cells"] if c["model"] == "transformer")
    assert lm["run_config"]["data"]["answer_len"] == study.tasks[0].data["max_question_len"] + 1
    looped = next(c for c in results["cells"] if c["model"] == "looped")
    assert looped["eval"]["4x"]["n"] == 24 and len(looped["eval"]["4x"]["accuracy_by_step"]) == 6
    assert not looped["grid"]
    report = (tmp_path / "extrap-quick" / "report.md").read_text()
    assert "### Extrapolation" in report and "Overthinking" in report
    assert (tmp_path / "extrap-quick" / "prefix_parity_extrapolation.png").exists()
    json.dumps(results)


def test_think_until_settled_stops_where_the_answer_stops_changing():
    from trmlab.config import RunConfig
    from trmlab.evaluation.think import think
    tok, _ = _parity()
    torch.manual_seed(0)
    cfg = RunConfig(model=tiny_reasoner_config(answer_len=0, recursion="looped", n_registers=1, window=1),
                    data=DataConfig(task="prefix_parity", answer_len=0))
    model = build_model(cfg.model, tok.vocab_size).eval()
    full = think(model, cfg, tok, "0110100111", steps=30)
    settled = think(model, cfg, tok, "0110100111", steps=30, until_settled=2)
    answers = [s.answer for s in full.steps]
    k = len(settled.steps)
    assert [s.answer for s in settled.steps] == answers[:k]
    assert k == 30 or answers[k - 1] == answers[k - 2] == answers[k - 3]
    assert all(len(set(answers[i - 2:i + 1])) > 1 for i in range(2, k - 1))  # it did not settle earlier


@pytest.mark.parametrize("task", ["prefix_parity", "shell_game"])
@pytest.mark.parametrize("layout", ["in-place", "lm"])
def test_in_place_answers_never_reach_a_prediction(layout, task):
    """The leakage check for the new answer format: scrambling every label of a batch (in place,
    or written after the question by the LM) changes no prediction, at any iteration."""
    from trmlab.model.config import TransformerConfig
    answer_len = 0 if layout == "in-place" else 25
    knobs = {"train_difficulty": [4, 20] if task == "prefix_parity" else [1, 8]}
    tok, splits = load_splits(DataConfig(task=task, answer_len=answer_len, n_train=32, n_dev=32,
                                         n_test=0, n_ood=0, knobs=knobs))
    torch.manual_seed(0)
    cfg = (tiny_reasoner_config(answer_len=0, recursion="looped", loops_per_token=0.5, window=1, n_registers=1)
           if layout == "in-place" else TransformerConfig(d_model=32, n_layers=1, n_heads=2, answer_len=25, window=4))
    model = build_model(cfg, tok.vocab_size).eval()
    dev = splits["dev"]
    batch = dev.batch(torch.arange(len(dev)))
    scrambled = {**batch, "answer": torch.randint(4, tok.vocab_size, batch["answer"].shape)}
    a, b = model.predict(batch, 12), model.predict(scrambled, 12)
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("window", [1, 0])
def test_your_own_questions_of_any_size_reach_an_in_place_model(window, tmp_path, capsys):
    """`trmlab eval --file` and `solve` on an in-place parity model: lines longer than any trained
    question are read by a windowed model (up to its positions) and scored by length; a model with
    full attention refuses them saying why; an answer not written in place is left out, counted."""
    from trmlab.cli import main
    from trmlab.config import RunConfig, TrainConfig
    from trmlab.tasks.text.prefix_parity import prefix_parity
    from trmlab.training.trainer import train
    cfg = RunConfig(name="parity", model=tiny_reasoner_config(answer_len=0, recursion="looped", loops_per_token=0.5,
                                                             window=window, n_registers=1, max_positions=160),
                    data=DataConfig(task="prefix_parity", answer_len=0, n_train=64, n_dev=16, n_test=0, n_ood=0,
                                    max_question_len=16, knobs={"train_difficulty": [4, 16]}),
                    train=TrainConfig(steps=2, batch_size=8, warmup=1, eval_every=2, checkpoint_every=2,
                                      precision="fp32", threads=1))
    train(cfg, tmp_path / "parity", progress=False)
    bits = ["01101001", "1" * 40, "0110" * 25]  # 8 (trained), 40 and 100 bits (longer than any trained)
    lines = [{"question": q, "answer": prefix_parity(q)} for q in bits] + [{"question": "0110", "answer": "0"}]
    path = tmp_path / "mine.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    code = main(["eval", str(tmp_path / "parity"), "--file", str(path), "--until-settled", "2"])
    out, err = capsys.readouterr()
    assert "1 answer: not one character per question character (this model answers in place) (line 4)" in out
    if window:
        assert code == 0 and "on " + str(path) + ", 3 examples" in out
        assert "accuracy by question length (tokens): 8: " in out and "40: " in out and "100: " in out
        assert main(["solve", str(tmp_path / "parity"), bits[2], "--steps", "2"]) == 0
        assert [line.split(":")[0] for line in capsys.readouterr().out.splitlines() if line.startswith("step")] == [
            "step   1", "step   2"]
        assert main(["solve", str(tmp_path / "parity"), "1" * 200]) == 2  # past its 160 positions
        assert "reads at most 159: its positions" in capsys.readouterr().err
    else:
        assert code == 0 and ", 1 examples" in out  # only the trained length fits
        assert "2 question: too long (lines 2, 3)" in out
        assert main(["solve", str(tmp_path / "parity"), bits[1]]) == 2
        assert "reads at most 16: the longest it trained on" in capsys.readouterr().err
