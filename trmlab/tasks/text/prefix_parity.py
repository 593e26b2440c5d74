"""Prefix parity (running parity, "prefix sums mod 2"; Bansal et al. 2022): a bit string
and, in place at every position, the parity of the bits up to and including it.

    question  0110100
    answer    0100111

Difficulty = the string's length in bits, so the OOD split asks for longer strings than
any trained on, with the same rule at every length. The answer is read in place: one
output per question position (`in_place`), by the reasoner at the question's own tokens;
the transformer LM writes the same string after the question. A right answer is the whole
string right. The solution field lists the running count of ones.

With the knob `trace=True` the task is not answered in place: the LM writes a trace after the
question, each input bit copied then the running parity after it, `bit>parity`, items separated
by single spaces (question 1011, answer `1>1 0>1 1>0 1>1`). The trace is a scratchpad that makes
every step local (Anil et al. 2022; Zhou et al. 2023, RASP-L): each state is a function of the
state one item back and the bit just copied, so the LM never needs to attend across the whole
string. Its states ARE the in-place answer, so the LM gets the same supervision as the in-place
loop. Questions, their split and difficulty are the same with and without the trace (the same
draws); `score_predictions` reads a predicted trace back: all states right, the last one right,
the inputs copied right.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..base import Example, ProceduralTask, register
from .trace import TRACE_ARROW, score_traces, write_trace

def prefix_parity(bits: str) -> str:
    """The running parity of a bit string."""
    out, parity = [], 0
    for b in bits:
        parity ^= b == "1"
        out.append(str(int(parity)))
    return "".join(out)


def parity_trace(bits: str) -> str:
    """The trace answer: each bit, then the running parity after it."""
    return write_trace(bits, prefix_parity(bits), " ")


@register("prefix_parity")
@dataclass
class PrefixParity(ProceduralTask):
    """Running parity of a bit string. Knobs: length ranges (difficulty = bits); `trace`: answer
    with the trace, written after the question, instead of in place."""

    train_difficulty: tuple[int, int] = (4, 16)
    ood_difficulty: tuple[int, int] = (32, 32)
    trace: bool = False

    @property
    def in_place(self) -> bool:
        return not self.trace

    @property
    def alphabet(self) -> str:  # the trace's symbols last: a question's ids are the same either way
        return "01" + (" " + TRACE_ARROW if self.trace else "")

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        bits = "".join(rng.choice("01") for _ in range(difficulty))
        ones = " ".join(str(bits[:i + 1].count("1")) for i in range(difficulty))
        answer = parity_trace(bits) if self.trace else prefix_parity(bits)
        return Example(bits, answer, difficulty, self.name, ones)

    def score_predictions(self, examples: list[Example], predictions: list[str]) -> dict:
        if not self.trace:
            return {}
        return score_traces(examples, predictions, " ", lambda bits: (list(bits), list(prefix_parity(bits))))
