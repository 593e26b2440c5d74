"""In-place sorting (issue 35's first task): the answer re-derived by counting, in place and of the
question's length at every size, duplicates included; the symbols knob checked; the study's data
path encodes it in place."""
import pytest

from trmlab.config import DataConfig
from trmlab.data import load_splits
from trmlab.tasks import make_task


def counting_sort(items: str) -> str:
    """An independent reading: count each digit, then write the counts out in order."""
    counts = [0] * 10
    for c in items:
        counts[int(c)] += 1
    return "".join(str(d) * k for d, k in enumerate(counts))


@pytest.mark.parametrize("size", [1, 4, 16, 64])
def test_the_answer_is_the_question_sorted(size):
    task = make_task("in_place_sort", train_difficulty=(size, size))
    examples = task.examples("train", 5 if size == 1 else 100, seed=2)  # only 10 one-digit questions exist
    for ex in examples:
        assert len(ex.question) == len(ex.answer) == ex.difficulty == size
        assert ex.answer == counting_sort(ex.question) and set(ex.question) <= set("0123456789")
    if size >= 16:  # duplicates are allowed, and common
        assert any(len(set(ex.question)) < size for ex in examples)


def test_fewer_symbols_mean_more_duplicates_and_a_bad_value_is_an_error():
    two = make_task("in_place_sort", symbols=2).examples("train", 50)
    assert {c for ex in two for c in ex.question} == {"0", "1"}
    with pytest.raises(ValueError, match="symbols=11"):
        make_task("in_place_sort", symbols=11)


def test_it_is_encoded_in_place_and_the_ood_split_is_longer():
    tok, splits = load_splits(DataConfig(task="in_place_sort", answer_len=0, n_train=50, n_dev=10, n_test=10,
                                         n_ood=10, max_question_len=32))
    for split in splits.values():
        assert split.answer.shape[1] == split.question.shape[1]
        for row, ex in enumerate(split.examples):
            assert tok.decode(split.answer[row, :len(ex.answer)].tolist()) == ex.answer
    assert {ex.difficulty for ex in splits["ood"].examples} == {32}
    assert max(ex.difficulty for ex in splits["train"].examples) <= 16
