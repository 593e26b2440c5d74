"""Multi-step arithmetic word problems: a short story about one person's things.

    Ann has 7 pens. She buys 3 more. She gives 4 to Bo. How many pens does Ann have?  -> 6

Difficulty = number of operations after the opening quantity (1..8). Every
intermediate amount stays in 0..max_value, so the answer is a small integer; the
operation chain is kept as a step-by-step solution.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..base import Example, ProceduralTask, register
from .templates import by_length, renamed, shuffle_within

PEOPLE = [("Ann", "She"), ("Bo", "He"), ("Cy", "He"), ("Di", "She"), ("Ed", "He"),
          ("Flo", "She"), ("Gus", "He"), ("Ida", "She"), ("Max", "He"), ("Sue", "She")]
THINGS = ["pens", "cards", "eggs", "coins", "books", "shells", "stamps", "apples", "marbles", "cups"]

OPENINGS = ["{P} has {a} {t}.", "{P} starts with {a} {t}.", "{P} owns {a} {t}."]
ADD = ["{S} buys {k} more.", "{S} finds {k} more.", "{S} gets {k} more.", "{O} gives {P} {k} more."]
SUB = ["{S} gives {k} to {O}.", "{S} loses {k}.", "{S} sells {k}.", "{O} takes {k}."]
MUL = {2: ["{S} doubles them.", "{S} ends up with twice as many."],
       3: ["{S} triples them.", "{S} ends up with three times as many."]}
DIV = {2: ["{S} gives away half.", "{S} keeps half of them."],
       3: ["{S} keeps a third of them."]}
QUESTIONS = ["How many {t} does {P} have?", "How many {t} does {P} have now?",
             "How many {t} are left with {P}?"]


@register("story_arithmetic")
@dataclass
class StoryArithmetic(ProceduralTask):
    """Arithmetic stories. Knobs: difficulty ranges, operand size, largest amount."""

    train_difficulty: tuple[int, int] = (1, 3)
    ood_difficulty: tuple[int, int] = (4, 5)
    max_operand: int = 9
    max_value: int = 99

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        person, subject = rng.choice(PEOPLE)
        other = rng.choice([p for p, _ in PEOPLE if p != person])
        thing = rng.choice(THINGS)
        value = rng.randint(1, self.max_operand)
        fill = dict(P=person, S=subject, O=other, t=thing)
        sentences = [rng.choice(OPENINGS).format(a=value, **fill)]
        steps = []
        for _ in range(difficulty):
            sentence, new_value, step = self._operation(rng, value, fill)
            sentences.append(sentence)
            steps.append(step)
            value = new_value
        sentences.append(rng.choice(QUESTIONS).format(**fill))
        return Example(" ".join(sentences), str(value), difficulty, self.name, "; ".join(steps))

    def augment_example(self, example: Example, rng: random.Random) -> Example:
        """People renamed within names of one length and pronoun (She/He stay right), things within
        things of one length; the answer (a number) unchanged."""
        pronoun = dict(PEOPLE)
        people = by_length(pronoun, key=lambda p: (len(p), pronoun[p]))
        return renamed(example, shuffle_within(rng, people + by_length(THINGS)))

    def _operation(self, rng: random.Random, value: int, fill: dict) -> tuple[str, int, str]:
        """One valid operation on `value` (result within 0..max_value)."""
        options = ["add", "sub", "mul", "div"]
        rng.shuffle(options)
        for op in options:
            if op == "add":
                k = rng.randint(1, self.max_operand)
                if value + k <= self.max_value:
                    return rng.choice(ADD).format(k=k, **fill), value + k, f"{value}+{k}={value + k}"
            elif op == "sub" and value >= 1:
                k = rng.randint(1, min(value, self.max_operand))
                return rng.choice(SUB).format(k=k, **fill), value - k, f"{value}-{k}={value - k}"
            elif op == "mul":
                k = rng.choice([2, 3])
                if 0 < value * k <= self.max_value:
                    return rng.choice(MUL[k]).format(**fill), value * k, f"{value}*{k}={value * k}"
            elif op == "div":
                k = rng.choice([2, 3])
                if value >= k and value % k == 0:
                    return rng.choice(DIV[k]).format(**fill), value // k, f"{value}/{k}={value // k}"
        raise AssertionError(f"no operation applies to {value}")  # sub fits any value >= 1, add fits 0
