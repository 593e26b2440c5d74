"""No label may reach a prediction, and padding must not change one.

A "win" that vanishes when the answer is masked is a leak: these tests change the
labels of an evaluation batch, the padding, and the batch around an example, and
require every prediction to stay the same.
"""
import copy

import pytest
import torch

from trmlab.evaluation import evaluate
from trmlab.model import build_model
from trmlab.tokenizer import PAD
from trmlab.training.precision import autocast

from .conftest import tiny_reasoner_config


def _scramble_answers(split):
    """A copy of the split whose labels are all different (and random)."""
    other = copy.deepcopy(split)
    g = torch.Generator().manual_seed(1)
    valid = other.answer != PAD
    other.answer = torch.where(valid, torch.randint(4, 20, other.answer.shape, generator=g), PAD)
    return other


def test_changing_labels_changes_no_prediction(any_model, smoke_data):
    model = any_model
    _, splits = smoke_data
    dev = splits["dev"]
    batch = dev.batch(torch.arange(len(dev)))
    scrambled = _scramble_answers(dev).batch(torch.arange(len(dev)))
    assert not torch.equal(batch["answer"], scrambled["answer"])
    a = model.predict(batch, 6)
    b = model.predict(scrambled, 6)
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_question_padding_changes_no_prediction(any_model, smoke_data):
    model = any_model
    _, splits = smoke_data
    dev = splits["dev"]
    idx = torch.arange(16)
    tight = model.predict(dev.batch(idx), 5)
    padded = model.predict(dev.batch(idx, width=dev.question.shape[1] + 37), 5)
    assert torch.equal(tight["tokens"], padded["tokens"])
    if "halt_logits" in tight:
        torch.testing.assert_close(tight["halt_logits"], padded["halt_logits"], atol=1e-4, rtol=1e-4)


def test_prediction_does_not_depend_on_the_rest_of_the_batch(any_model, smoke_data):
    model = any_model
    _, splits = smoke_data
    dev = splits["dev"]
    together = model.predict(dev.batch(torch.arange(12)), 4)["tokens"]
    alone = torch.cat([model.predict(dev.batch(torch.tensor([i])), 4)["tokens"] for i in range(12)], dim=1)
    assert torch.equal(together, alone)


def test_evaluation_scores_against_labels_but_predicts_without_them(reasoner, smoke_data):
    tokenizer, splits = smoke_data
    dev = splits["dev"]
    honest = evaluate(reasoner, dev, tokenizer, steps=3, precision="fp32")
    scrambled = _scramble_answers(dev)
    again = evaluate(reasoner, scrambled, tokenizer, steps=3, precision="fp32")
    assert honest.predictions == again.predictions


@pytest.mark.parametrize("distinct", [False, True])
def test_reasoner_input_holds_no_answer(distinct, smoke_data):
    """The answer slots of x are learned placeholders, the same for every example
    (and, unless distinct_slots, the same for every slot)."""
    tok, splits = smoke_data
    model = build_model(tiny_reasoner_config(distinct_slots=distinct), tok.vocab_size)
    batch = splits["dev"].batch(torch.arange(8))
    x, _ = model.embed(batch["question"], batch["question_len"])
    R, F = model.cfg.n_registers, model.cfg.answer_len
    slots = x[:, R:R + F]
    assert torch.equal(slots, slots[:1].expand_as(slots))
    assert torch.equal(slots, slots[:, :1].expand_as(slots)) != distinct


@pytest.mark.parametrize("precision", ["fp32", "bf16"])  # SDPA's path, and the written-out CPU bf16 one
def test_transformer_training_never_sees_the_target_it_predicts(transformer, smoke_data, precision):
    """Teacher forcing is causal: logits at answer position j ignore answer tokens >= j."""
    _, splits = smoke_data
    batch = splits["dev"].batch(torch.arange(8))
    prompt = transformer.prompt(batch["question"], batch["question_len"])
    n_pad = batch["question"].shape[1] - batch["question_len"]
    answer = batch["answer"]
    j = 1
    a = torch.cat([prompt, answer[:, :-1]], 1)
    b = a.clone()
    b[:, prompt.shape[1] + j - 1:] = 7  # change the token at j and everything after it
    with autocast("cpu", precision):
        la = transformer.forward(a, n_pad, last=answer.shape[1])
        lb = transformer.forward(b, n_pad, last=answer.shape[1])
    torch.testing.assert_close(la[:, :j], lb[:, :j])
    assert not torch.allclose(la[:, j:], lb[:, j:])
