"""data.augment: label-preserving relabellings of text tasks, applied afresh in training."""
import random
import re
from dataclasses import replace

import pytest
import torch

from trmlab.config import DataConfig, preset, transformer_twin
from trmlab.data import load_splits
from trmlab.tasks import make_task
from trmlab.tasks.base import augmented, in_split
from trmlab.tasks.text.phop import hop_path, split_sequence
from trmlab.tasks.text.templates import NAMES
from trmlab.training.trainer import Trainer

from .test_training import assert_resumes_exactly

AUGMENTED = ["phop", "variable_chains", "syllogisms", "ordering", "word_problems", "story_arithmetic"]


def draws(name, n=60):
    task = make_task(name)
    rng = random.Random(0)
    for ex in task.examples("train", n, seed=0):
        yield task, ex, augmented(task, ex, rng)


@pytest.mark.parametrize("name", AUGMENTED)
def test_augmentation_keeps_lengths_changes_most_questions_and_stays_in_train(name):
    pairs = list(draws(name))
    assert all(len(a.question) == len(ex.question) and a.difficulty == ex.difficulty for _, ex, a in pairs)
    assert all(in_split(a.question, "train") for _, _, a in pairs)
    changed = sum(a.question != ex.question for _, ex, a in pairs)
    assert changed >= 0.75 * len(pairs), changed


def test_phop_relabelled_answer_is_the_hop_path_s_answer():
    for _, ex, a in draws("phop", 200):
        seq, rest = split_sequence(a.question)
        p = int(re.search(r"\d+", rest).group())
        path = hop_path(seq, p)
        assert path is not None and seq[path[-1]] == a.answer  # the task's own solver
        assert path == [int(step.split(":")[0]) for step in ex.solution.split()]  # the same positions


def _evaluate_chain(question: str) -> int:
    """An independent interpreter of variable_chains' symbol questions."""
    env, asked = {}, None
    statements = [s.strip() for s in re.split(r"\.\s", question.rstrip(".") + " ") if s.strip()]
    todo = []
    for s in statements:
        if "?" in s or s.startswith(("What is", "Find")):
            asked = re.search(r"\b([a-z])\b", s.replace("What is", "").replace("Find", "")).group(1)
        else:
            todo.append(s)
    while todo:
        for s in list(todo):
            lhs, rhs = [x.strip() for x in s.split("=")]
            try:
                env[lhs] = eval(rhs, {}, dict(env))  # noqa: S307 - our own letters, digits and + -
                todo.remove(s)
            except NameError:
                pass
    return env[asked]


def test_variable_chains_renamed_symbols_still_evaluate_to_the_answer():
    task = make_task("variable_chains", words=0.0)
    rng = random.Random(1)
    for ex in task.examples("train", 100, seed=0):
        a = augmented(task, ex, rng)
        assert str(_evaluate_chain(a.question)) == a.answer == ex.answer


def _renaming(ex, a) -> dict:
    """The word-for-word map from ex's question to a's (same lengths, same word positions)."""
    pairs = zip(re.findall(r"\w+", ex.question), re.findall(r"\w+", a.question))
    return {u: v for u, v in pairs if u != v}


@pytest.mark.parametrize("name", ["syllogisms", "ordering", "word_problems", "story_arithmetic",
                                  "variable_chains"])
def test_renaming_is_consistent_and_the_answer_follows_it(name):
    for _, ex, a in draws(name, 150):
        mapping = {}
        for u, v in zip(re.findall(r"\w+", ex.question), re.findall(r"\w+", a.question)):
            assert mapping.setdefault(u, v) == v, (ex.question, a.question)  # one word, one image
        assert len(set(mapping.values())) == len(mapping)  # a bijection
        names = {u.lower(): v.lower() for u, v in mapping.items() if u in NAMES}
        assert a.answer == names.get(ex.answer, ex.answer)  # a name renamed with it, anything else unchanged


def test_story_arithmetic_keeps_pronouns_right():
    for _, ex, a in draws("story_arithmetic", 100):
        assert re.findall(r"\b(He|She)\b", a.question) == re.findall(r"\b(He|She)\b", ex.question)
        assert _renaming(ex, a).keys() <= set(NAMES) | {w for w in re.findall(r"\w+", ex.question) if w.islower()}


def test_augment_is_checked_like_every_field():
    for bad in ("yes", 1):
        with pytest.raises(ValueError, match=r"data.augment=.*: must be True or False"):
            DataConfig(augment=bad)


@pytest.mark.parametrize("name", ["arithmetic", "nary_addition", "prefix_parity", "long_addition", "shell_game"])
def test_augment_is_a_one_line_error_on_tasks_without_one(name):
    cfg = DataConfig(task=name, augment=True, n_train=4, n_dev=0, n_test=0, n_ood=0,
                     answer_len=0 if make_task(name).in_place else 8)
    with pytest.raises(ValueError, match=rf"data.augment=True: task '{name}' has no label-preserving"):
        load_splits(cfg)


def test_augmented_rows_differ_from_the_stored_ones_and_keep_width():
    cfg = replace(preset("smoke").data, augment=True)
    tok, splits = load_splits(cfg)
    train = splits["train"]
    assert train.relabel is not None
    index = torch.arange(16)
    plain = train.batch(index)
    out = train.relabel(train, index, plain, torch.Generator().manual_seed(0))
    assert out["question"].shape == plain["question"].shape
    assert (out["question"] != plain["question"]).any(1).sum() >= 8
    assert torch.equal(out["question_len"], plain["question_len"])
    assert torch.equal(out["answer"], plain["answer"])  # story answers are numbers


@pytest.mark.parametrize("kind", ["reasoner", "transformer"])
def test_training_with_augmentation_resumes_exactly(kind, tmp_path):
    cfg = preset("smoke")
    cfg = transformer_twin(cfg) if kind == "transformer" else cfg
    cfg.data = replace(cfg.data, augment=True, n_train=64, n_dev=16, n_test=16, n_ood=0)
    cfg.train = replace(cfg.train, steps=5, eval_every=5, checkpoint_every=5, log_every=1, batch_size=8)
    losses = assert_resumes_exactly(cfg, tmp_path, load_splits(cfg.data))
    plain = Trainer(replace(cfg, data=replace(cfg.data, augment=False)), tmp_path / "c",
                    data=load_splits(replace(cfg.data, augment=False)), progress=False)
    assert [plain.train_step()[0] for _ in range(5)] != losses  # augmentation changes what is trained on
