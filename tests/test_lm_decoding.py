"""The transformer LM's cached decoding, random positions (Ruoss et al. 2023) and answer FLOPs.

Cached greedy decoding must give exactly the tokens of re-running the whole sequence for every
token (the old `predict`, kept here as `uncached_predict`); random positions must be a sorted
draw per row, fresh in training and fixed at test; `answer_flops` must count what decoding runs.
"""
import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from trmlab.model import HRMConfig, ReasonerConfig, build_model
from trmlab.model.blocks import KVCache
from trmlab.model.transformer import TransformerLM
from trmlab.tokenizer import EOS, PAD

from .conftest import tiny_transformer_config

VOCAB = 24


def lm(seed=0, **kw) -> TransformerLM:
    torch.manual_seed(seed)
    cfg = tiny_transformer_config(**{"n_layers": 2, "answer_len": 12, "max_positions": 128, **kw})
    return build_model(cfg, VOCAB).eval()


def questions(lengths, seed=1) -> dict:
    """A batch of random questions of these lengths, right-padded (as the data gives them)."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor(lengths)
    width = int(lengths.max())
    q = torch.randint(4, VOCAB, (len(lengths), width), generator=g)
    q = torch.where(torch.arange(width)[None] < lengths[:, None], q, PAD)
    return {"question": q, "question_len": lengths, "answer": torch.full((len(lengths), 2), PAD)}


def eos_bias(model: TransformerLM, bias: float) -> TransformerLM:
    """The model with `bias` added to the EOS logit (-100: it never ends; +100: it ends at once)."""
    head = nn.Linear(model.cfg.d_model, model.vocab_size)
    head.weight.data.copy_(model.head.weight.data)
    head.bias.data.zero_()
    head.bias.data[EOS] = bias
    model.head = head
    return model


@torch.no_grad()
def uncached_predict(model: TransformerLM, batch: dict) -> dict:
    """The old `predict`: the whole sequence re-run for every token (at the positions `predict` uses)."""
    cfg = model.cfg
    tokens = model.prompt(batch["question"], batch["question_len"])
    n_pad = batch["question"].shape[1] - batch["question_len"]
    positions = model.positions(n_pad, tokens.shape[1] + cfg.answer_len - 1,
                                batch["question_len"] + 1 + cfg.answer_len)
    out = []
    done = torch.zeros(tokens.shape[0], dtype=torch.bool)
    for _ in range(cfg.answer_len):
        nxt = model.forward(tokens, n_pad, last=1, positions=positions)[:, -1].argmax(-1)
        nxt = torch.where(done, PAD, nxt)
        done |= nxt == EOS
        out.append(nxt)
        tokens = torch.cat([tokens, nxt[:, None]], dim=1)
        if bool(done.all()):
            break
    steps = len(out)
    out += [torch.full_like(out[0], PAD)] * (cfg.answer_len - len(out))
    return {"tokens": torch.stack(out, dim=1)[None], "decode_steps": torch.tensor(steps)}


CASES = [dict(positions=p, window=w) for p in ("rope", "none", "random") for w in (0, 3)]


@pytest.mark.parametrize("kw", CASES, ids=lambda kw: f"{kw['positions']}-window{kw['window']}")
@pytest.mark.parametrize("eos", [-100.0, 0.0], ids=["to-the-end", "as-initialised"])
def test_cached_decoding_gives_the_tokens_of_rerunning_the_sequence(kw, eos):
    batch = questions([5, 17, 1, 9, 30, 12])
    for seed in range(3):
        model = eos_bias(lm(seed, **kw), eos) if eos else lm(seed, **kw)
        cached, reference = model.predict(batch), uncached_predict(model, batch)
        assert torch.equal(cached["tokens"], reference["tokens"])
        assert int(cached["decode_steps"]) == int(reference["decode_steps"])
        if eos:
            assert int(cached["decode_steps"]) == model.cfg.answer_len


@pytest.mark.parametrize("kw", CASES + [dict(positions="coupled", window=w) for w in (0, 3)],
                         ids=lambda kw: f"{kw['positions']}-window{kw['window']}")
def test_cached_logits_match_one_causal_forward(kw):
    """Teacher-forced: the prompt and then one token per step over the cache give the logits one
    forward over the whole sequence gives at those positions."""
    model = lm(**kw)
    batch = questions([5, 17, 1, 9])
    prompt = model.prompt(batch["question"], batch["question_len"])
    n_pad = batch["question"].shape[1] - batch["question_len"]
    K = model.cfg.answer_len - 1
    fed = torch.randint(4, VOCAB, (4, K), generator=torch.Generator().manual_seed(2))
    positions = model.positions(n_pad, prompt.shape[1] + K, batch["question_len"] + 1 + model.cfg.answer_len,
                                question_len=batch["question_len"])
    with torch.no_grad():
        whole = model.forward(torch.cat([prompt, fed], 1), n_pad, last=K + 1, positions=positions)
        cache = [KVCache(prompt.shape[1] + K) for _ in model.net.blocks]
        steps = [model.forward(prompt, n_pad, 1, positions, cache)]
        steps += [model.forward(fed[:, t:t + 1], n_pad, 1, positions, cache) for t in range(K)]
    torch.testing.assert_close(torch.cat(steps, 1), whole, atol=1e-5, rtol=1e-5)


def test_decoding_stops_when_every_row_has_ended():
    model = eos_bias(lm(), 100.0)
    out = model.predict(questions([3, 8]))
    assert int(out["decode_steps"]) == 1
    assert torch.equal(out["tokens"][0, :, 0], torch.tensor([EOS, EOS]))
    assert bool((out["tokens"][0, :, 1:] == PAD).all())


def test_a_sequence_past_max_positions_is_a_clear_error():
    for positions in ("rope", "random"):
        model = lm(positions=positions, max_positions=30)  # 17 + SEP + 12 = 30 fits; 18 does not
        model.predict(questions([17]))
        with pytest.raises(ValueError, match="max_positions"):
            model.predict(questions([18]))
    batch = questions([20, 3])
    batch["answer"] = torch.tensor([[5] * 9 + [EOS], [5, EOS] + [PAD] * 8])
    # training draws for the longest the row may grow, as at test: 20 + SEP + answer_len 12 = 33
    with pytest.raises(ValueError, match="max_positions >= 33"):
        lm(positions="random", max_positions=30).train().loss(batch)


# ----- random positions -----

def _check_draw(pos, n_pad, count, M):
    for row, pad, n in zip(pos, n_pad.tolist(), count.tolist()):
        assert bool((row[:pad] == 0).all())  # padding: position 0
        real = row[pad:pad + n]
        assert bool((real[1:] > real[:-1]).all()) and int(real.min()) >= 0 and int(real.max()) < M
        assert bool((row[pad + n:] == 0).all())


def test_random_positions_are_sorted_distinct_and_within_range():
    model = lm(positions="random", max_positions=64)
    n_pad = torch.tensor([0, 3, 10, 1])
    count = torch.tensor([40, 37, 30, 20])  # row 3: the columns past its 20 tokens get 0
    for fresh in (True, False):
        pos = model.positions(n_pad, 40, count, fresh=fresh)
        _check_draw(pos, n_pad, count, 64)
    full = model.positions(torch.tensor([0]), 64, torch.tensor([64]))
    assert torch.equal(full[0], torch.arange(64))  # every position taken
    rope = lm(positions="rope").positions(n_pad, 40, count)
    assert torch.equal(rope, (torch.arange(40)[None] - n_pad[:, None]).clamp(min=0))


def test_training_draws_afresh_per_row_from_the_global_rng():
    model = lm(positions="random", max_positions=512)
    n_pad, count = torch.zeros(2, dtype=torch.long), torch.tensor([30, 30])
    torch.manual_seed(5)
    a = model.positions(n_pad, 30, count, fresh=True)
    b = model.positions(n_pad, 30, count, fresh=True)
    torch.manual_seed(5)
    assert torch.equal(model.positions(n_pad, 30, count, fresh=True), a)  # seeded: repeatable
    assert not torch.equal(a, b) and not torch.equal(a[0], a[1])  # a new draw per step and per row


def test_test_time_positions_depend_only_on_the_row_length():
    model = lm(positions="random", max_positions=512)
    torch.manual_seed(1)
    a = model.positions(torch.tensor([0, 2]), 40, torch.tensor([40, 38]))
    torch.manual_seed(2)
    b = model.positions(torch.tensor([5, 0]), 45, torch.tensor([38, 45]))
    assert torch.equal(a[1, 2:], b[0, 5:43])  # the same length: the same positions, any padding or RNG
    assert not torch.equal(a[0], a[1, :])
    # and they differ from 0, 1, ...: a real draw over [0, 512)
    assert int(a[0, -1]) > 40


def test_random_position_predictions_are_repeatable_and_per_row():
    model = lm(positions="random", max_positions=128)
    batch = questions([5, 17, 1, 9, 30, 12])
    torch.manual_seed(0)
    first = model.predict(batch)["tokens"][0]
    torch.manual_seed(1)
    assert torch.equal(model.predict(batch)["tokens"][0], first)  # the global RNG plays no part
    order = torch.tensor([4, 2, 0, 5, 1, 3])
    shuffled = {k: v[order] for k, v in batch.items()}
    assert torch.equal(model.predict(shuffled)["tokens"][0], first[order])
    wide = dict(batch, question=torch.nn.functional.pad(batch["question"], (0, 20), value=PAD))
    assert torch.equal(model.predict(wide)["tokens"][0], first)
    alone = torch.cat([model.predict({k: v[i:i + 1] for k, v in batch.items()})["tokens"][0] for i in range(6)])
    assert torch.equal(alone, first)


@pytest.mark.parametrize("cls", [ReasonerConfig, HRMConfig])
def test_only_the_lm_takes_random_positions(cls):
    with pytest.raises(ValueError, match="model.positions='random'.*transformer LM only"):
        cls(positions="random")
    assert tiny_transformer_config(positions="random").positions == "random"


def test_training_with_random_positions_lowers_the_loss(smoke_data):
    tok, splits = smoke_data
    torch.manual_seed(0)
    model = build_model(tiny_transformer_config(positions="random", max_positions=256), tok.vocab_size)
    batch = splits["train"].batch(torch.arange(32))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        loss, _ = model.loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


# ----- answer FLOPs -----

def _direct_count(model: TransformerLM, question_len: int, generated: int) -> int:
    """Token by token: each token through the network attends to the keys so far (at most window + 1),
    and the head runs at the prompt's last token and at every generated token but the last."""
    c = model.cfg
    d, V = c.d_model, model.vocab_size
    hidden = model.net.blocks[0].mlp.down.in_features
    per_token = 2 * d * 3 * d + 2 * d * d + 2 * d * 2 * hidden + 2 * hidden * d  # qkv, out, gate_up, down
    total = 0
    n = question_len + max(generated, 1)  # question, SEP and every written token but the last
    for i in range(n):
        keys = min(i + 1, c.window + 1) if c.window else i + 1
        total += c.n_layers * (per_token + 2 * 2 * keys * d)
    return total + max(generated, 1) * 2 * d * V


@pytest.mark.parametrize("window", [0, 2])
def test_answer_flops_counts_the_cached_decoding(window):
    model = lm(window=window)
    c = model.cfg
    for q in (1, 5, 9):
        for g in (0, 1, 2, 7):
            assert model.answer_flops(q, g) == _direct_count(model, q, g), (q, g)
        prompt = model.answer_flops(q, 0)
        assert prompt == model.answer_flops(q, 1)  # the prompt's forward and one head
        per_token = [model.answer_flops(q, g + 1) - model.answer_flops(q, g) for g in range(1, 8)]
        if window and q + 1 > window + 1:  # past the window: the same cost for every token
            assert len(set(per_token)) == 1
        else:  # attention grows by one key per token: linear growth of the per-token cost
            assert len({b - a for a, b in zip(per_token, per_token[1:])}) == 1
    # The projections, MLP and head as torch counts them in a real cached decoding; attention by hand.
    model = eos_bias(model, -100.0)
    batch = questions([9])
    with FlopCounterMode(display=False) as counter:
        out = model.predict(batch)
    g = int(out["decode_steps"])
    assert g == c.answer_len
    n = 9 + g
    keys = sum(min(i + 1, window + 1) if window else i + 1 for i in range(n))
    assert counter.get_total_flops() + c.n_layers * 4 * keys * c.d_model == model.answer_flops(9, g)


def test_coupled_positions_put_each_answer_token_at_its_question_tokens_position():
    """Position coupling: the question 0..n-1, then SEP and the answer 0, 1, ... again, so the column
    that writes answer token j sits at question token j's position; padding changes nothing."""
    model = lm(positions="coupled")
    batch = questions([3, 5])
    n_pad = batch["question"].shape[1] - batch["question_len"]
    width = batch["question"].shape[1] + 1 + 4
    pos = model.positions(n_pad, width, batch["question_len"] + 1 + 4, question_len=batch["question_len"])
    assert pos[0].tolist() == [0, 0, 0, 1, 2, 0, 1, 2, 3, 4]  # two PAD columns, 3 question tokens, SEP, answer
    assert pos[1].tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="coupled positions depend on the question's length"):
        model.forward(model.prompt(batch["question"], batch["question_len"]), n_pad, last=1)
    wide = {**batch, "question": nn.functional.pad(batch["question"], (0, 7), value=PAD)}
    assert torch.equal(model.predict(wide)["tokens"], model.predict(batch)["tokens"])


def test_the_cache_hands_out_whole_spans_of_keys_zero_past_the_filled_ones():
    """A key length that changes every step would make oneDNN build a bf16 matmul per length (a
    decoding process grew past 20 GB); spans of KVCache.BUCKET keep a handful of shapes."""
    cache = KVCache(150)
    k, v = cache.extend(torch.ones(2, 4, 70, 8), torch.ones(2, 4, 70, 8))
    assert k.shape[2] == v.shape[2] == 2 * KVCache.BUCKET and cache.length == 70
    assert bool((k[:, :, 70:] == 0).all()) and bool((v[:, :, 70:] == 0).all())
    k, _ = cache.extend(torch.ones(2, 4, 70, 8), torch.ones(2, 4, 70, 8))
    assert k.shape[2] == 150  # never past the capacity
