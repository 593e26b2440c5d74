"""The BPE tokenizer and the tokenizer choice in load_splits."""
import pytest

from trmlab.config import DataConfig
from trmlab.data import load_splits
from trmlab.tasks import make_task
from trmlab.tokenizer import (EOS, PAD, SPECIALS, BPETokenizer, CharTokenizer, build_tokenizer,
                              tokenizer_from_dict)


@pytest.fixture(scope="module")
def bpe():
    examples = make_task("word_problems").examples("train", 500)
    return BPETokenizer.train([t for e in examples for t in (e.question, e.answer)], vocab_size=400)


def test_specials_hold_ids_0_to_3(bpe):
    assert [bpe._tok.token_to_id(s) for s in SPECIALS] == [0, 1, 2, 3]
    assert bpe.vocab_size <= 400


@pytest.mark.parametrize("text", ["Ann has 123 pens. How many pens does Ann have?", "  two  spaces\tand tab ",
                                  "(7 - 2) * 3 = ?", "unseen words: zyzzyva, é, 中", ""])
def test_round_trip(bpe, text):
    assert bpe.decode(bpe.encode(text)) == text


def test_digits_are_one_token_each(bpe):
    pieces = [bpe._tok.id_to_token(i) for i in bpe.encode("12345 and 2024")]
    digits = [p for p in pieces if any(c.isdigit() for c in p)]
    assert digits == list("123452024")


def test_decode_stops_at_eos_and_drops_padding(bpe):
    ids = bpe.encode("42")
    assert bpe.decode(ids + [EOS] + bpe.encode("junk") + [PAD]) == "42"
    assert bpe.decode([PAD] + ids) == "42"


def test_serialises_and_trains_deterministically(bpe):
    again = tokenizer_from_dict(bpe.to_dict())
    assert isinstance(bpe.to_dict()["json"], str)
    assert again.encode("Bo buys 3 packs of 5.") == bpe.encode("Bo buys 3 packs of 5.")
    examples = make_task("word_problems").examples("train", 500)
    texts = [t for e in examples for t in (e.question, e.answer)]
    assert BPETokenizer.train(texts, 400).to_dict() == bpe.to_dict()
    assert isinstance(tokenizer_from_dict(CharTokenizer().to_dict()), CharTokenizer)
    with pytest.raises(ValueError, match="choose 'char', 'word' or 'bpe'"):
        build_tokenizer("wordpiece")


def test_load_splits_builds_the_chosen_tokenizer():
    cfg = DataConfig(task="arithmetic", n_train=300, n_dev=20, n_test=0, n_ood=20, answer_len=5,
                     tokenizer="bpe", bpe_vocab_size=300)
    tokenizer, splits = load_splits(cfg)
    assert tokenizer.kind == "bpe" and set(splits) == {"train", "dev", "ood"}
    dev = splits["dev"]
    assert [tokenizer.decode(row) for row in dev.answer] == [e.answer for e in dev.examples]
    assert splits["train"].question.shape[1] < max(len(e.question) for e in splits["train"].examples)
    char, _ = load_splits(DataConfig(task="arithmetic", n_train=10, n_dev=0, n_test=0, n_ood=0))
    assert char.kind == "char"
    only_dev, parts = load_splits(cfg, splits=("dev",))  # BPE still learns from train, not dev
    assert only_dev.to_dict() == tokenizer.to_dict() and set(parts) == {"dev"}
