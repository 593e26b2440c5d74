"""The recursion schemes: one network, trained four ways (`model/recursion.py`)."""

import pytest
import torch

from trmlab.model import build_model, count_params
from trmlab.model.recursion import draw_depth, state_residual, unroll
from trmlab.training.objectives import DeepSupervision, Unrolled, make_objective
from trmlab.data import IndexStream

from .conftest import tiny_reasoner_config

SCHEMES = ("trm", "looped", "recurrent_depth", "deq")


def _model(smoke_data, **kw):
    torch.manual_seed(0)
    return build_model(tiny_reasoner_config(**kw), smoke_data[0].vocab_size)


def _grad_calls(model, run) -> tuple[int, int]:
    """(network calls, calls with gradients) while `run()` runs."""
    calls = []
    handle = model.net.register_forward_pre_hook(lambda *_: calls.append(torch.is_grad_enabled()))
    try:
        run()
    finally:
        handle.remove()
    return len(calls), sum(calls)


def _batch(smoke_data, n=8):
    dev = smoke_data[1]["dev"]
    return dev.batch(torch.arange(n))


@pytest.mark.parametrize("injection", ["sum", "concat", "norm"])
def test_every_scheme_has_the_same_counted_parameters(smoke_data, injection):
    counts = {s: count_params(_model(smoke_data, recursion=s, injection=injection)) for s in SCHEMES}
    assert len(set(counts.values())) == 1, counts
    d = 32
    assert counts["trm"] - count_params(_model(smoke_data)) == (2 * d * d if injection == "concat" else 0)


def _unroll(model, batch, seed=0):
    x, ctx = model.embed(batch["question"], batch["question_len"])
    valid = model.valid_positions(batch["question_len"], x.shape[1])
    return unroll(model, x, ctx, valid, torch.Generator().manual_seed(seed))


def test_looped_backpropagates_through_every_iteration(smoke_data):
    model = _model(smoke_data, recursion="looped", n_sup=3)  # n=2, T=3: 9 calls an iteration
    batch = _batch(smoke_data)
    calls, with_grad = _grad_calls(model, lambda: _unroll(model, batch))
    assert (calls, with_grad) == (27, 27)
    out = _unroll(model, batch)
    assert len(out.readouts) == 1 and (out.free, out.grad) == (0, 3)
    progressive = _model(smoke_data, recursion="looped", n_sup=3, progressive=True)
    assert len(_unroll(progressive, batch).readouts) == 3


def test_recurrent_depth_truncates_backprop_to_the_last_iterations(smoke_data):
    model = _model(smoke_data, recursion="recurrent_depth", n_sup=4, grad_iters=1)
    batch = _batch(smoke_data)
    seen = set()
    for seed in range(6):
        calls, with_grad = _grad_calls(model, lambda: _unroll(model, batch, seed))
        out = _unroll(model, batch, seed)
        assert with_grad == 9 and calls == 9 * (out.free + out.grad)
        seen.add(out.free + out.grad)
    assert len(seen) > 1  # the depth is drawn per step


@pytest.mark.parametrize("dist", ["uniform", "lognormal"])
def test_recurrent_depth_draws_average_the_trained_depth(dist):
    g = torch.Generator().manual_seed(0)
    draws = [draw_depth(8, dist, g) for _ in range(4000)]
    assert min(draws) >= 1 and max(draws) <= 32
    assert abs(sum(draws) / len(draws) - 8) < 0.3


def test_recurrent_depth_starts_from_a_random_state(smoke_data):
    model = _model(smoke_data, recursion="recurrent_depth", n_sup=2, grad_iters=1)
    batch = _batch(smoke_data)
    a = _unroll(model, batch, seed=0).readouts[-1][0]
    b = _unroll(model, batch, seed=1).readouts[-1][0]
    assert not torch.allclose(a, b)


def test_trm_gradient_through_the_last_cycle_or_all(smoke_data):
    batch = _batch(smoke_data)
    for grad_cycles, expected in ((1, 3), (2, 6), (0, 9)):  # n=2: 3 calls a cycle, T=3
        model = _model(smoke_data, grad_cycles=grad_cycles)
        x, ctx = model.embed(batch["question"], batch["question_len"])
        y, z = model.initial_state(x)
        assert _grad_calls(model, lambda: model.supervision_step(x, y, z, ctx)) == (9, expected)


def test_deq_stops_at_the_tolerance_and_takes_a_phantom_or_implicit_gradient(smoke_data):
    batch = _batch(smoke_data)
    loose = _unroll(_model(smoke_data, recursion="deq", n_sup=6, deq_tol=10.0), batch)
    assert loose.free == 1  # any residual is below a tolerance of 10
    tight = _unroll(_model(smoke_data, recursion="deq", n_sup=6, deq_tol=1e-9), batch)
    assert tight.free == 6  # never converges that far: the iteration cap
    grads = {}
    for kind in ("phantom", "implicit"):
        model = _model(smoke_data, recursion="deq", n_sup=4, deq_grad=kind)
        logits, _ = _unroll(model, batch).readouts[-1]
        logits.float().square().mean().backward()
        grads[kind] = model.token_embed.weight.grad.clone()
        assert torch.isfinite(grads[kind]).all()
    assert not torch.allclose(grads["phantom"], grads["implicit"])


def test_state_residual_is_relative_to_the_new_state():
    new = (torch.ones(2, 3, 4), torch.ones(2, 3, 4))
    valid = torch.ones(2, 3, dtype=torch.bool)
    assert torch.equal(state_residual(new, new, valid), torch.zeros(2))
    old = (torch.zeros(2, 3, 4), torch.ones(2, 3, 4))
    torch.testing.assert_close(state_residual(old, new, valid), torch.full((2,), 0.5 ** 0.5))


def test_evaluation_reports_the_residual_after_every_iteration(smoke_data):
    model = _model(smoke_data, recursion="deq").eval()
    out = model.predict(_batch(smoke_data), 5)
    assert out["residuals"].shape == (5, 8) and (out["residuals"] > 0).all()


def test_unrolled_training_never_reads_the_labels_for_its_prediction(smoke_data):
    """The objective holds the labels: its predictions must not change with them."""
    tok, splits = smoke_data
    train = splits["train"]
    scrambled = type(train).__new__(type(train))
    scrambled.__dict__.update(train.__dict__, answer=torch.roll(train.answer, 1, dims=0))
    predictions = []
    for split in (train, scrambled):
        model = _model(smoke_data, recursion="recurrent_depth", grad_iters=1)
        objective = Unrolled(model, split, IndexStream(len(split), seed=0), 8, "cpu", seed=0)
        captured = []
        handle = model.head.register_forward_hook(lambda m, i, o: captured.append(o.argmax(-1)))
        objective.step()
        handle.remove()
        predictions.append(captured)
    assert all(torch.equal(a, b) for a, b in zip(*predictions))


def test_each_scheme_gets_its_objective(smoke_data):
    data = smoke_data[1]["train"]
    for scheme, kind in (("trm", DeepSupervision), ("looped", Unrolled), ("deq", Unrolled)):
        model = _model(smoke_data, recursion=scheme)
        assert isinstance(make_objective(model, data, IndexStream(len(data), seed=0), 4, "cpu"), kind)


def test_carry_reset_starts_every_supervision_step_afresh(smoke_data):
    """The state entering a row's second supervision step is the initial one only under reset."""
    data = smoke_data[1]["train"]
    for carry in ("kept", "reset"):
        model = _model(smoke_data, carry=carry, halting="fixed")
        objective = DeepSupervision(model, data, IndexStream(len(data), seed=0), 4, "cpu")
        objective.step()
        seen, original = [], model.iteration
        model.iteration = lambda x, y, z, ctx, g=None: seen.append(y.clone()) or original(x, y, z, ctx, g)
        objective.step()
        assert torch.equal(seen[0], model.y_init.expand_as(seen[0])) == (carry == "reset")


def test_sup_curriculum_grows_the_steps_per_row(smoke_data):
    data = smoke_data[1]["train"]
    model = _model(smoke_data, halting="fixed", n_sup=4, sup_curriculum=8)
    objective = DeepSupervision(model, data, IndexStream(len(data), seed=0), 4, "cpu")
    _, most = objective._step_limits(torch.ones(4, dtype=torch.long))
    assert most.tolist() == [1] * 4
    objective.updates = 6
    assert objective._step_limits(torch.ones(4, dtype=torch.long))[1].tolist() == [4] * 4


@pytest.mark.parametrize("halting", ["fixed", "random", "act"])
def test_trms_scheme_gives_a_longer_question_more_supervision_steps(smoke_data, halting):
    """With loops_per_token under recursion=trm a row's most steps are its T(n), read from its
    question's length (never its label); random and exploring minimums stay within 1..T(n)."""
    data = smoke_data[1]["train"]
    model = _model(smoke_data, halting=halting, n_sup=2, loops_per_token=0.5, halt_explore_prob=1.0)
    objective = DeepSupervision(model, data, IndexStream(len(data), seed=0), 8, "cpu")
    lengths = torch.tensor([1, 2, 3, 8, 9, 20, 40, 41])
    rule = torch.tensor([1, 1, 2, 4, 5, 10, 20, 21])
    fewest, most = objective._step_limits(lengths)
    if halting == "random":  # a drawn count, run to the end
        assert torch.equal(fewest, most) and bool(((most >= 1) & (most <= rule)).all())
    else:
        assert torch.equal(most, rule)
        assert torch.equal(fewest, rule) if halting == "fixed" else bool(((fewest >= 2) & (fewest <= rule.clamp(min=2))).all())
    objective.step()
    if halting == "fixed":
        c = objective.carry
        assert torch.equal(c["max_steps"], model.loop_counts(c["question_len"]))


def test_min_entropy_stop_reads_the_most_confident_step():
    from trmlab.evaluation.evaluate import EvalResult
    correct = torch.tensor([[True, False], [False, True], [False, False]])  # [S=3, N=2]
    entropy = torch.tensor([[0.5, 2.0], [1.0, 0.1], [0.2, 3.0]])  # example 0 most sure at step 3, example 1 at 2
    r = EvalResult(correct, torch.tensor([4, 4]), ["", ""], torch.tensor([1, 2]), entropy=entropy)
    h = r.halting()
    assert h["mean_min_entropy_step"] == 2.5 and h["accuracy_at_min_entropy"] == 0.5
    assert h["min_entropy_step_by_difficulty"] == {1: 3.0, 2: 2.0}


def test_stagger_desynchronises_the_rows(smoke_data):
    data = smoke_data[1]["train"]
    model = _model(smoke_data, halting="fixed", n_sup=3, stagger=True)
    objective = DeepSupervision(model, data, IndexStream(len(data), seed=0), 6, "cpu")
    objective.step()
    assert objective.carry["max_steps"].tolist() == [1, 2, 3, 1, 2, 3]
    objective.step()  # rows 0 and 3 were refilled after one step: now with the full N_sup
    assert objective.carry["max_steps"].tolist() == [3, 2, 3, 3, 2, 3]


def test_a_carry_reset_model_answers_after_one_step(smoke_data):
    """Trained only from the initial state, it is selected and headlined at step 1."""
    model = _model(smoke_data, carry="reset", n_sup=4).eval()
    assert model.cfg.trained_steps == 1 and model.predict(_batch(smoke_data))["tokens"].shape[0] == 1
    assert _model(smoke_data, n_sup=4).cfg.trained_steps == 4
