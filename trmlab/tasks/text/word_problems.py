"""Multi-step word problems with several people, prices, rates and comparisons.

    Ann has 12 cards. Bo has twice as many as Ann. Bo buys 2 packs of 5.
    How many cards does Bo have?  -> 34   (12*2=24; 2*5=10; 24+10=34)

A story follows one running amount (a count of objects, or dollars) as it moves
between people: "3 more than", "twice as many as", "half as many as" hand it to a
new person; giving, losing, buying packs, spending and earning at a rate change it.
Difficulty = number of arithmetic operations in the solution (1..8); every
intermediate amount is an integer in 0..max_value. story_arithmetic is the
one-person, one-operation-per-sentence sibling of this family.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..base import Example, ProceduralTask, register
from .templates import NAMES, OBJECTS, Trace, by_length, people, phrase, renamed, shuffle_within


class _Story:
    """The state of a story being written: who holds the amount, its value, the trace."""

    def __init__(self, rng: random.Random, task: "WordProblems", money: bool):
        self.rng, self.task, self.money = rng, task, money
        self.cast = people(rng, 10)  # at most 8 newcomers; one stays to give/receive
        self.holder = self.cast.pop()
        self.thing = rng.choice(OBJECTS)
        self.value = 0
        self.trace = Trace()
        self.sentences: list[str] = []

    def small(self, lo: int = 2) -> int:
        return self.rng.randint(lo, self.task.max_operand)

    def fits(self, value: int) -> bool:
        return 0 <= value <= self.task.max_value

    def say(self, templates: list[str], **fill) -> None:
        self.sentences.append(phrase(self.rng, templates, P=self.holder, t=self.thing, **fill))

    def amount(self, k: int) -> str:
        """'$5' in a money story, '5' otherwise (the objects were named at the start)."""
        return f"${k}" if self.money else str(k)

    @property
    def much(self) -> str:
        return "much" if self.money else "many"


# ----- steps: each checks it applies, updates the story and returns True (else False)

def relate_more(s: _Story) -> bool:
    k, up = s.small(), s.rng.random() < 0.5
    new = s.value + k if up else s.value - k
    if not s.fits(new):
        return False
    other, word = s.cast.pop(), "more" if up else ("less" if s.money else "fewer")
    s.say(["{O} has {a} {w} than {P}."], O=other, a=s.amount(k), w=word)
    s.value, s.holder = s.trace.apply(s.value, "+" if up else "-", k), other
    return True


def relate_times(s: _Story) -> bool:
    k = s.rng.choice([2, 3])
    if not s.fits(s.value * k) or s.value == 0:
        return False
    other, times = s.cast.pop(), {2: "twice", 3: "three times"}[k]
    s.say(["{O} has {x} as {much} as {P}."], O=other, x=times, much=s.much)
    s.value, s.holder = s.trace.apply(s.value, "*", k), other
    return True


def relate_part(s: _Story) -> bool:
    k = s.rng.choice([2, 3])
    if s.value % k or s.value == 0:
        return False
    other, part = s.cast.pop(), {2: "half", 3: "a third"}[k]
    s.say(["{O} has {x} as {much} as {P}."], O=other, x=part, much=s.much)
    s.value, s.holder = s.trace.apply(s.value, "/", k), other
    return True


def give(s: _Story) -> bool:
    k = s.small(1)
    if k > s.value:
        return False
    s.say(["{P} gives {a} to {O}.", "{P} loses {a}."] + ([] if s.money else ["{P} sells {a}."]),
          a=s.amount(k), O=s.cast[0])
    s.value = s.trace.apply(s.value, "-", k)
    return True


def receive(s: _Story) -> bool:
    k = s.small(1)
    if not s.fits(s.value + k):
        return False
    s.say(["{O} gives {P} {a}.", "{P} finds {a}.", "{P} gets {a} more."], a=s.amount(k), O=s.cast[0])
    s.value = s.trace.apply(s.value, "+", k)
    return True


def give_half(s: _Story) -> bool:
    if s.value % 2 or s.value == 0:
        return False
    s.say(["{P} gives away half.", "{P} loses half."])
    s.value = s.trace.apply(s.value, "/", 2)
    return True


def buy_packs(s: _Story) -> bool:
    """Items: m packs of k each (two operations)."""
    m, k = s.small(), s.small()
    if not s.fits(s.value + m * k):
        return False
    s.say(["{P} buys {m} packs of {k}.", "{P} gets {m} boxes of {k}."], m=m, k=k)
    s.value = s.trace.apply(s.value, "+", s.trace.apply(m, "*", k))
    return True


def buy_at_price(s: _Story) -> bool:
    """Money: m objects at $k each (two operations)."""
    m, k = s.small(), s.small()
    if m * k > s.value:
        return False
    s.say(["{P} buys {m} {t} at ${k} each.", "{P} pays ${k} each for {m} {t}."], m=m, k=k)
    s.value = s.trace.apply(s.value, "-", s.trace.apply(m, "*", k))
    return True


def earn_at_rate(s: _Story) -> bool:
    """Money: $k an hour for m hours (two operations)."""
    m, k = s.small(), s.small()
    if not s.fits(s.value + m * k):
        return False
    s.say(["{P} earns ${k} an hour for {m} hours.", "{P} makes ${k} a day for {m} days."], m=m, k=k)
    s.value = s.trace.apply(s.value, "+", s.trace.apply(k, "*", m))
    return True


# (operations, step) per kind of story
STEPS = {False: [(1, relate_more), (1, relate_times), (1, relate_part), (1, give), (1, receive),
                 (1, give_half), (2, buy_packs)],
         True: [(1, relate_more), (1, relate_times), (1, relate_part), (1, give), (1, receive),
                (2, buy_at_price), (2, earn_at_rate)]}


@register("word_problems")
@dataclass
class WordProblems(ProceduralTask):
    """Word problems with people, prices and rates. Knobs: difficulty ranges, numbers' sizes."""

    train_difficulty: tuple[int, int] = (1, 4)
    ood_difficulty: tuple[int, int] = (5, 8)
    max_operand: int = 9
    max_value: int = 500

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        for _ in range(1000):
            story = self._write(rng, difficulty)
            if story is not None:
                return Example(" ".join(story.sentences), str(story.value), difficulty, self.name,
                               str(story.trace))
        raise ValueError(f"word_problems: no story with {difficulty} steps fits max_value={self.max_value}")

    def augment_example(self, example: Example, rng: random.Random) -> Example:
        """People renamed within names of one length, objects within objects of one length; the
        answer (a number) unchanged."""
        return renamed(example, shuffle_within(rng, by_length(NAMES) + by_length(OBJECTS)))

    def _write(self, rng: random.Random, difficulty: int) -> _Story | None:
        s = _Story(rng, self, money=rng.random() < 0.4)
        s.value = rng.randint(2, 4 * self.max_operand)
        s.say(["{P} has ${v}.", "{P} starts with ${v}."] if s.money else
              ["{P} has {v} {t}.", "{P} owns {v} {t}.", "{P} starts with {v} {t}."], v=s.value)
        sell_at = rng.randint(2, self.max_operand) if not s.money and rng.random() < 0.3 else 0
        remaining = difficulty - (1 if sell_at else 0)
        while remaining > 0:
            options = [step for cost, step in STEPS[s.money] if cost <= remaining]
            rng.shuffle(options)
            step = next((f for f in options if f(s)), None)
            if step is None:
                return None
            remaining = difficulty - len(s.trace) - (1 if sell_at else 0)
        if sell_at:  # the last step turns the count into money
            s.say(["{P} sells each for ${k}. How much does {P} get?",
                   "{P} sells them at ${k} each. How many dollars is that?"], k=sell_at)
            s.value = s.trace.apply(s.value, "*", sell_at)
        else:
            s.say(["How much money does {P} have?", "How many dollars does {P} have?"] if s.money
                  else ["How many {t} does {P} have?", "How many {t} has {P} now?"])
        return s if len(s.trace) == difficulty and s.fits(s.value) else None
