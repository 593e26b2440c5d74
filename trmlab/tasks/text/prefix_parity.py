"""Prefix parity (running parity, "prefix sums mod 2"; Bansal et al. 2022): a bit string
and, in place at every position, the parity of the bits up to and including it.

    question  0110100
    answer    0100111

Difficulty = the string's length in bits, so the OOD split asks for longer strings than
any trained on, with the same rule at every length. The answer is read in place: one
output per question position (`in_place`), by the reasoner at the question's own tokens;
the transformer LM writes the same string after the question. A right answer is the whole
string right. The solution field lists the running count of ones.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..base import Example, ProceduralTask, register


def prefix_parity(bits: str) -> str:
    """The running parity of a bit string."""
    out, parity = [], 0
    for b in bits:
        parity ^= b == "1"
        out.append(str(int(parity)))
    return "".join(out)


@register("prefix_parity")
@dataclass
class PrefixParity(ProceduralTask):
    """Running parity of a bit string. Knobs: length ranges (difficulty = bits)."""

    train_difficulty: tuple[int, int] = (4, 16)
    ood_difficulty: tuple[int, int] = (32, 32)

    in_place = True
    alphabet = "01"

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        bits = "".join(rng.choice("01") for _ in range(difficulty))
        ones = " ".join(str(bits[:i + 1].count("1")) for i in range(difficulty))
        return Example(bits, prefix_parity(bits), difficulty, self.name, ones)
