"""n-ary addition: the sum of n zero-padded numbers of d digits (Saunshi et al. 2025).

    31 + 12 + 04 + 82 =  -> 129

Difficulty = n, the number of operands. Every operand has exactly `digits` digits
(zero-padded), so the question's layout depends only on n, and the answer is the
plain sum (at most digits + 1 characters while n <= 10). Carries chain across all
n operands, which is why the depth a model needs grows with n. The OOD split adds
more operands than training had.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from .base import Example, ProceduralTask, register


@register("nary_addition")
@dataclass
class NaryAddition(ProceduralTask):
    """Sum of n zero-padded d-digit numbers. Knobs: operand-count ranges (difficulty), digits."""

    train_difficulty: tuple[int, int] = (2, 4)
    ood_difficulty: tuple[int, int] = (5, 6)
    digits: int = 2

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        if difficulty < 2:
            raise ValueError(f"nary_addition: difficulty is the number of operands, at least 2 (got {difficulty})")
        operands = [rng.randrange(10 ** self.digits) for _ in range(difficulty)]
        question = " + ".join(f"{x:0{self.digits}d}" for x in operands) + " ="
        partial, steps = 0, []
        for x in operands:
            partial += x
            steps.append(str(partial))
        return Example(question, str(partial), difficulty, self.name, "; ".join(steps))
