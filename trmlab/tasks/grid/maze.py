"""Mazes: mark the shortest path from S to G on a walled grid (TRM/HRM's Maze-Hard).

A board is a row-major string of size*size cells over "# SGo": '#' wall, ' ' open,
'S' start, 'G' goal. The answer is the question with 'o' on the open cells of the
shortest S-G path (S and G stay S and G), read in place by the model.

Boards come from a generator (`source="generated"`) or from the Maze-Hard CSV
(`source="hard"`: `sapientinc/maze-30x30-hard-1k` on the hub, or a local `path`),
whose header is `source,question,answer,rating`.

The generator carves a perfect maze by randomised depth-first search on a lattice
of cells, opens a few extra walls (so the path is *shortest*, not merely the only
one), then puts S and G at least `min_path` steps apart on a pair whose shortest
path is unique, so the label is unambiguous. Splits go by a hash of the wall
layout in a canonical orientation: a layout (with any S, G, or any rotation or
reflection of it, which training augmentation produces) lives in one split only.
"""
from __future__ import annotations

import csv
import os
import random
from collections import deque
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import torch

from ..base import SPLITS, Example, in_split, register
from ..real.base import ENV_VAR, DataFormatError
from .base import GridTask, dihedral_permutations

ALPHABET = "# SGo"
HUB_REPO = "sapientinc/maze-30x30-hard-1k"
FOLDER = "maze"  # the hard set's folder under the data directory: train.csv, test.csv
WALL, OPEN = ord("#"), ord(" ")


@register("maze")
@dataclass
class Maze(GridTask):
    """Shortest paths in mazes. Knobs: size, ood_size, min_path, max_path, openings, source,
    path, data_dir, augment. With `max_path` set, train/dev/test paths are min_path..max_path
    steps and `ood` paths are longer; without it, ood is drawn like test. With `ood_size`,
    ood boards are ood_size x ood_size (bigger than trained), drawn the same way at that side
    (the default min_path and openings scale with it)."""

    alphabet = ALPHABET

    size: int = 30
    ood_size: int | None = None  # the ood split's board side; default size
    min_path: int | None = None  # fewest steps S->G; default ~ size*size/8 (110 at 30x30)
    max_path: int | None = None  # most steps in train/dev/test; ood goes beyond it
    openings: int | None = None  # extra walls opened after carving; default size // 8
    source: str = "generated"  # "generated" | "hard" (Maze-Hard CSV)
    path: str = ""  # a local Maze-Hard CSV, or a folder with train.csv and test.csv
    data_dir: str = ""  # default $TRMLAB_DATA_DIR; the hard set may sit in <data_dir>/maze/
    augment: bool = True  # a random rotation/reflection per training row

    def __post_init__(self):
        if self.source not in ("generated", "hard"):
            raise ValueError(f"maze source must be 'generated' or 'hard', not {self.source!r}")
        for knob, side in (("size", self.size), ("ood_size", self.ood_size)):
            if side is not None and side < 5:
                raise ValueError(f"maze {knob} must be at least 5, not {side}")
        if self.ood_size is not None and self.reads_csv:
            raise ValueError("maze ood_size draws generated mazes: the Maze-Hard CSV has one size")
        if self.max_path is not None and self.max_path < self.floor:
            raise ValueError(f"maze max_path {self.max_path} is below min_path {self.floor}")

    @property
    def floor(self) -> int:
        """Fewest steps S->G of the trained boards."""
        return self.fewest_steps(self.size)

    def fewest_steps(self, side: int) -> int:
        """min_path, or by default ~ side*side/8 (110 at 30x30, as in Maze-Hard)."""
        return self.min_path if self.min_path is not None else round(110 * side ** 2 / 900)

    def side(self, split: str) -> int:
        """The board side of a split's mazes."""
        return self.ood_size if split == "ood" and self.ood_size is not None else self.size

    @property
    def reads_csv(self) -> bool:
        return self.source == "hard" or bool(self.path)

    # ----- the grid interface
    def shape(self) -> tuple[int, int]:
        """The trained boards' (ood's may be `ood_size`)."""
        return self.size, self.size

    def most_cells(self) -> int:
        return max(self.size, self.ood_size or 0) ** 2

    def sample_augmentations(self, n: int, generator: torch.Generator):
        if not self.augment:
            return None
        perms = dihedral_permutations(self.size, self.size)
        pick = torch.randint(len(perms), (n,), generator=generator)
        return perms[pick], torch.arange(len(ALPHABET)).expand(n, len(ALPHABET)).clone()

    # ----- examples
    def examples(self, split: str, n: int, seed: int = 0) -> list[Example]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
        if self.reads_csv:
            rows = list(self._csv_splits[split])
            random.Random(f"{self.name}/{split}/{seed}").shuffle(rows)
            return rows[:n]
        return self._generate(split, n, random.Random(f"{self.name}/{split}/{seed}"))

    def path_range(self, split: str) -> tuple[int, int]:
        """(fewest, most) steps S->G of the split's mazes."""
        side = self.side(split)
        if self.max_path is None:
            return self.fewest_steps(side), side * side
        return (self.max_path + 1, side * side) if split == "ood" else (self.floor, self.max_path)

    def _generate(self, split: str, n: int, rng: random.Random) -> list[Example]:
        lo, hi = self.path_range(split)
        size = self.side(split)
        openings = self.openings if self.openings is not None else size // 8
        seen: set[str] = set()
        out: list[Example] = []
        failures = elsewhere = 0
        while len(out) < n:
            cells = carve(size, rng, openings)
            if not in_split(layout_key(cells, size), split):
                elsewhere += 1  # another split's layout: skip before the costly part
                if elsewhere > 100 * (200 + 20 * len(out)):  # a small side has few layouts: none may be this split's
                    raise ValueError(f"maze: could only make {len(out)} distinct {split} mazes (asked for {n}) "
                                     f"of size {size}: too few layouts of that size fall in the {split} split; "
                                     f"raise size (9 or more)")
                continue
            ex = place_ends(cells, size, rng, lo, hi)
            if ex is None or ex.question in seen:
                failures += 1
                # Fail fast when under ~1 in 20 in-split layouts yields a new maze.
                if failures > 200 + 20 * len(out):
                    raise ValueError(
                        f"maze: could only make {len(out)} distinct {split} mazes (asked for {n}) "
                        f"of size {size} with paths of {lo}..{hi} steps: lower min_path/max_path "
                        f"or raise size")
                continue
            seen.add(ex.question)
            out.append(ex)
        return out

    # ----- the Maze-Hard CSV
    @cached_property
    def _csv_splits(self) -> dict[str, list[Example]]:
        train_file, test_file = self._csv_files()
        test = read_maze_csv(test_file, self.size) if test_file else []
        taken = {e.question for e in test}
        train = [e for e in read_maze_csv(train_file, self.size) if e.question not in taken]
        dev = [e for e in train if in_split(layout_key(e.question, self.size), "dev")]
        if test_file:  # the official test file: all but dev trains
            train = [e for e in train if not in_split(layout_key(e.question, self.size), "dev")]
        else:  # one file: carve test out of it by hash too
            test = [e for e in train if in_split(layout_key(e.question, self.size), "test")]
            train = [e for e in train if in_split(layout_key(e.question, self.size), "train")]
        return {"train": train, "dev": dev, "test": test, "ood": test}

    def _csv_files(self) -> tuple[Path, Path | None]:
        """(train file, test file or None): from `path`, the data directory, else the hub."""
        if self.path:
            p = Path(self.path).expanduser()
            if p.is_dir():
                return _pair(p)
            if not p.is_file():
                raise FileNotFoundError(f"maze path {p}: no such file or folder")
            return p, None
        root = self.data_dir or os.environ.get(ENV_VAR, "")
        if root and (Path(root).expanduser() / FOLDER / "train.csv").is_file():
            return _pair(Path(root).expanduser() / FOLDER)
        return _hub_file("train.csv"), _hub_file("test.csv")


def _pair(folder: Path) -> tuple[Path, Path | None]:
    train, test = folder / "train.csv", folder / "test.csv"
    if not train.is_file():
        raise FileNotFoundError(f"maze: {train} not found")
    return train, test if test.is_file() else None


def _hub_file(filename: str) -> Path:
    try:
        from huggingface_hub import hf_hub_download
        return Path(hf_hub_download(HUB_REPO, filename=filename, repo_type="dataset"))
    except Exception as e:  # offline, not installed, or not found: say how to give it locally
        raise FileNotFoundError(
            f"maze source='hard' could not fetch {HUB_REPO}/{filename} from the Hugging Face hub "
            f"({type(e).__name__}); give a local Maze-Hard CSV (or a folder with train.csv and "
            f"test.csv) with the task knob path=..., or put them in $TRMLAB_DATA_DIR/{FOLDER}/") from None


# ----------------------------------------------------------------- the generator

def carve(size: int, rng: random.Random, openings: int) -> bytearray:
    """A walled size x size board (b'#'/b' ') holding a randomised-DFS perfect maze on a
    lattice of cells two apart, plus `openings` extra walls knocked through."""
    offsets = _offsets(size)
    cells, neighbours, walls = _lattice(size, rng.choice(offsets), rng.choice(offsets))
    board = bytearray([WALL]) * (size * size)
    seen = bytearray(len(cells))
    first = rng.randrange(len(cells))
    seen[first], board[cells[first]] = 1, OPEN
    stack = [first]
    while stack:
        fresh = [j for j in neighbours[stack[-1]] if not seen[j]]
        if not fresh:
            stack.pop()
            continue
        j = fresh[rng.randrange(len(fresh))]
        seen[j] = 1
        board[cells[j]] = board[(cells[j] + cells[stack[-1]]) // 2] = OPEN
        stack.append(j)
    for _ in range(4 * openings):  # a perfect maze keeps about half its inner walls
        if openings <= 0:
            break
        w = walls[rng.randrange(len(walls))]
        if board[w] == WALL:
            board[w], openings = OPEN, openings - 1
    return board


@lru_cache(maxsize=None)
def _lattice(size: int, row_off: int, col_off: int) -> tuple[list[int], list[list[int]], list[int]]:
    """(board index of each lattice cell, each cell's lattice neighbours, the board index of
    every wall between two neighbours) for cells at (row_off + 2r, col_off + 2c)."""
    rows, cols = (size - 2 - row_off) // 2 + 1, (size - 2 - col_off) // 2 + 1
    cells = [(row_off + 2 * r) * size + col_off + 2 * c for r in range(rows) for c in range(cols)]
    neighbours = [[(r + dr) * cols + c + dc for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1))
                   if 0 <= r + dr < rows and 0 <= c + dc < cols]
                  for r in range(rows) for c in range(cols)]
    walls = sorted({(cells[k] + cells[j]) // 2 for k in range(len(cells)) for j in neighbours[k]})
    return cells, neighbours, walls


def _offsets(size: int) -> tuple[int, ...]:
    """Where the lattice may start: an even board has room for 1 or 2 per axis, so its
    spare wall line falls on either side."""
    return (1, 2) if size % 2 == 0 else (1,)


def bfs(board, size: int, src: int) -> tuple[list[int], list[int]]:
    """(steps from src, number of shortest paths capped at 2) for every cell; -1 unreachable.
    The board is walled all round, so neighbours never leave it."""
    dist, count = [-1] * len(board), [0] * len(board)
    dist[src], count[src] = 0, 1
    queue = deque([src])
    while queue:
        i = queue.popleft()
        for j in (i - size, i + size, i - 1, i + 1):
            if board[j] == WALL:
                continue
            if dist[j] < 0:
                dist[j], count[j] = dist[i] + 1, count[i]
                queue.append(j)
            elif dist[j] == dist[i] + 1:
                count[j] = min(2, count[j] + count[i])
    return dist, count


def place_ends(board: bytearray, size: int, rng: random.Random, lo: int, hi: int) -> Example | None:
    """Put S and G lo..hi steps apart with a unique shortest path, and mark it; None if no
    such pair starts at the far end of the maze."""
    opened = [i for i, v in enumerate(board) if v == OPEN]
    dist, _ = bfs(board, size, rng.choice(opened))
    far = max(opened, key=dist.__getitem__)  # one end of a (near-)longest path
    dist, count = bfs(board, size, far)
    ends = [i for i in opened if lo <= dist[i] <= hi and count[i] == 1]
    if not ends:
        return None
    other = rng.choice(ends)
    start, goal = (far, other) if rng.random() < 0.5 else (other, far)
    question = bytearray(board)
    question[start], question[goal] = ord("S"), ord("G")
    answer = bytearray(question)
    for i in trace(dist, size, far, other)[1:-1]:
        answer[i] = ord("o")
    steps = dist[other]
    return Example(question.decode(), answer.decode(), steps // 10, "generated")


def trace(dist: list[int], size: int, src: int, dst: int) -> list[int]:
    """The cells of the shortest path dst -> src, down the distance field (unique here)."""
    path = [dst]
    while path[-1] != src:
        i = path[-1]
        path.append(next(j for j in (i - size, i + size, i - 1, i + 1) if dist[j] == dist[i] - 1))
    return path


def layout_key(board, size: int) -> str:
    """The wall layout in its canonical orientation (least of the 8 rotations/reflections),
    as split-hash text: '#' walls, '.' everything else."""
    raw = board.encode() if isinstance(board, str) else bytes(board)
    grid = (np.frombuffer(raw, dtype=np.uint8).reshape(size, size) == WALL).view(np.uint8)
    views = [np.rot90(g, k) for g in (grid, grid.T) for k in range(4)]
    least = min(np.ascontiguousarray(v).tobytes() for v in views)
    return least.translate(bytes.maketrans(b"\x00\x01", b".#")).decode()


# ----------------------------------------------------------------- the CSV

def read_maze_csv(path: Path, size: int) -> list[Example]:
    """Every row of a Maze-Hard CSV as an Example, each checked; a DataFormatError names
    the file and line of the first bad one."""
    out = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"question", "answer"} - set(reader.fieldnames or ())
        if missing:
            raise DataFormatError(str(path), 1, f"header lacks {', '.join(sorted(missing))}; "
                                                f"expected source,question,answer,rating")
        for row in reader:
            question, answer = row.get("question") or "", row.get("answer") or ""
            steps = check_pair(question, answer, size)
            if isinstance(steps, str):
                raise DataFormatError(str(path), reader.line_num, steps)
            out.append(Example(question, answer, steps // 10, row.get("source") or "hard"))
    return out


def check_pair(question: str, answer: str, size: int) -> int | str:
    """The path's steps if `answer` is `question` with 'o' on a shortest S-G path, else
    what is wrong with the pair."""
    cells = size * size
    for name, board in (("question", question), ("answer", answer)):
        if len(board) != cells:
            return f"{name} has {len(board)} cells, expected {cells} ({size}x{size})"
        if set(board) - set(ALPHABET):
            return f"{name} has characters outside {ALPHABET!r}: {sorted(set(board) - set(ALPHABET))}"
    if "o" in question or question.count("S") != 1 or question.count("G") != 1:
        return "question needs exactly one S, one G and no 'o'"
    if any(q != a and not (q == " " and a == "o") for q, a in zip(question, answer)):
        return "answer differs from the question other than by 'o' on open cells"
    padded = _pad(question, size)  # a wall border, so bfs needs no bounds checks
    start, goal = (_index(question.index(ch), size) for ch in "SG")
    dist, _ = bfs(padded, size + 2, start)
    if dist[goal] < 0:
        return "G cannot be reached from S"
    marked = _pad(answer.replace(" ", "#"), size)  # only S, G and the 'o' cells are open
    if bfs(marked, size + 2, start)[0][goal] != dist[goal] or answer.count("o") != dist[goal] - 1:
        return f"the 'o' cells are not a shortest S-G path ({dist[goal]} steps)"
    return dist[goal]


def _pad(board: str, size: int) -> bytes:
    rows = [b"#" + board[i:i + size].encode() + b"#" for i in range(0, size * size, size)]
    edge = b"#" * (size + 2)
    return edge + b"".join(rows) + edge


def _index(i: int, size: int) -> int:
    """A cell's index on the board padded by one wall all round."""
    return (i // size + 1) * (size + 2) + i % size + 1
