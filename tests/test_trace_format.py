"""The trace answer format (knob `trace`) of the in-place state-tracking tasks: each input copied,
then the state after it. Checked against simulations written here, not the tasks' own code."""
import pytest
import torch

from trmlab.config import DataConfig
from trmlab.data import load_splits
from trmlab.tasks import SPLITS, answers_match, make_task
from trmlab.tasks.base import in_split

SIZES = {"prefix_parity": [(4, 16), (32, 32), (64, 64)], "shell_game": [(1, 8), (16, 16), (64, 64)]}
SEP = {"prefix_parity": " ", "shell_game": ","}


def simulate(task: str, question: str) -> tuple[list[str], list[str]]:
    """(inputs, states after each) by direct simulation: parity by counting ones, the ball by
    moving whole cups around."""
    if task == "prefix_parity":
        return list(question), [str(question[:i + 1].count("1") % 2) for i in range(len(question))]
    moves, under = question.split(","), {"A": True, "B": False, "C": False}  # cup -> holds the ball
    states = []
    for x, y in moves:
        under[x], under[y] = under[y], under[x]
        states.append(next(cup for cup, ball in under.items() if ball))
    return moves, states


def parse(task: str, trace: str) -> tuple[list[str], list[str]]:
    items = [item.split(">") for item in trace.split(SEP[task])]
    assert all(len(item) == 2 for item in items), trace
    return [i for i, _ in items], [s for _, s in items]


def test_the_documented_examples():
    from trmlab.tasks.text.prefix_parity import parity_trace
    from trmlab.tasks.text.shell_game import ball_trace
    assert parity_trace("1011") == "1>1 0>1 1>0 1>1"
    assert ball_trace("AB,CA,BC") == "AB>B,CA>B,BC>C"  # CA leaves the ball under B


@pytest.mark.parametrize("task", SIZES)
def test_the_trace_is_the_simulated_run_and_its_states_the_in_place_answer(task):
    for size in SIZES[task]:
        traced = make_task(task, trace=True, train_difficulty=size).examples("train", 100, seed=5)
        plain = make_task(task, train_difficulty=size).examples("train", 100, seed=5)
        for t, p in zip(traced, plain):
            inputs, states = simulate(task, t.question)
            assert parse(task, t.answer) == (inputs, states)
            assert "".join(states) == p.answer.replace("_", "")
            assert t.difficulty == p.difficulty == len(states)


@pytest.mark.parametrize("task", SIZES)
def test_questions_and_their_splits_are_the_same_with_and_without_the_trace(task):
    on, off = make_task(task, trace=True), make_task(task)
    assert on.in_place is False and off.in_place is True
    for split in SPLITS:
        a, b = (t.examples(split, 200, seed=2) for t in (on, off))
        same = lambda e: (e.question, e.difficulty, e.solution)  # noqa: E731
        assert list(map(same, a)) == list(map(same, b))
        assert all(in_split(e.question, split) for e in a)


def _splits(task: str, trace: bool):
    knobs = {"ood_difficulty": [64, 64], **({"trace": True} if trace else {})}  # ood: 64 moves, 5 slots each
    return load_splits(DataConfig(task=task, knobs=knobs, answer_len=320 if trace else 0, tokenizer="char",
                                  n_train=50, n_dev=20, n_test=20, n_ood=20, max_question_len=200))


@pytest.mark.parametrize("task", SIZES)
def test_a_trace_config_encodes_and_round_trips(task):
    tok, splits = _splits(task, trace=True)
    for split in splits.values():
        assert not split.exact and split.skipped == 0
        for row, ex in zip(split.answer, split.examples):
            assert tok.decode(row) == ex.answer and answers_match(ex.answer.lower(), ex.answer)


@pytest.mark.parametrize("task", SIZES)
def test_the_question_never_shows_the_trace_and_encodes_the_same(task):
    tok, traced = _splits(task, trace=True)
    plain_tok, plain = _splits(task, trace=False)
    for name, split in traced.items():
        assert not any(">" in e.question for e in split.examples)
        assert torch.equal(split.question, plain[name].question)
        assert all(tok.encode(e.question) == plain_tok.encode(e.question) for e in split.examples)


def _edit(task: str, trace: str, k: int, state=None, copy=None) -> str:
    """The trace with item k's state and/or copied input replaced."""
    items = [item.split(">") for item in trace.split(SEP[task])]
    items[k] = [copy or items[k][0], state or items[k][1]]
    return SEP[task].join(">".join(item) for item in items)


def _other(task: str, state: str) -> str:
    return {"0": "1", "1": "0"}[state] if task == "prefix_parity" else {"A": "B", "B": "C", "C": "A"}[state]


def _score(task, examples, predictions):
    out = make_task(task, trace=True).score_predictions(examples, predictions)
    return out["states_accuracy"], out["final_accuracy"], out["copy_accuracy"]


@pytest.mark.parametrize("task", SIZES)
def test_score_predictions_reads_states_final_and_copy(task):
    exs = [e for e in make_task(task, trace=True, train_difficulty=(4, 8)).examples("dev", 20) if e.difficulty > 1]
    right = [e.answer for e in exs]
    assert _score(task, exs, right) == (1, 1, 1)
    states = [parse(task, a)[1] for a in right]
    assert _score(task, exs, [_edit(task, a, 0, _other(task, s[0])) for a, s in zip(right, states)]) == (0, 1, 1)
    assert _score(task, exs, [_edit(task, a, -1, _other(task, s[-1])) for a, s in zip(right, states)]) == (0, 0, 1)
    only_last = []
    for a, s in zip(right, states):
        for k in range(len(s) - 1):
            a = _edit(task, a, k, _other(task, s[k]))
        only_last.append(a)
    assert _score(task, exs, only_last) == (0, 1, 1)
    # the other bit; the move written backwards (the same swap, so the states stay right)
    miscopy = (lambda x: {"0": "1", "1": "0"}[x]) if task == "prefix_parity" else (lambda x: x[::-1])
    bad_copy = [_edit(task, a, 0, copy=miscopy(parse(task, a)[0][0])) for a in right]
    assert _score(task, exs, bad_copy) == (1, 1, 0)
    sep = SEP[task]
    for malformed in ([a.rsplit(sep, 1)[0] for a in right], [a + sep + a.split(sep)[-1] for a in right],
                      [a.replace(">", "", 1) for a in right], ["" for _ in right]):
        assert _score(task, exs, malformed) == (0, 0, 0)


@pytest.mark.parametrize("task", SIZES)
def test_scores_follow_answers_match_normalisation_and_are_off_without_the_trace(task):
    exs = make_task(task, trace=True).examples("test", 10)
    assert _score(task, exs, [" " + e.answer.lower() + "\n" for e in exs]) == (1, 1, 1)
    assert make_task(task).score_predictions(exs, [e.answer for e in exs]) == {}
    assert make_task(task, trace=True).score_predictions([], []) == {
        "states_accuracy": 0.0, "final_accuracy": 0.0, "copy_accuracy": 0.0}
