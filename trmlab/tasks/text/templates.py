"""Shared pieces of the procedural families: names, objects, phrasing and solution traces.

Names and words are short on purpose: character-level models read every letter.
"""
from __future__ import annotations

import random

NAMES = ["Ann", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Ida", "Jo", "Kim", "Lu", "Max",
         "Ned", "Oli", "Pam", "Rex", "Sue", "Tom", "Uma", "Val"]
OBJECTS = ["pens", "cards", "eggs", "coins", "books", "shells", "stamps", "apples", "marbles",
           "cups", "hats", "balls"]
# Made-up category words: syllogisms must be solved from the text, not from world knowledge.
NONSENSE = ["wug", "dax", "fep", "zorp", "blick", "glim", "tove", "snark", "plonk", "quib",
            "vorn", "yeld", "krin", "mab", "trel", "jub"]


def phrase(rng: random.Random, templates: list[str], **fill) -> str:
    """One template, picked at random, filled in."""
    return rng.choice(templates).format(**fill)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def people(rng: random.Random, k: int) -> list[str]:
    return rng.sample(NAMES, k)


class Trace:
    """The step-by-step solution of an integer computation: `a op b = c` per step.

    `apply` refuses inexact division, so a generator cannot silently produce a
    fractional intermediate value.
    """

    def __init__(self):
        self.steps: list[str] = []

    def apply(self, a: int, op: str, b: int) -> int:
        if op == "/" and (b == 0 or a % b):
            raise ValueError(f"{a}/{b} is not an exact division")
        value = {"+": a + b, "-": a - b, "*": a * b, "/": a // b if b else 0}[op]
        self.steps.append(f"{a}{op}{b}={value}")
        return value

    def note(self, text: str) -> None:
        self.steps.append(text)

    def __len__(self) -> int:
        return len(self.steps)

    def __str__(self) -> str:
        return "; ".join(self.steps)
