"""Mazes bigger than trained: the 2-D window and positions (`model.grid_2d`) let one model read any
square board with the same local rule, and the maze's `ood_size` draws bigger boards."""
import pytest
import torch

from trmlab.config import DataConfig
from trmlab.data import encode, load_splits
from trmlab.evaluation import evaluate
from trmlab.model import build_model
from trmlab.model.blocks import Rotary, apply_rotary
from trmlab.model.reasoner import board_positions
from trmlab.tasks.make import make_task
from trmlab.tokenizer import PAD, SPECIALS, CharTokenizer

from .conftest import tiny_reasoner_config
from .test_maze import assert_valid, layouts

TOK = CharTokenizer("# SGo")


def board_model(**kw):
    torch.manual_seed(0)
    cfg = tiny_reasoner_config(**{"answer_len": 0, "n_registers": 2, "grid_2d": True, "window": 1,
                                  "n_latent": 1, "n_cycles": 1, "n_sup": 2, **kw})
    return build_model(cfg, TOK.vocab_size).eval()


def random_boards(sides, width=None, seed=0):
    """(question [B, width], question_len [B]) of random boards, right-padded with PAD."""
    g = torch.Generator().manual_seed(seed)
    width = width or max(sides) ** 2
    question = torch.full((len(sides), width), PAD)
    for i, s in enumerate(sides):
        question[i, :s * s] = torch.randint(len(SPECIALS), TOK.vocab_size, (s * s,), generator=g)
    return question, torch.tensor([s * s for s in sides])


def allowed_keys(model, question, question_len):
    _, ctx = model.embed(question, question_len)
    return ctx.bias[:, 0] == 0  # [B, L, L]: may query i attend to key j


@pytest.mark.parametrize("w", [1, 2])
def test_a_cell_sees_its_clipped_square_and_registers_read_the_whole_board(w):
    model, R = board_model(window=w), 2
    question, qlen = random_boards([5, 3])  # a 3x3 board padded to 25 cells beside a 5x5
    allowed = allowed_keys(model, question, qlen)
    for b, side in enumerate((5, 3)):
        cells = side * side
        real = torch.arange(R + 25) < R + cells
        assert allowed[b, :R].equal(real[None].expand(R, -1))  # registers: every real key
        for i in range(cells):
            r, c = divmod(i, side)
            seen = {divmod(j - R, side) for j in allowed[b, R + i].nonzero().flatten().tolist()}
            assert seen == {(rr, cc) for rr in range(side) for cc in range(side)
                            if abs(rr - r) <= w and abs(cc - c) <= w}, (b, i)  # no register, no padding
        assert allowed[b, R + cells:].any(-1).all()  # padding queries keep a key (no empty softmax row)
    # The end of a row is next to the next row's start in row-major order, not on the board.
    for r in range(4):
        assert not allowed[0, R + r * 5 + 4, R + (r + 1) * 5]


def test_non_square_questions_and_configs_are_clear_errors():
    model, (question, _) = board_model(), random_boards([9, 9])
    with pytest.raises(ValueError, match=r"grid_2d reads square boards: question 1 of the batch has 80 tokens"):
        model.embed(question, torch.tensor([81, 80]))
    with pytest.raises(ValueError, match="answer_len=0"):
        tiny_reasoner_config(grid_2d=True, answer_len=4)
    with pytest.raises(ValueError, match="answer_len=0"):
        tiny_reasoner_config(grid_2d=True, answer_len=0, mixer="mlp", question_len=81)
    with pytest.raises(ValueError, match="multiple of 4"):
        tiny_reasoner_config(grid_2d=True, answer_len=0, d_model=12, n_heads=2)
    tiny_reasoner_config(grid_2d=True, answer_len=0, d_model=12, n_heads=2, positions="none")  # no rotary: fine


def cell_logits(model, question, qlen, steps):
    with torch.no_grad():
        x, ctx = model.embed(question, qlen)
        y, z = model.initial_state(x)
        for _ in range(steps):
            y, z, logits, _ = model.supervision_step(x, y, z, ctx)
    return logits


@pytest.mark.parametrize("steps", [1, 2])
@pytest.mark.parametrize("target", [(6, 6), (1, 1)])  # the middle, and a corner (where the registers sit)
def test_a_cell_depends_on_nothing_beyond_its_receptive_field(steps, target):
    """One network call reaches w * layers cells on each axis; a step makes n_cycles * (n_latent + 1)
    calls. A change just beyond that reach leaves the cell's logits exactly as they were (no path
    through the registers either); one at the edge of it moves them."""
    model, side = board_model(window=1, n_layers=1, n_latent=1, n_cycles=1), 13
    reach = steps * 1 * 1 * model.cfg.net_calls_per_step
    question, qlen = random_boards([side])
    tr, tc = target
    base = cell_logits(model, question, qlen, steps)[0, tr * side + tc]

    def moved(r, c):
        other = question.clone()
        i = r * side + c
        other[0, i] = len(SPECIALS) + (other[0, i] - len(SPECIALS) + 1) % len(TOK.alphabet)
        return cell_logits(model, other, qlen, steps)[0, tr * side + tc]
    for r, c in ((tr, tc + reach + 1), (tr + reach + 1, tc), (tr + reach + 1, tc + reach + 1), (side - 1, side - 1)):
        assert torch.equal(moved(r, c), base), (r, c)
    for r, c in ((tr, tc + reach), (tr + reach, tc + reach)):
        assert not torch.equal(moved(r, c), base), (r, c)


def maze_split(sides, n=4):
    examples = [e for s in sides for e in make_task("maze", size=s, min_path=6).examples("test", n)]
    return encode(examples, TOK, 0, max(sides) ** 2)


def test_one_model_reads_9x9_and_18x18_boards_alone_or_batched_together():
    model, split = board_model(), maze_split([9, 18])
    small, big = split.batch(torch.arange(4)), split.batch(torch.arange(4, 8))
    assert model.predict(small, 3)["tokens"].shape == (3, 4, 81)
    assert model.predict(big, 3)["tokens"].shape == (3, 4, 324)
    together = model.predict(split.batch(torch.arange(8)), 3)["tokens"]
    assert together.shape == (3, 8, 324)
    assert torch.equal(together[:, :4, :81], model.predict(small, 3)["tokens"])
    assert torch.equal(together[:, 4:], model.predict(big, 3)["tokens"])


def test_scores_of_mixed_sizes_leave_the_padding_out():
    """Exact, cell and path-cell (fill) accuracy on a set of 9x9 and 18x18 mazes: a model that
    copies the board is right on every cell but the path's, and its boards are as long as the questions."""
    class CopyTheBoard(torch.nn.Module):
        cfg = tiny_reasoner_config(answer_len=0)

        def predict(self, batch, steps=None):
            return {"tokens": batch["question"][None].expand(steps or 1, -1, -1)}
    split = maze_split([9, 18])
    result = evaluate(CopyTheBoard(), split, TOK, steps=1, batch_size=8, precision="fp32")
    s = result.summary()
    path = [e.answer.count("o") / len(e.answer) for e in split.examples]
    assert s["accuracy"] == 0 and s["fill_accuracy"] == 0
    assert s["cell_accuracy"] == pytest.approx(1 - sum(path) / len(path), abs=1e-6)
    assert result.predictions == [e.question for e in split.examples]


def rope_score(rope, b, i, j, q, k):
    """q at position i and k at position j of row b, rotated, dotted."""
    cos, sin = rope
    at = lambda v, p: apply_rotary(v[None, None, None, None], (cos[b:b + 1, p:p + 1], sin[b:b + 1, p:p + 1]))
    return (at(q, i) * at(k, j)).sum()


def test_2d_rotary_scores_depend_on_the_offset_not_the_place_or_the_board_size():
    torch.manual_seed(0)
    q, k = torch.randn(2, 16)
    rope = Rotary(16, axes=2)(board_positions(torch.tensor([81, 324]), 324, 0))
    cell = lambda side, r, c: r * side + c
    on9 = rope_score(rope, 0, cell(9, 2, 3), cell(9, 3, 5), q, k)  # offset (+1, +2)
    on18 = rope_score(rope, 1, cell(18, 10, 1), cell(18, 11, 3), q, k)
    torch.testing.assert_close(on9, on18)
    # Row-major indices would not do: the same offset is 11 apart on 9x9, 20 on 18x18.
    flat = Rotary(16)(torch.arange(324)[None].expand(2, -1))
    assert not torch.allclose(rope_score(flat, 0, 21, 32, q, k), rope_score(flat, 1, 181, 201, q, k))
    # North, south, east and west are told apart.
    centre = cell(9, 4, 4)
    scores = [rope_score(rope, 0, centre, cell(9, 4 + dr, 4 + dc), q, k) for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1))]
    assert len({round(float(s), 4) for s in scores}) == 4


def test_2d_rotary_of_one_axis_is_the_1d_rotary():
    """axes=1 is the plain rotary: [B, L] positions and [B, L, 1] coordinates alike."""
    pos = torch.arange(7)[None].expand(2, -1) + torch.tensor([[0], [5]])
    flat, one = Rotary(8)(pos), Rotary(8, axes=1)(pos[..., None])
    assert all(torch.equal(a, b) for a, b in zip(flat, one))
    with pytest.raises(ValueError, match="multiple of 4"):
        Rotary(6, axes=2)


def test_board_predictions_never_read_the_answer():
    """Scrambling every label of a batch of 9x9 and 18x18 mazes changes nothing the model returns,
    and the input holds the board alone (the same x whatever the answer)."""
    model, split = board_model(recursion="looped", loops_per_token=0.02), maze_split([9, 18])
    batch = split.batch(torch.arange(len(split)))
    scrambled = {**batch, "answer": torch.where(batch["answer"] != PAD,
                                                torch.randint(len(SPECIALS), TOK.vocab_size, batch["answer"].shape), PAD)}
    assert not torch.equal(batch["answer"], scrambled["answer"])
    a, b = model.predict(batch, 4), model.predict(scrambled, 4)
    assert all(torch.equal(a[key], b[key]) for key in a)
    x, _ = model.embed(batch["question"], batch["question_len"])
    assert torch.equal(x[:, 2:], model.token_embed(batch["question"]) * model.cfg.d_model ** 0.5)


def test_flops_count_a_square_window_for_cells_and_the_whole_board_for_registers():
    model, cells = board_model(window=1), 81
    L = 2 + cells
    assert model.keys_per_query(cells) == round((2 * L + cells * 3 ** 2) / L)
    assert model.keys_per_query(16) == round((2 * 18 + 16 * 9) / 18)
    assert board_model(window=4).keys_per_query(16) == round((2 * 18 + 16 * 16) / 18)  # a 4x4 board caps the window
    question, qlen = random_boards([9])
    seen = allowed_keys(model, question, qlen).sum(-1).float().mean()
    assert seen <= model.keys_per_query(cells) < seen + 2  # what the mask allows, the edges aside
    flat = board_model(window=1, grid_2d=False)  # the 1-D window: 2w + 1 keys
    assert flat.keys_per_query(cells) == 3
    assert model.step_flops(cells) > flat.step_flops(cells)


@pytest.mark.parametrize("ood_size", [18, 36])
def test_bigger_ood_mazes_mark_a_unique_shortest_path(ood_size):
    task = make_task("maze", size=9, min_path=6, max_path=20, ood_size=ood_size)
    assert task.shape() == (9, 9) and task.most_cells() == ood_size ** 2
    for ex in task.examples("ood", 6):
        assert assert_valid(ex.question, ex.answer, ood_size) > 20  # checked by an independent BFS
    for ex in task.examples("train", 6):
        assert 6 <= assert_valid(ex.question, ex.answer, 9) <= 20
    default = make_task("maze", size=9, ood_size=ood_size)
    assert default.path_range("ood")[0] == default.fewest_steps(ood_size) > default.floor  # scales with the side


def test_bigger_ood_mazes_share_no_layout_with_training_at_that_size():
    ood = make_task("maze", size=9, ood_size=12).examples("ood", 30)
    trained_at_12 = make_task("maze", size=12)
    for split in ("train", "dev"):
        assert not layouts(ood, 12) & layouts(trained_at_12.examples(split, 200 if split == "train" else 30), 12), split


def test_ood_size_reaches_the_data_and_bad_values_are_clear_errors():
    knobs = {"size": 9, "min_path": 6, "ood_size": 18}
    _, splits = load_splits(DataConfig(task="maze", knobs=knobs, answer_len=0, max_question_len=324,
                                       n_train=4, n_dev=4, n_test=4, n_ood=4))
    assert splits["train"].question.shape[1] == 81 and splits["ood"].question.shape[1] == 324
    with pytest.raises(ValueError, match="ood_size must be at least 5"):
        make_task("maze", ood_size=3)
    with pytest.raises(ValueError, match="ood_size draws generated mazes"):
        make_task("maze", ood_size=40, source="hard")


@pytest.mark.parametrize("recursion", ["trm", "looped"])
def test_a_board_model_trains_on_augmented_mazes(recursion):
    """A training step backpropagates through the 2-D mask and rotary (rotated and reflected boards)."""
    from trmlab.data import IndexStream
    from trmlab.training.objectives import make_objective
    _, splits = load_splits(DataConfig(task="maze", knobs={"size": 9, "min_path": 6}, answer_len=0,
                                       max_question_len=81, n_train=16, n_dev=0, n_test=0, n_ood=0))
    model = board_model(recursion=recursion).train()
    objective = make_objective(model, splits["train"], IndexStream(16, seed=0), 8, "cpu")
    loss, stats = objective.step()
    loss.backward()
    assert torch.isfinite(loss) and stats["flops"] > 0
    assert model.token_embed.weight.grad.abs().sum() > 0


def test_a_side_with_no_layout_in_a_split_is_a_clear_error_not_a_hang():
    with pytest.raises(ValueError, match="too few layouts of that size fall in the test split"):
        make_task("maze", size=7, augment=False).examples("test", 8)
