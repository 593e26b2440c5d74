"""Integer arithmetic expressions with + - * / and parentheses.

    What is 3 + 4 * 2?  -> 11        Compute (7 - 2) * 3.  -> 15

Difficulty = number of operations (1..8). The expression is a random binary tree
whose values are built bottom-up so that every division is exact and every
intermediate value lies in 0..max_value; the solution lists the operations in the
order they are evaluated. Operators are ASCII (* and /) so the char tokenizer reads them.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..base import Example, ProceduralTask, register
from .templates import Trace, phrase

TEMPLATES = ["What is {e}?", "Compute {e}.", "Evaluate {e}.", "Calculate {e}.", "{e} = ?",
             "What does {e} equal?", "Find the value of {e}."]
PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
LEAF = 3


@dataclass(frozen=True)
class Term:
    text: str
    value: int
    precedence: int  # LEAF for a number, else its operator's precedence
    op: str = ""


class _Retry(Exception):
    """No operation fits the two operands: draw the expression again."""


@register("arithmetic")
@dataclass
class Arithmetic(ProceduralTask):
    """Arithmetic expressions. Knobs: difficulty ranges, operand size, largest value."""

    train_difficulty: tuple[int, int] = (1, 4)
    ood_difficulty: tuple[int, int] = (5, 8)
    max_operand: int = 9
    max_value: int = 999

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        for _ in range(1000):
            trace = Trace()
            try:
                term = self._build(rng, difficulty, trace)
            except _Retry:
                continue
            question = phrase(rng, TEMPLATES, e=term.text)
            return Example(question, str(term.value), difficulty, self.name, str(trace))
        raise ValueError(f"arithmetic: no expression with {difficulty} operations fits "
                         f"max_operand={self.max_operand}, max_value={self.max_value}")

    def _build(self, rng: random.Random, n_ops: int, trace: Trace) -> Term:
        if n_ops == 0:
            value = rng.randint(1, self.max_operand)
            return Term(str(value), value, LEAF)
        n_left = rng.randint(0, n_ops - 1)
        left = self._build(rng, n_left, trace)
        right = self._build(rng, n_ops - 1 - n_left, trace)
        return self._combine(rng, left, right, trace)

    def _combine(self, rng: random.Random, left: Term, right: Term, trace: Trace) -> Term:
        ops = list(PRECEDENCE)
        rng.shuffle(ops)
        for op in ops:
            right_ = self._fit(rng, op, left, right)
            if right_ is not None:
                value = trace.apply(left.value, op, right_.value)
                return Term(_render(op, left, right_), value, PRECEDENCE[op], op)
        raise _Retry

    def _fit(self, rng: random.Random, op: str, left: Term, right: Term) -> Term | None:
        """`right` (or, for division by a number, a replacement divisor) if `op` is valid."""
        a, b = left.value, right.value
        if op == "+":
            return right if a + b <= self.max_value else None
        if op == "-":
            return right if a >= b else None
        if op == "*":
            return right if a * b <= self.max_value else None
        if right.precedence == LEAF:  # a number divisor can be re-drawn among a's divisors
            divisors = [d for d in range(2, self.max_operand + 1) if a % d == 0]
            if not divisors:
                return None
            d = rng.choice(divisors)
            return Term(str(d), d, LEAF)
        return right if b > 1 and a % b == 0 else None


def _render(op: str, left: Term, right: Term) -> str:
    """Text with only the parentheses the evaluation order needs (left-associative)."""
    p = PRECEDENCE[op]
    left_text = f"({left.text})" if left.precedence < p else left.text
    same_chain = right.op == op and op in "+*"
    needs = right.precedence < p or (right.precedence == p and not same_chain)
    right_text = f"({right.text})" if needs else right.text
    return f"{left_text} {op} {right_text}"
