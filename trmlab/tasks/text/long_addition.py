"""Long addition with the digits aligned, answered in place: the columns of two n-digit
numbers, least significant first, one column `a_i b_i` per pair of digits, columns
separated by commas; the sum's digit is written at each column's first digit.

    352 + 19 = 371   ->   question  29,51,30,00   (each number padded to n + 1 digits)
                          answer    1__7__3__0_

Every column has the same local rule (digit sum plus the carry from the column before),
so the rule learned on short numbers is the rule for long ones, and the carry is the one
thing that must travel: a chain of carries (999 + 1) crosses the whole number. The
separators make each position's role visible from its neighbours; without them (digits
simply interleaved) the looped model learned the trained sizes (test 0.988) but not
longer ones (16 digits 0.47, 32 digits 0.04, one seed, 1,000 steps), because whether a
digit belongs to the first or the second number is itself a parity that must travel from
the start. Positions that hold no sum digit answer the filler `_`, a fixed output, so every
position has a target and a settled answer is a settled string. Difficulty = n, the
operands' digits (both drawn with exactly n digits); the OOD split asks for more digits
than any trained on. Random operands rarely carry far (a carry survives a column with
probability about 0.1), so a model that looks a few columns back gets most long sums right;
the knob `carry_chain` makes that fraction of the questions carry from the first column
through every column (first column's digits sum to 10 or more, every later one to 9).
`test_carry_chain` sets the fraction for the test and OOD splits apart from training's (train
and dev). Beware: a model trained on chained sums learns that every run of 9-columns carries,
which passes a chained test without carrying (results/extrap-cpu/chained-training/). The
transformer LM writes the sum's digits (reversed, n + 1 of them) after the question. McLeish et al. (2024) gave digits their place within the number as a
position; here local attention (`model.window`) and relative positions do that job.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace

from ..base import Example, ProceduralTask, register

FILLER = "_"
SEPARATOR = ","


def columns(a: int, b: int, n: int) -> str:
    """The question for a + b with n-digit operands: digit pairs, least significant first."""
    ra, rb = str(a).zfill(n + 1)[::-1], str(b).zfill(n + 1)[::-1]
    return SEPARATOR.join(x + y for x, y in zip(ra, rb))


def column_answer(question: str) -> str:
    """The in-place answer of a column question, computed column by column."""
    out, carry = [], 0
    for column in question.split(SEPARATOR):
        total = int(column[0]) + int(column[1]) + carry
        out.append(str(total % 10) + FILLER)
        carry = total // 10
    return FILLER.join(out)


def chained_operands(rng: random.Random, n: int) -> tuple[int, int]:
    """Two n-digit numbers whose sum carries out of the first column and through every other."""
    a0 = rng.randint(1, 9)
    digits = [(a0, rng.randint(10 - a0, 9))]
    for i in range(1, n):
        x = rng.randint(1, 8) if i == n - 1 else rng.randint(0, 9)  # no leading zero in either
        digits.append((x, 9 - x))
    return (int("".join(str(x) for x, _ in reversed(digits))),
            int("".join(str(y) for _, y in reversed(digits))))


@register("long_addition")
@dataclass
class LongAddition(ProceduralTask):
    """Aligned long addition. Knobs: operand-digit ranges (difficulty = digits) and the
    fraction of questions whose carry crosses every column (`carry_chain`, 0 to 1; for the test
    and OOD splits `test_carry_chain` when it is set)."""

    train_difficulty: tuple[int, int] = (1, 8)
    ood_difficulty: tuple[int, int] = (16, 16)
    carry_chain: float = 0.0
    test_carry_chain: float | None = None

    def __post_init__(self):
        for knob in ("carry_chain", "test_carry_chain"):
            value = getattr(self, knob)
            if value is not None and not 0 <= value <= 1:
                raise ValueError(f"long_addition: {knob} is a fraction of the questions, 0 to 1, not {value!r}")

    def examples(self, split: str, n: int, seed: int = 0) -> list[Example]:
        if self.test_carry_chain is None or split in ("train", "dev"):
            return super().examples(split, n, seed)
        return replace(self, carry_chain=self.test_carry_chain, test_carry_chain=None).examples(split, n, seed)

    in_place = True
    alphabet = "0123456789" + FILLER + SEPARATOR
    filler = FILLER

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        if self.carry_chain and rng.random() < self.carry_chain:
            a, b = chained_operands(rng, difficulty)
        else:
            lo, hi = (0 if difficulty == 1 else 10 ** (difficulty - 1)), 10 ** difficulty - 1
            a, b = rng.randint(lo, hi), rng.randint(lo, hi)
        question = columns(a, b, difficulty)
        return Example(question, column_answer(question), difficulty, self.name, f"{a}+{b}={a + b}")
