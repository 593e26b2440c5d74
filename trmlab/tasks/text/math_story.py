"""A math story: people holding counts of one kind of thing, events that change the counts (gives,
buys, finds, loses, doubles, ...), irrelevant sentences, and one question at the end.

    Ben has 3 marbles. Ann has 5 marbles. Ann gives Ben 2 marbles. Ben loses 4 marbles.
    Ann smiles. How many marbles does Ben have?                                  -> 1

Answered in place, one word per token (story.py): the count at the question mark, and with
`supervision=trace` each person's count after every sentence that names them. Every count stays in
0-20 at every length (the generator only tells events that keep it there) and every event moves a
count by 1-5 or doubles one, so the answer's size does not grow with the story: a longer story is
harder only because more events come before the question. The solution field is the answer.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..base import register
from .story import FILLER, Sentence, StoryTask, template_words
from .templates import NAMES, OBJECTS

MOST = 20  # every count stays in 0..MOST
STEP = (1, 5)  # an event adds or takes 1..5


def singular(things: str) -> str:
    return things[:-1]  # every plural in templates.OBJECTS ends in a plain s


OPENING = ("{a} has {n} {t}.", "{a} starts with {n} {t}.")
QUESTIONS = ("How many {t} does {a} have?", "How many {t} does {a} have now?")
# Each event: its sentences and its effect on the counts of (a, b) by k; None when a count would
# leave 0..MOST (the generator then tells another).
EVENTS = {
    "give": (("{a} gives {b} {k} {t}.", "{a} gives {k} {t} to {b}.", "{b} gets {k} {t} from {a}."),
             lambda a, b, k: (a - k, b + k)),
    "gain": (("{a} buys {k} {t}.", "{a} finds {k} more {t}.", "{a} wins {k} {t}."),
             lambda a, b, k: (a + k, b)),
    "lose": (("{a} loses {k} {t}.", "{a} gives away {k} {t}.", "{a} drops {k} {t}."),
             lambda a, b, k: (a - k, b)),
    "double": (("{a} doubles the {t}.", "The {t} of {a} double."),
               lambda a, b, k: (2 * a, b)),
    "both": (("{a} and {b} each get {k} {t}.", "{a} and {b} both find {k} {t}."),
             lambda a, b, k: (a + k, b + k)),
}
IDLE = ("{a} smiles.", "{a} counts the {t}.", "{a} goes to the park.", "It is a sunny day.")


@register("math_story")
@dataclass
class MathStory(StoryTask):
    """People, counts, events. Knobs: event-count ranges (difficulty = events), `people` (2-6),
    `supervision` (final | trace), `distractors` (chance of an idle sentence after each event)."""

    people: int = 3

    def __post_init__(self):
        super().__post_init__()
        if not 2 <= self.people <= 6:
            raise ValueError(f"math_story: people={self.people!r}: must be 2 to 6")

    @property
    def vocabulary(self) -> tuple[str, ...]:
        templates = OPENING + QUESTIONS + IDLE + tuple(t for ts, _ in EVENTS.values() for t in ts)
        fixed = template_words(templates) | {n.lower() for n in NAMES} | set(OBJECTS) | {singular(t) for t in OBJECTS}
        return tuple(sorted(fixed | {str(n) for n in range(MOST + 1)} | {FILLER}))

    def tell(self, rng: random.Random, events: int):
        names, thing = rng.sample(NAMES, self.people), rng.choice(OBJECTS)
        count = {name: rng.randint(0, MOST // 2) for name in names}
        story = [self._said(rng.choice(OPENING), count, a=name, n=count[name], t=thing) for name in names]
        for _ in range(events):
            story.append(self._event(rng, count, names, thing))
            if rng.random() < self.distractors:
                story.append(self._said(rng.choice(IDLE), count, a=rng.choice(names), t=thing))
        asked = rng.choice(names)
        return story, rng.choice(QUESTIONS).format(a=asked, t=thing), str(count[asked])

    def _event(self, rng: random.Random, count: dict, names: list[str], thing: str) -> Sentence:
        while True:  # gain 1 or lose 1 is always possible, so this ends
            kind = rng.choice(list(EVENTS))
            templates, effect = EVENTS[kind]
            a, b = rng.sample(names, 2)
            k = rng.randint(*STEP)
            new = effect(count[a], count[b], k)
            if kind == "double" and count[a] == 0 or not all(0 <= n <= MOST for n in new):
                continue
            count[a], count[b] = new
            return self._said(rng.choice(templates), count, a=a, b=b, k=k, t=thing)

    @staticmethod
    def _said(template: str, count: dict, **slots) -> Sentence:
        if any("{" + k + "}" in template and slots.get(k) == 1 for k in "nk"):
            slots["t"] = singular(slots["t"])  # 1 marble
        text = template.format(**slots)
        named = [v for k, v in slots.items() if k in "ab" and "{" + k + "}" in template]
        return Sentence(text, {name.lower(): str(count[name]) for name in named})
