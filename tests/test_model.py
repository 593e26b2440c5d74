import math

import pytest
import torch

from trmlab.data import IndexStream
from trmlab.model import (ReasonerConfig, TransformerConfig, build_model, count_params,
                          match_transformer)
from trmlab.model.blocks import rms_norm
from trmlab.model.losses import answer_loss, exactly_right, log_stablemax
from trmlab.tasks import answers_match
from trmlab.tokenizer import EOS, PAD, CharTokenizer
from trmlab.training.objectives import DeepSupervision

from .conftest import tiny_reasoner_config


def test_shapes(reasoner, transformer, smoke_data):
    _, splits = smoke_data
    batch = splits["dev"].batch(torch.arange(5))
    out = reasoner.predict(batch, 7)
    assert out["tokens"].shape == (7, 5, reasoner.cfg.answer_len)
    assert out["halt_logits"].shape == (7, 5)
    x, _ = reasoner.embed(batch["question"], batch["question_len"])
    assert x.shape == (5, reasoner.sequence_len(batch["question"].shape[1]), reasoner.cfg.d_model)
    assert transformer.predict(batch)["tokens"].shape == (1, 5, transformer.cfg.answer_len)
    loss, pred = transformer.loss(batch)
    assert loss.ndim == 0 and pred.shape == batch["answer"].shape


def test_token_mixer_variant_runs_with_fixed_width(smoke_data):
    tok, splits = smoke_data
    width = splits["dev"].question.shape[1] + 3
    model = build_model(tiny_reasoner_config(mixer="mlp", question_len=width), tok.vocab_size)
    out = model.predict(splits["dev"].batch(torch.arange(4), width=width), 2)
    assert out["tokens"].shape == (2, 4, 4)
    with pytest.raises(ValueError):
        model.predict(splits["dev"].batch(torch.arange(4)), 2)  # not the fixed width


@pytest.mark.parametrize("d,layers,heads", [(32, 1, 2), (128, 2, 4), (256, 2, 8)])
def test_transformer_matches_reasoner_params_within_2_percent(d, layers, heads):
    vocab = CharTokenizer().vocab_size
    reasoner = build_model(ReasonerConfig(d_model=d, n_layers=layers, n_heads=heads), vocab, device="meta")
    target = count_params(reasoner)
    cfg = match_transformer(target, TransformerConfig(n_heads=heads), vocab)
    got = count_params(build_model(cfg, vocab))
    assert abs(got - target) / target <= 0.02
    assert got == sum(p.numel() for p in build_model(cfg, vocab).parameters())


def test_halting_head_starts_far_from_halting(reasoner):
    assert torch.all(reasoner.q_head.weight == 0)
    assert torch.all(reasoner.q_head.bias == -5)


def test_only_the_last_cycle_carries_gradient(smoke_data, monkeypatch):
    tok, splits = smoke_data
    torch.manual_seed(0)
    model = build_model(tiny_reasoner_config(n_cycles=3), tok.vocab_size)
    batch = splits["dev"].batch(torch.arange(4))
    grad_modes = []
    original = model.latent_recursion

    def spy(*a, **k):
        grad_modes.append(torch.is_grad_enabled())
        return original(*a, **k)

    monkeypatch.setattr(model, "latent_recursion", spy)
    x, ctx = model.embed(batch["question"], batch["question_len"])
    y0, z0 = model.initial_state(x)
    y, z, logits, q = model.supervision_step(x, y0, z0, ctx)
    assert grad_modes == [False, False, True]

    # Same gradient as running the first T-1 cycles apart and starting from their (constant) result.
    logits.sum().backward()
    grad_full = model.token_embed.weight.grad.clone()
    model.zero_grad()
    monkeypatch.setattr(model, "latent_recursion", original)
    with torch.no_grad():
        y1, z1 = y0, z0
        for _ in range(2):
            y1, z1 = model.latent_recursion(x, y1, z1, ctx)
    x2, ctx2 = model.embed(batch["question"], batch["question_len"])
    y2, _ = model.latent_recursion(x2, y1.clone(), z1.clone(), ctx2)
    R, F = model.cfg.n_registers, model.cfg.answer_len
    model.head(y2[:, R:R + F]).sum().backward()
    torch.testing.assert_close(model.token_embed.weight.grad, grad_full)


def _carry_run(model, split, q_bias, explore=0.0, steps=6, batch=8):
    model.cfg.halt_explore_prob = explore
    torch.nn.init.constant_(model.q_head.bias, q_bias)
    obj = DeepSupervision(model, split, IndexStream(len(split), seed=0), batch, "cpu", seed=0)
    history = []
    for _ in range(steps):
        loss, stats = obj.step()
        loss.backward()
        model.zero_grad()
        history.append({k: v.clone() for k, v in obj.carry.items()})
    return obj, history


def test_carry_is_detached_and_rows_halt_at_n_sup(smoke_data):
    tok, splits = smoke_data
    model = build_model(tiny_reasoner_config(n_sup=3), tok.vocab_size)
    obj, history = _carry_run(model, splits["train"], q_bias=-5.0, steps=7)
    assert not obj.carry["y"].requires_grad and obj.carry["y"].grad_fn is None
    assert [int(h["steps"][0]) for h in history] == [1, 2, 3, 1, 2, 3, 1]
    assert [bool(h["halted"].all()) for h in history] == [False, False, True, False, False, True, False]
    # rows were refilled with new examples after halting
    assert not torch.equal(history[0]["index"], history[3]["index"])


def test_halting_head_stops_rows_early_and_refill_resets_state(smoke_data):
    tok, splits = smoke_data
    model = build_model(tiny_reasoner_config(n_sup=8), tok.vocab_size)
    obj, history = _carry_run(model, splits["train"], q_bias=+5.0, steps=3)
    assert all(bool(h["halted"].all()) for h in history)  # q > 0: every row stops after one step
    obj.step()  # refilled rows start from the fixed initial states
    assert torch.all(obj.carry["steps"] == 1)


def test_exploration_forces_a_minimum_number_of_steps(smoke_data):
    tok, splits = smoke_data
    model = build_model(tiny_reasoner_config(n_sup=6), tok.vocab_size)
    obj, history = _carry_run(model, splits["train"], q_bias=+5.0, explore=1.0, steps=1, batch=64)
    min_steps = history[0]["min_steps"]
    assert torch.all((min_steps >= 2) & (min_steps <= 6))
    assert not history[0]["halted"].any()  # all rows must continue past step 1
    obj, history = _carry_run(model, splits["train"], q_bias=+5.0, explore=0.1, steps=1, batch=2000)
    share = (history[0]["min_steps"] > 0).float().mean().item()
    assert 0.07 < share < 0.13


def test_loss_ignores_everything_after_eos():
    torch.manual_seed(0)
    targets = torch.tensor([[5, 6, EOS, PAD, PAD]])
    logits = torch.randn(1, 5, 20)
    changed = logits.clone()
    changed[:, 3:] = torch.randn(1, 2, 20) * 100
    assert torch.equal(answer_loss(logits, targets), answer_loss(changed, targets))
    changed[:, 2] += 50  # EOS position is part of the loss
    assert not torch.equal(answer_loss(logits, targets), answer_loss(changed, targets))


def test_loss_is_mean_per_example_not_per_token():
    logits = torch.zeros(2, 4, 10)
    short = torch.tensor([[5, EOS, PAD, PAD], [5, 6, 7, EOS]])
    # uniform logits: every example's mean token loss is log(10), whatever its length
    assert answer_loss(logits, short).item() == pytest.approx(math.log(10), rel=1e-5)


def test_stablemax_matches_its_definition():
    x = torch.tensor([[-2.0, 0.0, 3.0]])
    s = torch.tensor([1 / 3, 1.0, 4.0], dtype=torch.float64)
    torch.testing.assert_close(log_stablemax(x)[0], torch.log(s / s.sum()))
    loss = answer_loss(x[:, None], torch.tensor([[2]]), "stablemax")
    assert loss.item() == pytest.approx(-math.log(4 / (1 / 3 + 1 + 4)), rel=1e-6)


def test_decoding_stops_at_eos_and_token_match_equals_string_match():
    tok = CharTokenizer()
    target = torch.tensor([tok.encode("12") + [EOS, PAD]])
    cases = {"12": True, "125": False, "1": False, "": False}
    for text, right in cases.items():
        ids = tok.encode(text) + [EOS]
        pred = torch.tensor([(ids + [9] * 4)[:4]])
        assert tok.decode(pred[0]) == text
        assert bool(exactly_right(pred, target)[0]) == right == answers_match(text, "12")
    no_eos = torch.tensor([tok.encode("1234")])
    assert not bool(exactly_right(no_eos, target)[0])


def test_rms_norm_unit_scale():
    x = torch.randn(3, 7, 16) * 10
    y = rms_norm(x)
    torch.testing.assert_close(y.pow(2).mean(-1), torch.ones(3, 7), atol=1e-4, rtol=1e-4)
