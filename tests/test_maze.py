"""The maze task: generated boards are valid with a unique long shortest path, splits hold
apart, augmentations keep the label right, and the Maze-Hard CSV reader checks its rows."""
import csv
from collections import deque

import numpy as np
import pytest
import torch

import trmlab.tasks.grid.maze  # noqa: F401  (registers the task)
from trmlab.tasks.make import make_task
from trmlab.tasks.grid.base import apply_augmentations
from trmlab.tasks.real.base import DataFormatError
from trmlab.tokenizer import CharTokenizer


def solve(question: str, size: int) -> tuple[int, int, set[int]]:
    """(steps S->G, number of shortest paths, cells on some shortest path but S and G),
    by two plain breadth-first searches with bounds checks."""
    def search(src):
        dist, ways = {src: 0}, {src: 1}
        queue = deque([src])
        while queue:
            r, c = queue.popleft()
            for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if not (0 <= nr < size and 0 <= nc < size) or question[nr * size + nc] == "#":
                    continue
                if (nr, nc) not in dist:
                    dist[nr, nc], ways[nr, nc] = dist[r, c] + 1, 0
                    queue.append((nr, nc))
                if dist[nr, nc] == dist[r, c] + 1:
                    ways[nr, nc] += ways[r, c]
        return dist, ways

    s, g = (divmod(question.index(ch), size) for ch in "SG")
    from_s, ways = search(s)
    from_g, _ = search(g)
    steps = from_s[g]
    on_path = {r * size + c for (r, c), d in from_s.items() if d + from_g.get((r, c), 10**9) == steps}
    return steps, ways[g], on_path - {s[0] * size + s[1], g[0] * size + g[1]}


def assert_valid(question: str, answer: str, size: int, min_steps: int = 1) -> int:
    assert len(question) == len(answer) == size * size
    assert set(question) <= set("# SG") and set(answer) <= set("# SGo")
    assert question.count("S") == question.count("G") == 1
    assert all(q == a or (q, a) == (" ", "o") for q, a in zip(question, answer))
    steps, ways, on_path = solve(question, size)
    assert ways == 1 and steps >= min_steps
    assert {i for i, ch in enumerate(answer) if ch == "o"} == on_path
    return steps


@pytest.mark.parametrize("size", [30, 12, 13])
def test_generated_mazes_have_a_unique_long_shortest_path_marked_exactly(size):
    task = make_task("maze", size=size)
    assert task.shape() == (size, size)
    for ex in task.examples("train", 25):
        steps = assert_valid(ex.question, ex.answer, size, task.floor)
        assert ex.difficulty == steps // 10 and ex.family == "generated"
        assert ex.question[:size] == "#" * size  # walled all round


def test_min_path_default_scales_with_size():
    assert make_task("maze").floor == 110
    assert 10 < make_task("maze", size=12).floor < 30


def test_max_path_makes_ood_longer_than_training():
    task = make_task("maze", size=12, min_path=12, max_path=20)
    assert all(12 <= assert_valid(e.question, e.answer, 12) <= 20 for e in task.examples("train", 40))
    assert all(assert_valid(e.question, e.answer, 12) > 20 for e in task.examples("ood", 10))


def test_generation_is_deterministic_and_questions_distinct():
    task = make_task("maze", size=12)
    first = task.examples("train", 50, seed=3)
    assert first == make_task("maze", size=12).examples("train", 50, seed=3)
    assert first != task.examples("train", 50, seed=4)
    assert len({e.question for e in first}) == 50


def layouts(examples, size):
    """Wall layouts in every rotation and reflection."""
    out = set()
    for e in examples:
        walls = np.array([ch == "#" for ch in e.question]).reshape(size, size)
        out |= {np.rot90(g, k).tobytes() for g in (walls, walls.T) for k in range(4)}
    return out


def test_splits_share_no_layout_even_rotated():
    task = make_task("maze", size=12)
    train = layouts(task.examples("train", 400), 12)
    for split in ("dev", "test", "ood"):
        assert not train & layouts(task.examples(split, 30), 12), split


def test_augmentations_keep_the_answer_a_valid_shortest_path():
    task, tok = make_task("maze", size=12), CharTokenizer("# SGo")
    examples = task.examples("train", 16)
    q = torch.tensor([tok.encode(e.question) for e in examples])
    a = torch.tensor([tok.encode(e.answer) for e in examples])
    perm, symbols = task.sample_augmentations(len(examples), torch.Generator().manual_seed(0))
    assert perm.shape == (16, 144) and len({tuple(p.tolist()) for p in perm}) > 1
    q2, a2 = apply_augmentations(q, perm, symbols), apply_augmentations(a, perm, symbols)
    for e, qi, ai in zip(examples, q2, a2):
        steps = assert_valid(tok.decode(qi), tok.decode(ai), 12)
        assert steps == e.answer.count("o") + 1
    assert make_task("maze", size=12, augment=False).sample_augmentations(4, torch.Generator()) is None


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["source", "question", "answer", "rating"])
        writer.writerows(rows)
    return path


def test_csv_loader_reads_a_local_file_and_folder(tmp_path):
    made = make_task("maze", size=12).examples("train", 60)
    rows = [("lab", e.question, e.answer, 0) for e in made]
    task = make_task("maze", size=12, path=str(write_csv(tmp_path / "m.csv", rows)))
    got = {s: task.examples(s, 100) for s in ("train", "dev", "test")}
    assert sorted(e.question for s in got.values() for e in s) == sorted(e.question for e in made)
    assert all(e.family == "lab" and e.difficulty == (e.answer.count("o") + 1) // 10
               for s in got.values() for e in s)
    write_csv(tmp_path / "train.csv", rows[:50])
    write_csv(tmp_path / "test.csv", rows[50:])
    folder = make_task("maze", size=12, source="hard", path=str(tmp_path))
    assert {e.question for e in folder.examples("test", 100)} == {e.question for e in made[50:]}
    assert len(folder.examples("train", 100)) + len(folder.examples("dev", 100)) == 50


def corrupt(example, how):
    q, a = example.question, example.answer
    o = a.index("o")
    if how == "length":
        return q[:-1], a[:-1]
    if how == "character":
        return q.replace("#", "x", 1), a.replace("#", "x", 1)
    if how == "two starts":
        i = q.index(" ")
        return q[:i] + "S" + q[i + 1:], a[:i] + "S" + a[i + 1:]
    if how == "broken path":
        return q, a[:o] + " " + a[o + 1:]
    if how == "extra o":
        i = next(i for i, (x, y) in enumerate(zip(q, a)) if x == y == " ")
        return q, a[:i] + "o" + a[i + 1:]
    if how == "o on a wall":
        return q, a.replace("#", "o", 1)


@pytest.mark.parametrize("how", ["length", "character", "two starts", "broken path", "extra o", "o on a wall"])
def test_malformed_rows_name_file_and_line(tmp_path, how):
    good, bad = make_task("maze", size=12).examples("train", 2)
    path = write_csv(tmp_path / "bad.csv", [("x", good.question, good.answer, 0),
                                            ("x", *corrupt(bad, how), 0)])
    with pytest.raises(DataFormatError, match=r"bad\.csv, line 3") as err:
        make_task("maze", size=12, path=str(path)).examples("train", 5)
    assert err.value.line == 3


def test_hard_source_offline_names_the_path_knob(monkeypatch):
    import huggingface_hub

    def offline(*args, **kwargs):
        raise OSError("no network")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    monkeypatch.delenv("TRMLAB_DATA_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="path="):
        make_task("maze", source="hard").examples("test", 5)


def test_bad_knobs_are_clear_errors():
    with pytest.raises(ValueError, match="bogus"):
        make_task("maze", bogus=1)
    with pytest.raises(ValueError, match="source"):
        make_task("maze", source="easy")
    with pytest.raises(ValueError, match="could only make 0"):
        make_task("maze", size=8, min_path=500).examples("train", 5)
