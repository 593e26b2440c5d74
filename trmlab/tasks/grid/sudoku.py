"""Sudoku as a grid task: generated puzzles of size 4, 6 or 9, or the classic 9x9 sets.

Question and answer are row-major strings over "0123456789" ('0' = blank): the
puzzle and its full solution. `difficulty` is the number of blanks. Puzzles come
from a generator that keeps a blank only while the puzzle still has exactly one
solution (knob `source="generated"`), or from a file: the sudoku-exchange
`diabolical` bank, magictour `top1465`, the `17_clue` list, the forum
`forum_hardest` list (all solved here, once per puzzle), or Sudoku-Extreme
(`extreme`: CSVs with their answers, from knob `path`, the data directory's
sudoku/extreme/{train,test}.csv, or `sapientinc/sudoku-extreme` on the hub).
Splits are by hash of the puzzle, so no puzzle is in two splits; split "all"
(file sources only) is a whole file in order, to evaluate on a held-out set.

Augmentations are Sudoku's symmetries: band, row-in-band, stack and column-in-stack
permutations, a transpose (square boxes only) and a relabelling of the digits.
"""
from __future__ import annotations

import csv
import math
import os
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from ..base import SPLITS, Example, draw_distinct, in_split, register
from ..real.base import ENV_VAR, DataFormatError
from .base import GridTask

ALPHABET = "0123456789"
BOXES = {4: (2, 2), 6: (2, 3), 9: (3, 3)}  # size -> (box rows, box columns)
# Default blanks per size. Greedy unique blanking reaches 11-12 blanks on 4x4, 25-27 on
# 6x6 and 55-58 on 9x9, so every ood range is reachable from almost any grid.
DEFAULT_BLANKS = {4: ((4, 8), (9, 11)), 6: ((10, 18), (20, 24)), 9: ((30, 40), (45, 50))}
FILES = {"diabolical": "diabolical.txt", "top1465": "puzzles3_magictour_top1465",
         "17_clue": "puzzles2_17_clue", "forum_hardest": "puzzles6_forum_hardest_1106"}
SOURCES = ("generated", *FILES, "extreme")
HUB_REPO = "sapientinc/sudoku-extreme"
GRID_RETRIES = 50  # fresh full grids tried before a blanks target is declared unreachable
RELABEL_TRIES = 1000  # symmetry relabellings tried to land a puzzle in a split's hash bucket

_SOLVED: dict[tuple[str, int], str] = {}  # (puzzle, size) -> solution: file labels, solved once


# ----------------------------------------------------------------- the solver
# Hand-written rather than a dependency: it is short, and the generator needs
# solution *counting*, which the usual solver packages do not offer.

@lru_cache(maxsize=None)
def _units(size: int) -> tuple[tuple[int, int, int], ...]:
    """(row, column, box) of every cell."""
    br, bc = BOXES[size]
    return tuple((i // size, i % size, (i // size) // br * br + (i % size) // bc) for i in range(size * size))


def _search(grid: list[int], size: int, limit: int, rng: random.Random | None = None) -> list[list[int]]:
    """Up to `limit` solutions of a grid (digits, 0 = blank), by backtracking on the
    most constrained blank; bit d of a mask = digit d. `rng` shuffles the digit order."""
    units, full = _units(size), (1 << (size + 1)) - 2
    rows, cols, boxes = [0] * size, [0] * size, [0] * size
    for i, v in enumerate(grid):
        if v:
            r, c, b = units[i]
            bit = 1 << v
            if (rows[r] | cols[c] | boxes[b]) & bit:
                return []  # two equal givens in one unit
            rows[r] |= bit; cols[c] |= bit; boxes[b] |= bit
    blanks = [i for i, v in enumerate(grid) if not v]
    grid, found = list(grid), []

    def fill(k: int) -> None:  # blanks[:k] are filled
        if k == len(blanks):
            found.append(list(grid))
            return
        best, best_mask, best_n = k, 0, size + 1
        masks = []
        for j in range(k, len(blanks)):
            r, c, b = units[blanks[j]]
            mask = full & ~(rows[r] | cols[c] | boxes[b])
            n = mask.bit_count()
            if n < best_n:
                best, best_mask, best_n = j, mask, n
                if n <= 1:
                    break
            masks.append(mask)
        if not best_mask:
            return
        if best_n > 1:  # no cell with one candidate: try a digit with one place in a unit
            forced = _hidden_single(masks, [units[i] for i in blanks[k:]], (rows, cols, boxes), size, full)
            if forced is None:
                return
            if forced:
                best, best_mask = k + forced[0], forced[1]
        blanks[k], blanks[best] = blanks[best], blanks[k]
        cell = blanks[k]
        r, c, b = units[cell]
        digits = [d for d in range(1, size + 1) if best_mask >> d & 1]
        if rng is not None:
            rng.shuffle(digits)
        for d in digits:
            bit = 1 << d
            rows[r] |= bit; cols[c] |= bit; boxes[b] |= bit
            grid[cell] = d
            fill(k + 1)
            rows[r] ^= bit; cols[c] ^= bit; boxes[b] ^= bit
            if len(found) >= limit:
                break
        grid[cell] = 0
        blanks[k], blanks[best] = blanks[best], blanks[k]

    fill(0)
    return found


def _hidden_single(masks, cell_units, placed, size, full):
    """(position, digit bit) of a digit that has one place left in some unit; 0 when there
    is none; None on a contradiction (a digit with no place, or a cell forced twice)."""
    once = [[0] * size for _ in range(3)]
    twice = [[0] * size for _ in range(3)]
    for mask, units in zip(masks, cell_units):
        for kind, u in enumerate(units):
            twice[kind][u] |= once[kind][u] & mask
            once[kind][u] |= mask
    for kind in range(3):
        for u in range(size):
            if once[kind][u] | placed[kind][u] != full:
                return None
    (tr, tc, tb) = twice
    for j, (mask, (r, c, b)) in enumerate(zip(masks, cell_units)):
        forced = mask & ~(tr[r] & tc[c] & tb[b])
        if forced:
            return None if forced & (forced - 1) else (j, forced)
    return 0


def _digits(board: str, size: int) -> list[int]:
    if len(board) != size * size or any(ch not in ALPHABET[:size + 1] for ch in board):
        raise ValueError(f"not a {size}x{size} sudoku board (digits 0..{size}, 0 = blank): {board!r}")
    return [int(ch) for ch in board]


def solve(puzzle: str, size: int = 9) -> str | None:
    """The first solution found of a puzzle ('0' = blank), or None when it has none."""
    found = _search(_digits(puzzle, size), size, 1)
    return "".join(map(str, found[0])) if found else None


def count_solutions(puzzle: str, size: int = 9, limit: int = 2) -> int:
    """How many solutions a puzzle has, counting no further than `limit`."""
    return len(_search(_digits(puzzle, size), size, limit))


def is_solution(board: str, size: int = 9) -> bool:
    """Whether a board is a complete valid grid: every unit holds each digit once."""
    if len(board) != size * size or "0" in board:
        return False
    seen = set()
    for i, ch in enumerate(board):
        for kind, unit in zip("rcb", _units(size)[i]):
            if (kind, unit, ch) in seen:
                return False
            seen.add((kind, unit, ch))
    return True


def fits(puzzle: str, solution: str) -> bool:
    """Whether a solution keeps every given of the puzzle."""
    return len(puzzle) == len(solution) and all(p in ("0", s) for p, s in zip(puzzle, solution))


# ----------------------------------------------------------------- symmetries

def _permutations(n: int, size: int, transpose: bool, randperm) -> torch.Tensor:
    """[n, cells] cell permutations from band/row/stack/column shuffles (and a transpose
    where `transpose`); `randperm(shape)` gives random permutations along the last axis."""
    br, bc = BOXES[size]
    bands, stacks = size // br, size // bc
    rows = randperm((n, bands)).repeat_interleave(br, 1) * br + randperm((n, bands, br)).reshape(n, size)
    cols = randperm((n, stacks)).repeat_interleave(bc, 1) * bc + randperm((n, stacks, bc)).reshape(n, size)
    perm = rows[:, :, None] * size + cols[:, None, :]
    if transpose:  # only square boxes: a transposed 2x3-box grid would have 3x2 boxes
        flip = randperm((n, 2))[:, 0].bool()
        perm = torch.where(flip[:, None, None], perm.transpose(1, 2), perm)
    return perm.reshape(n, size * size)


def _symbol_maps(n: int, size: int, randperm) -> torch.Tensor:
    """[n, 10] digit relabellings: 0 (blank) and digits above `size` stay fixed."""
    return torch.cat([torch.zeros(n, 1, dtype=torch.long), randperm((n, size)) + 1,
                      torch.arange(size + 1, len(ALPHABET)).expand(n, -1)], dim=1)


def _torch_randperm(generator: torch.Generator):
    return lambda shape: torch.rand(shape, generator=generator).argsort(dim=-1)


def _relabel(boards: tuple[str, ...], size: int, rng: random.Random) -> tuple[str, ...]:
    """The boards under one random symmetry (the same for all), drawn from `rng`."""
    def randperm(shape):
        rows = [rng.sample(range(shape[-1]), shape[-1]) for _ in range(math.prod(shape[:-1]))]
        return torch.tensor(rows).reshape(shape)
    perm = _permutations(1, size, BOXES[size][0] == BOXES[size][1], randperm)[0].tolist()
    symbols = _symbol_maps(1, size, randperm)[0].tolist()
    return tuple("".join(ALPHABET[symbols[int(b[p])]] for p in perm) for b in boards)


# ----------------------------------------------------------------- the generator

def full_grid(size: int, rng: random.Random) -> list[int]:
    """A random complete grid: randomised backtracking from an empty board."""
    return _search([0] * (size * size), size, 1, rng)[0]


def make_puzzle(size: int, blanks: int, rng: random.Random) -> tuple[str, str]:
    """(puzzle, solution) with exactly `blanks` blanks and exactly one solution.

    Blanks cells of a random grid in random order, keeping a blank only while the
    puzzle stays unique; a fresh grid when this one runs out of removable cells."""
    for _ in range(GRID_RETRIES):
        solution = full_grid(size, rng)
        grid = list(solution)
        order = list(range(size * size))
        rng.shuffle(order)
        removed = 0
        for cell in order:
            if removed == blanks:
                break
            grid[cell] = 0
            if len(_search(grid, size, 2)) == 1:
                removed += 1
            else:
                grid[cell] = solution[cell]
        if removed == blanks:
            return "".join(map(str, grid)), "".join(map(str, solution))
    raise ValueError(f"could not blank {blanks} cells of a {size}x{size} sudoku with a unique solution "
                     f"in {GRID_RETRIES} grids: lower the difficulty range")


# ----------------------------------------------------------------- files

def _read_puzzles(path: Path, source: str) -> list[tuple[int, str]]:
    """(line number, puzzle with '0' blanks) of a puzzle file, in file order."""
    if not path.is_file():
        raise FileNotFoundError(f"sudoku source {source!r}: {path} not found; set the task knob `path` "
                                f"to the file, or `data_dir` (or {ENV_VAR}) to the folder holding sudoku/")
    return list(_parse_file(str(path), path.stat().st_mtime_ns, source))


@lru_cache(maxsize=8)
def _parse_file(path: str, mtime_ns: int, source: str) -> tuple[tuple[int, str], ...]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            # diabolical.txt: "id puzzle rating"; the others: the puzzle alone
            if source == "diabolical" and len(fields) < 2:
                raise DataFormatError(path, line_no, "expected 'id puzzle rating'")
            out.append((line_no, _puzzle_text(fields[1] if source == "diabolical" else fields[0], path, line_no)))
    return tuple(out)


def _puzzle_text(text: str, source: str, line: int) -> str:
    puzzle = text.replace(".", "0")
    if len(puzzle) != 81:
        raise DataFormatError(source, line, f"a puzzle has 81 cells, this one {len(puzzle)}")
    if not puzzle.isdigit() or not puzzle.isascii():
        raise DataFormatError(source, line, f"bad characters in {text!r}: use digits 1-9 and '0' or '.' for blanks")
    return puzzle


def _label(puzzle: str, source: str, line: int) -> str:
    """The puzzle's unique solution, solved once per puzzle and cached."""
    key = (puzzle, 9)
    if key not in _SOLVED:
        found = _search([int(ch) for ch in puzzle], 9, 2)
        if len(found) != 1:
            raise DataFormatError(source, line, "puzzle has no solution" if not found
                                  else "puzzle has more than one solution")
        _SOLVED[key] = "".join(map(str, found[0]))
    return _SOLVED[key]


def _read_extreme(path: Path):
    """(line, puzzle, answer) of a Sudoku-Extreme CSV (source,question,answer,rating), lazily:
    the hub's training file has millions of rows and a caller needs only the first few."""
    if not path.is_file():
        raise FileNotFoundError(f"sudoku source 'extreme': {path} not found; set the task knob `path` to the CSV")
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        if not {"question", "answer"} <= set(reader.fieldnames or ()):
            raise DataFormatError(str(path), 1, "expected a header with columns question and answer")
        for row in reader:
            line = reader.line_num
            puzzle = _puzzle_text(row["question"] or "", str(path), line)
            answer = row["answer"] or ""
            if not is_solution(answer) or not fits(puzzle, answer):
                raise DataFormatError(str(path), line, "answer is not a valid grid that keeps the puzzle's givens")
            yield line, puzzle, answer


def _hub_download(filename: str) -> Path:
    """A Sudoku-Extreme file from the hub (cached by huggingface_hub)."""
    from huggingface_hub import hf_hub_download
    return Path(hf_hub_download(HUB_REPO, filename=filename, repo_type="dataset"))


# ----------------------------------------------------------------- the task

@register("sudoku")
@dataclass
class Sudoku(GridTask):
    """Sudoku puzzles to solve in place. Knobs: size, source, path, data_dir, difficulty, augment."""

    size: int = 9  # 4, 6 or 9 (boxes 2x2, 2x3, 3x3); file sources are 9x9
    source: str = "generated"  # see SOURCES
    path: str = ""  # a local file for a file source; overrides data_dir
    data_dir: str = ""  # folder holding sudoku/...; default $TRMLAB_DATA_DIR
    train_difficulty: tuple[int, int] | None = None  # blanks for train/dev/test; default per size
    ood_difficulty: tuple[int, int] | None = None  # blanks for ood; default per size
    augment: bool = True

    alphabet = ALPHABET

    def __post_init__(self):
        if self.size not in BOXES:
            raise ValueError(f"sudoku size must be one of {', '.join(map(str, BOXES))}, not {self.size!r}")
        if self.source not in SOURCES:
            raise ValueError(f"unknown sudoku source {self.source!r}; choose from {', '.join(SOURCES)}")
        if self.source != "generated" and self.size != 9:
            raise ValueError(f"sudoku source {self.source!r} is 9x9: set size=9")
        train, ood = DEFAULT_BLANKS[self.size]
        self.train_difficulty = self._blanks_range("train_difficulty", self.train_difficulty or train)
        self.ood_difficulty = self._blanks_range("ood_difficulty", self.ood_difficulty or ood)

    def _blanks_range(self, knob: str, value) -> tuple[int, int]:
        lo, hi = (int(v) for v in value)
        if not 0 <= lo <= hi < self.size * self.size:
            raise ValueError(f"{knob} must be (lo, hi) with 0 <= lo <= hi < {self.size * self.size}, not {value!r}")
        return lo, hi

    def shape(self) -> tuple[int, int]:
        return self.size, self.size

    def sample_augmentations(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor] | None:
        if not self.augment:
            return None
        randperm = _torch_randperm(generator)
        square = BOXES[self.size][0] == BOXES[self.size][1]
        return _permutations(n, self.size, square, randperm), _symbol_maps(n, self.size, randperm)

    def examples(self, split: str, n: int, seed: int = 0) -> list[Example]:
        splits = SPLITS + (("all",) if self.source != "generated" else ())
        if split not in splits:
            raise ValueError(f"unknown split {split!r} for sudoku source {self.source!r}; "
                             f"choose from {', '.join(splits)}")
        if self.source == "generated":
            return self._generated(split, n, seed)
        if self.source == "extreme":
            return self._extreme(split, n)
        path, out = self._file_path(), []
        for line, puzzle in _read_puzzles(path, self.source):
            if len(out) == n:
                break
            if split == "all" or in_split(puzzle, split):
                out.append(self._example(puzzle, _label(puzzle, str(path), line)))
        return out

    # ----- sources
    def _example(self, puzzle: str, answer: str) -> Example:
        return Example(puzzle, answer, puzzle.count("0"), self.source)

    def _generated(self, split: str, n: int, seed: int) -> list[Example]:
        lo, hi = self.ood_difficulty if split == "ood" else self.train_difficulty
        rng = random.Random(f"sudoku/{split}/{seed}")

        def draw() -> Example:
            puzzle, solution = make_puzzle(self.size, rng.randint(lo, hi), rng)
            # Symmetries keep a puzzle unique: relabel until it lands in the split's bucket,
            # far cheaper than generating ~20 puzzles per dev or test one.
            for _ in range(RELABEL_TRIES):
                if in_split(puzzle, split):
                    break
                puzzle, solution = _relabel((puzzle, solution), self.size, rng)
            return self._example(puzzle, solution)

        return draw_distinct(
            n, split, draw, budget=20 * n + 100,
            too_few=lambda made: f"sudoku could only make {made} distinct {self.size}x{self.size} {split} "
                                 f"puzzles (asked for {n}) with {lo}..{hi} blanks: widen the difficulty range")

    def _file_path(self) -> Path:
        if self.path:
            return Path(self.path).expanduser()
        root = self.data_dir or os.environ.get(ENV_VAR, "")
        if not root:
            raise FileNotFoundError(f"sudoku source {self.source!r} needs its file: set the task knob `path`, "
                                    f"or `data_dir` (or {ENV_VAR}) to the folder holding sudoku/{FILES[self.source]}")
        return Path(root).expanduser() / "sudoku" / FILES[self.source]

    def _extreme(self, split: str, n: int) -> list[Example]:
        if self.path:  # one local file: split it by hash like the other files
            rows = _read_extreme(Path(self.path).expanduser())
            keep = (lambda p: True) if split == "all" else (lambda p: in_split(p, split))
        else:  # the hub's files: dev from train.csv's dev bucket, test/ood/all = test.csv
            rows = _read_extreme(self._extreme_file("train.csv" if split in ("train", "dev") else "test.csv"))
            keep = {"train": lambda p: not in_split(p, "dev"), "dev": lambda p: in_split(p, "dev")}.get(
                split, lambda p: True)
        out = []
        for _, puzzle, answer in rows:
            if len(out) == n:
                break
            if keep(puzzle):
                out.append(self._example(puzzle, answer))
        return out

    def _extreme_file(self, filename: str) -> Path:
        root = self.data_dir or os.environ.get(ENV_VAR, "")
        local = Path(root).expanduser() / "sudoku" / "extreme" / filename
        if root and local.is_file():
            return local
        try:
            return _hub_download(filename)
        except Exception as e:  # offline, no huggingface_hub, or no access
            raise FileNotFoundError(f"sudoku source 'extreme': cannot fetch {filename} from the hub {HUB_REPO} "
                                    f"({type(e).__name__}: {e}); set the task knob `path` to a local CSV "
                                    "(columns source,question,answer,rating)") from None
