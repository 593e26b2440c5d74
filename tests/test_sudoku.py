"""Sudoku: the solver, the unique-solution generator, symmetries as augmentations,
hash splits, the file loaders on small files written here; the shared sets when present."""
import random
from pathlib import Path

import pytest
import torch

from trmlab.tasks import DataFormatError, make_task
from trmlab.tasks import sudoku as S
from trmlab.tasks.base import in_split
from trmlab.tasks.grid.base import apply_augmentations
from trmlab.tasks.real.base import ENV_VAR
from trmlab.tokenizer import CharTokenizer

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TOP1465_FIRST = "4...3.......6..8..........1....5..9..8....6...7.2........1.27..5.3....4.9........"
EASY_4 = "1000003000020400"  # one solution
EASY_6 = "000000" "004000" "050300" "600050" "000600" "000000"


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No data directory from the environment and no hub, unless a test sets one."""
    monkeypatch.delenv(ENV_VAR, raising=False)

    def no_hub(filename):
        raise OSError("offline")
    monkeypatch.setattr(S, "_hub_download", no_hub)


def valid_grid(board: str, size: int) -> bool:
    """An independent check: every row, column and box holds 1..size once."""
    br, bc = S.BOXES[size]
    rows = [board[i * size:(i + 1) * size] for i in range(size)]
    cols = ["".join(r[j] for r in rows) for j in range(size)]
    boxes = ["".join(rows[r][c] for r in range(R, R + br) for c in range(C, C + bc))
             for R in range(0, size, br) for C in range(0, size, bc)]
    want = sorted("123456789"[:size])
    return all(sorted(unit) == want for unit in rows + cols + boxes)


def keeps_givens(puzzle: str, solution: str) -> bool:
    return len(puzzle) == len(solution) and all(p in ("0", s) for p, s in zip(puzzle, solution))


# ----------------------------------------------------------------- solver

@pytest.mark.parametrize("puzzle,size", [(TOP1465_FIRST.replace(".", "0"), 9), (EASY_4, 4), (EASY_6, 6)])
def test_solver_solves_known_puzzles(puzzle, size):
    solution = S.solve(puzzle, size)
    assert solution is not None and valid_grid(solution, size) and keeps_givens(puzzle, solution)
    assert S.is_solution(solution, size) and S.fits(puzzle, solution)


def test_count_solutions_sees_many_and_none():
    assert S.count_solutions(TOP1465_FIRST.replace(".", "0")) == 1
    assert S.count_solutions("0" * 16, 4, limit=5) == 5
    assert S.count_solutions("0" * 16, 4, limit=1000) == 288  # all 4x4 grids
    solution = S.solve(TOP1465_FIRST.replace(".", "0"))
    assert S.count_solutions("0" * 60 + solution[60:]) == 2  # far too few givens
    contradictory = "11" + "0" * 79
    assert S.count_solutions(contradictory) == 0 and S.solve(contradictory) is None
    with pytest.raises(ValueError, match="not a 4x4"):
        S.solve("5" * 16, 4)


# ----------------------------------------------------------------- generator

@pytest.mark.parametrize("size,n,blanks", [(4, 30, None), (6, 20, None), (9, 5, (20, 30))])
def test_generated_puzzles_have_one_solution(size, n, blanks):
    task = make_task("sudoku", size=size, **({"train_difficulty": blanks} if blanks else {}))
    lo, hi = task.train_difficulty
    for ex in task.examples("train", n, seed=1):
        assert len(ex.question) == len(ex.answer) == size * size
        assert S.count_solutions(ex.question, size) == 1
        assert valid_grid(ex.answer, size) and keeps_givens(ex.question, ex.answer)
        assert ex.difficulty == ex.question.count("0") and lo <= ex.difficulty <= hi
        assert ex.family == "generated"


def test_random_blanking_is_not_enough():
    """The uniqueness check matters: blanking the same number of cells at random
    usually leaves a puzzle with several solutions."""
    rng, size, blanks = random.Random(0), 6, 22
    multi = 0
    for _ in range(20):
        grid = "".join(map(str, S.full_grid(size, rng)))
        cells = set(rng.sample(range(size * size), blanks))
        multi += S.count_solutions("".join("0" if i in cells else ch for i, ch in enumerate(grid)), size) > 1
    assert multi >= 8
    for ex in make_task("sudoku", size=size, train_difficulty=(blanks, blanks)).examples("train", 10):
        assert S.count_solutions(ex.question, size) == 1


def test_unreachable_blanks_fail_clearly():
    with pytest.raises(ValueError, match="unique solution"):
        make_task("sudoku", size=4, train_difficulty=(15, 15)).examples("train", 1)


# ----------------------------------------------------------------- augmentations

def augmented(task, examples, seed: int):
    tok = CharTokenizer(task.alphabet)
    q = torch.tensor([tok.encode(e.question) for e in examples])
    a = torch.tensor([tok.encode(e.answer) for e in examples])
    perm, symbols = task.sample_augmentations(len(examples), torch.Generator().manual_seed(seed))
    return ([tok.decode(r) for r in apply_augmentations(q, perm, symbols)],
            [tok.decode(r) for r in apply_augmentations(a, perm, symbols)], perm, symbols)


@pytest.mark.parametrize("size", [4, 6, 9])
def test_augmentations_keep_puzzles_valid(size):
    task = make_task("sudoku", size=size, train_difficulty=(10, 12))
    examples = task.examples("train", 1) * 32  # one puzzle, 32 relabellings
    questions, answers, perm, symbols = augmented(task, examples, seed=3)
    for q, a in zip(questions, answers):
        assert valid_grid(a, size) and keeps_givens(q, a) and q.count("0") == examples[0].question.count("0")
    assert len(set(questions)) > 16  # rows differ
    assert (perm.sort(dim=1).values == torch.arange(size * size)).all()
    assert (symbols[:, 0] == 0).all() and (symbols[:, size + 1:] == torch.arange(size + 1, 10)).all()
    again = task.sample_augmentations(32, torch.Generator().manual_seed(3))
    assert torch.equal(again[0], perm) and torch.equal(again[1], symbols)
    other = task.sample_augmentations(32, torch.Generator().manual_seed(4))
    assert not torch.equal(other[0], perm)
    # a new row's cells come from one old row, or (transposed) from one old column
    source_rows = perm.view(-1, size, size) // size
    same_row = (source_rows == source_rows[:, :, :1]).all(dim=2).all(dim=1)
    if size == 6:
        assert same_row.all()  # 2x3 boxes: never transposed
    else:
        assert same_row.any() and not same_row.all()


def test_no_augmentation_when_off():
    assert make_task("sudoku", size=4, augment=False).sample_augmentations(4, torch.Generator()) is None


# ----------------------------------------------------------------- task and splits

def test_splits_are_disjoint_and_deterministic():
    task = make_task("sudoku", size=4)
    splits = {split: [e.question for e in task.examples(split, n, seed=0)]
              for split, n in (("train", 200), ("dev", 30), ("test", 30), ("ood", 30))}
    for split, questions in splits.items():
        assert len(set(questions)) == len(questions)
        assert all(in_split(q, split) for q in questions)
    names = list(splits)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not set(splits[a]) & set(splits[b]), (a, b)
    assert min(q.count("0") for q in splits["ood"]) > task.train_difficulty[1]
    assert [e.question for e in task.examples("dev", 30, seed=0)] == splits["dev"]
    assert [e.question for e in task.examples("dev", 30, seed=1)] != splits["dev"]


def test_make_task_and_knobs():
    task = make_task("sudoku", size=4)
    assert task.shape() == (4, 4) and task.alphabet == "0123456789"
    assert task.knobs()["train_difficulty"] == S.DEFAULT_BLANKS[4][0]
    with pytest.raises(ValueError, match="no knob"):
        make_task("sudoku", colour="red")
    with pytest.raises(ValueError, match="generated.*top1465.*extreme"):
        make_task("sudoku", source="nope")
    with pytest.raises(ValueError, match="4, 6, 9"):
        make_task("sudoku", size=5)
    with pytest.raises(ValueError, match="size=9"):
        make_task("sudoku", size=4, source="top1465")
    with pytest.raises(ValueError, match="0 <= lo <= hi"):
        make_task("sudoku", size=4, train_difficulty=(8, 3))
    with pytest.raises(ValueError, match="unknown split"):
        task.examples("all", 1)


# ----------------------------------------------------------------- files

@pytest.fixture(scope="module")
def puzzles():
    """Six 9x9 (puzzle, solution) pairs with few blanks (fast to make and to solve)."""
    rng = random.Random(7)
    return [S.make_puzzle(9, 40, rng) for _ in range(6)]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_diabolical_file_from_data_dir(tmp_path, puzzles, monkeypatch):
    write(tmp_path / "sudoku" / "diabolical.txt",
          "".join(f"{i:012x} {p}  7.{i}\n" for i, (p, _) in enumerate(puzzles)))
    task = make_task("sudoku", source="diabolical", data_dir=str(tmp_path))
    everything = task.examples("all", 100)
    assert [(e.question, e.answer) for e in everything] == puzzles
    assert all(e.family == "diabolical" and e.difficulty == 40 for e in everything)
    parts = [task.examples(split, 100) for split in ("train", "dev", "test")]
    assert sorted(e.question for part in parts for e in part) == sorted(p for p, _ in puzzles)
    assert task.examples("ood", 100) == parts[2]
    assert len(task.examples("all", 2)) == 2
    monkeypatch.setenv(ENV_VAR, str(tmp_path))  # the environment variable works alike
    assert make_task("sudoku", source="diabolical").examples("all", 100) == everything


def test_top1465_format_with_comments(tmp_path, puzzles):
    body = "".join(p.replace("0", ".") + "\r\n" for p, _ in puzzles)
    path = write(tmp_path / "top", "# a comment\n#\n" + body + "\n")
    examples = make_task("sudoku", source="top1465", path=str(path)).examples("all", 100)
    assert [(e.question, e.answer) for e in examples] == puzzles


@pytest.mark.parametrize("line,problem", [("12345", "81 cells"), ("x" * 81, "bad characters"),
                                          ("11" + "." * 79, "no solution"),
                                          ("." * 81, "more than one solution")])
def test_malformed_puzzle_files(tmp_path, puzzles, line, problem):
    path = write(tmp_path / "bad.txt", f"# header\n{puzzles[0][0]}\n{line}\n")
    with pytest.raises(DataFormatError, match=rf"bad.txt, line 3: .*{problem}"):
        make_task("sudoku", source="forum_hardest", path=str(path)).examples("all", 10)


def test_missing_files_name_the_knob(tmp_path):
    with pytest.raises(FileNotFoundError, match="path"):
        make_task("sudoku", source="top1465").examples("all", 1)
    with pytest.raises(FileNotFoundError, match=r"nowhere.*`path`"):
        make_task("sudoku", source="17_clue", path=str(tmp_path / "nowhere")).examples("all", 1)


def extreme_csv(path: Path, rows) -> Path:
    lines = ["source,question,answer,rating"] + [f"test,{q},{a},{i}" for i, (q, a) in enumerate(rows)]
    return write(path, "\n".join(lines) + "\n")


def test_extreme_csv(tmp_path, puzzles):
    rows = [(p.replace("0", ".") if i % 2 else p, s) for i, (p, s) in enumerate(puzzles)]
    path = extreme_csv(tmp_path / "extreme.csv", rows)
    task = make_task("sudoku", source="extreme", path=str(path))
    assert [(e.question, e.answer) for e in task.examples("all", 100)] == puzzles
    parts = [task.examples(split, 100) for split in ("train", "dev", "test")]
    assert sum(map(len, parts)) == len(puzzles)


@pytest.mark.parametrize("bad", ["invalid", "contradicts"])
def test_extreme_bad_answers(tmp_path, puzzles, bad):
    puzzle, solution = puzzles[0]
    if bad == "invalid":
        answer = "1" * 81
    else:
        answer = S.solve("0" * 81)  # a valid grid that (almost surely) breaks a given
        assert not S.fits(puzzle, answer)
    path = extreme_csv(tmp_path / "extreme.csv", [puzzles[1], (puzzle, answer)])
    with pytest.raises(DataFormatError, match="extreme.csv, line 3"):
        make_task("sudoku", source="extreme", path=str(path)).examples("all", 10)


def test_extreme_offline_without_path_names_the_knob():
    with pytest.raises(FileNotFoundError, match="knob `path`"):
        make_task("sudoku", source="extreme").examples("test", 1)


# ----------------------------------------------------------------- the shared sets

@pytest.mark.skipif(not (SHARED / "sudoku").is_dir(), reason="shared sudoku data not present")
def test_real_top1465():
    examples = make_task("sudoku", source="top1465", data_dir=str(SHARED)).examples("all", 20)
    assert len(examples) == 20 and examples[0].question == TOP1465_FIRST.replace(".", "0")
    for e in examples:
        assert valid_grid(e.answer, 9) and keeps_givens(e.question, e.answer) and e.difficulty > 55
