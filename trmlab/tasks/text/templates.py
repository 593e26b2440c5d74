"""Shared pieces of the procedural families: names, objects, phrasing and solution traces.

Names and words are short on purpose: character-level models read every letter.
"""
from __future__ import annotations

import random
import re
from dataclasses import replace

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


# ----- label-preserving augmentation (data.augment): renamings that keep every length

def by_length(words, key=len) -> list[list[str]]:
    """`words` grouped by `key` (their length, by default): a renaming within a group keeps the
    question's length, so a relabelled question fits the padded width of its split."""
    groups: dict = {}
    for w in words:
        groups.setdefault(key(w), []).append(w)
    return list(groups.values())


def shuffle_within(rng: random.Random, groups: list[list[str]]) -> dict[str, str]:
    """A random permutation of every group (a word maps to a word of its own group)."""
    mapping = {}
    for group in groups:
        mapping.update(zip(group, rng.sample(group, len(group))))
    return mapping


def rename(text: str, mapping: dict[str, str], plurals: bool = False) -> str:
    """Every whole word of `mapping` replaced at once (so a swap a<->b is a swap), matched in any
    case and written in the case it had (answers are lower-cased). `plurals`: also the stem of
    `wugs` and `daxes`."""
    if not mapping or not text:
        return text
    lower = {k.lower(): v for k, v in mapping.items()}
    words = "|".join(sorted(map(re.escape, lower), key=len, reverse=True))
    tail = r"(?=(?:es|s)?\b)" if plurals else r"\b"

    def swap(m: re.Match) -> str:
        word, new = m.group(0), lower[m.group(0).lower()]
        return new.capitalize() if word[0].isupper() else new.lower()

    return re.sub(rf"\b(?:{words}){tail}", swap, text, flags=re.IGNORECASE)


def renamed(example, mapping: dict[str, str], plurals: bool = False):
    """The example with `mapping` applied to its question, answer and solution."""
    return replace(example, question=rename(example.question, mapping, plurals),
                   answer=rename(example.answer, mapping, plurals),
                   solution=rename(example.solution, mapping, plurals))
