"""Comparisons and counting over short lists.

    Which is the largest: 14, 9, 23?  -> 23       Ann has 5 cups, Bo 9, Cy 2. Who has the most?  -> bo
    How many 7s are in 7, 2, 7, 4?  -> 2           What is the largest minus the smallest of 3, 9, 4?  -> 6

Difficulty = number of items compared beyond the first (a list of difficulty + 1
items), so harder questions scan longer lists; the solution is the running result.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..base import Example, ProceduralTask, normalize_answer, register
from .templates import OBJECTS, Trace, people, phrase

COLORS = ["red", "blue", "green", "pink", "gray"]


@register("comparison")
@dataclass
class Comparison(ProceduralTask):
    """Largest/smallest, counting and differences. Knobs: difficulty ranges, number size."""

    train_difficulty: tuple[int, int] = (1, 4)
    ood_difficulty: tuple[int, int] = (5, 8)
    max_number: int = 99

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        make = rng.choice([self._extreme, self._named_extreme, self._count, self._difference])
        question, answer, solution = make(rng, difficulty + 1)
        return Example(question, normalize_answer(answer), difficulty, self.name, solution)

    def _numbers(self, rng: random.Random, k: int) -> list[int]:
        return rng.sample(range(1, self.max_number + 1), k)  # distinct: one right answer

    def _extreme(self, rng: random.Random, k: int) -> tuple[str, str, str]:
        values, big = self._numbers(rng, k), rng.random() < 0.5
        listed = ", ".join(map(str, values))
        word = "larger" if big else "smaller"
        if k == 2:
            question = phrase(rng, ["Which is {w}, {a} or {b}?", "Which number is {w}: {a} or {b}?"],
                              w=word, a=values[0], b=values[1])
        else:
            question = phrase(rng, ["Which is the {w}: {l}?", "What is the {w} number in {l}?"],
                              w="largest" if big else "smallest", l=listed)
        return question, str(max(values) if big else min(values)), _running(values, big)

    def _named_extreme(self, rng: random.Random, k: int) -> tuple[str, str, str]:
        names, values, thing = people(rng, k), self._numbers(rng, k), rng.choice(OBJECTS)
        big = rng.random() < 0.5
        owners = [f"{names[0]} has {values[0]} {thing}"] + [f"{n} {v}" for n, v in zip(names[1:], values[1:])]
        question = f"{', '.join(owners)}. Who has the {'most' if big else 'fewest'}?"
        best = values.index(max(values) if big else min(values))
        return question, names[best], _running(values, big)

    def _count(self, rng: random.Random, k: int) -> tuple[str, str, str]:
        if rng.random() < 0.5:
            pool = [str(d) for d in rng.sample(range(1, 10), 3)]
            items = [rng.choice(pool) for _ in range(k)]
            target = rng.choice(items)
            question = phrase(rng, ["How many {x}s are in {l}?", "Count the {x}s in {l}."],
                              x=target, l=", ".join(items))
        else:
            pool = rng.sample(COLORS, 3)
            items = [rng.choice(pool) for _ in range(k)]
            target = rng.choice(items)
            question = f"The balls are {', '.join(items)}. How many are {target}?"
        counts, seen = [], 0
        for item in items:
            seen += item == target
            counts.append(str(seen))
        return question, str(seen), "count " + ", ".join(counts)

    def _difference(self, rng: random.Random, k: int) -> tuple[str, str, str]:
        values, trace = self._numbers(rng, k), Trace()
        if k == 2:
            (a, b), thing = people(rng, 2), rng.choice(OBJECTS)
            hi, lo = max(values), min(values)
            va, vb = (hi, lo) if rng.random() < 0.5 else (lo, hi)
            more = a if va > vb else b
            question = f"{a} has {va} {thing}. {b} has {vb}. How many more does {more} have?"
        else:
            hi, lo = max(values), min(values)
            question = f"What is the largest minus the smallest of {', '.join(map(str, values))}?"
            trace.note(f"largest {hi}")
            trace.note(f"smallest {lo}")
        answer = trace.apply(hi, "-", lo)
        return question, str(answer), str(trace)


def _running(values: list[int], big: bool) -> str:
    """The running maximum (or minimum) as the list is scanned."""
    pick, best, steps = (max if big else min), values[0], []
    for v in values[1:]:
        new = pick(best, v)
        steps.append(f"{pick.__name__}({best},{v})={new}")
        best = new
    return "; ".join(steps)
