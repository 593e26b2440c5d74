"""In-place sorting: a string of digits and, in place, the same digits sorted (duplicates kept).

    question  3141592
    answer    1123459

Beyond finite state: the answer at a position depends on how many digits of each kind the whole
string holds, which no left-to-right reader with a fixed state can carry at every length, and a
fixed-depth network sees only so far. A loop over depth can: odd-even transposition sort compares
and swaps neighbours, n rounds for n items, one local rule repeated (Delétang et al. 2023 find
sorting out of reach of LSTMs and transformers beyond the trained lengths). Difficulty = the number
of items; the OOD split asks for longer strings, with the same digits at every length. The solution
field counts each digit.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..base import Example, ProceduralTask, register

DIGITS = "0123456789"


@register("in_place_sort")
@dataclass
class InPlaceSort(ProceduralTask):
    """Sort a digit string in place. Knobs: length ranges (difficulty = items), `symbols` (how many
    distinct digits, 2-10: fewer means more duplicates)."""

    train_difficulty: tuple[int, int] = (4, 16)
    ood_difficulty: tuple[int, int] = (32, 32)
    symbols: int = 10

    in_place = True
    alphabet = DIGITS

    def __post_init__(self):
        if not 2 <= self.symbols <= len(DIGITS):
            raise ValueError(f"in_place_sort: symbols={self.symbols!r}: must be 2 to {len(DIGITS)}")

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        items = "".join(rng.choice(DIGITS[:self.symbols]) for _ in range(difficulty))
        counts = " ".join(f"{d}x{items.count(d)}" for d in DIGITS[:self.symbols] if d in items)
        return Example(items, "".join(sorted(items)), difficulty, self.name, counts)
