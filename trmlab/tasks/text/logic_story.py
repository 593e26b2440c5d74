"""A logic story: things in places, people moving them, things swapping places, irrelevant
sentences, and one question at the end.

    The pen is in the box. The coin is in the bag. Tom puts the pen in the drawer.
    The pen and the coin swap places. Ann smiles. Where is the pen?              -> bag

Answered in place, one word per token (story.py): the place at the question mark, and with
`supervision=trace` each thing's place after every sentence that names it. A swap makes the state
of one thing depend on another's (swaps do not commute with moves, as in the shell game), so no
fixed window of recent sentences gives the answer away. A move names a place other than the
thing's own, and a take names the thing's true place, so every story is consistent. The solution
field is the answer.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..base import register
from .math_story import singular
from .story import FILLER, Sentence, StoryTask, template_words
from .templates import NAMES, OBJECTS

THINGS = tuple(singular(t) for t in OBJECTS)
PLACES = ("box", "drawer", "bag", "basket", "shelf", "cupboard", "jar", "chest")
ROOMS = ("kitchen", "garden", "hall")

OPENING = ("The {x} is in the {p}.",)
QUESTIONS = ("Where is the {x}?", "Where is the {x} now?")
MOVES = ("{a} moves the {x} to the {p}.", "{a} puts the {x} in the {p}.", "The {x} is moved to the {p}.")
TAKES = ("{a} takes the {x} from the {q} to the {p}.",)  # {q}: where the thing is
SWAPS = ("{a} swaps the {x} and the {y}.", "The {x} and the {y} swap places.")
IDLE = ("{a} smiles.", "{a} looks in the {p}.", "{a} walks to the {r}.")


@register("logic_story")
@dataclass
class LogicStory(StoryTask):
    """Things, places, moves and swaps. Knobs: event-count ranges (difficulty = events), `things`
    (2-6), `places` (3-8), `supervision` (final | trace), `distractors`."""

    things: int = 3
    places: int = 4

    def __post_init__(self):
        super().__post_init__()
        if not 2 <= self.things <= len(THINGS):
            raise ValueError(f"logic_story: things={self.things!r}: must be 2 to {len(THINGS)}")
        if not 3 <= self.places <= len(PLACES):
            raise ValueError(f"logic_story: places={self.places!r}: must be 3 to {len(PLACES)}")

    @property
    def vocabulary(self) -> tuple[str, ...]:
        fixed = template_words(OPENING + QUESTIONS + MOVES + TAKES + SWAPS + IDLE)
        return tuple(sorted(fixed | {n.lower() for n in NAMES} | set(THINGS + PLACES + ROOMS) | {FILLER}))

    def tell(self, rng: random.Random, events: int):
        things, places = rng.sample(THINGS, self.things), rng.sample(PLACES, self.places)
        where = {x: rng.choice(places) for x in things}
        story = [self._said(OPENING[0], where, x=x, p=where[x]) for x in things]
        for _ in range(events):
            story.append(self._event(rng, where, things, places))
            if rng.random() < self.distractors:
                story.append(self._said(rng.choice(IDLE), where, a=rng.choice(NAMES), p=rng.choice(places),
                                        r=rng.choice(ROOMS)))
        asked = rng.choice(things)
        return story, rng.choice(QUESTIONS).format(x=asked), where[asked]

    def _event(self, rng: random.Random, where: dict, things: list[str], places: list[str]) -> Sentence:
        x, y = rng.sample(things, 2)
        person = rng.choice(NAMES)
        if rng.random() < 1 / 3 and where[x] != where[y]:  # a swap that changes something
            where[x], where[y] = where[y], where[x]
            return self._said(rng.choice(SWAPS), where, a=person, x=x, y=y)
        before = where[x]
        where[x] = rng.choice([p for p in places if p != before])
        template = rng.choice(MOVES + TAKES)
        return self._said(template, where, a=person, x=x, p=where[x], q=before)

    @staticmethod
    def _said(template: str, where: dict, **slots) -> Sentence:
        named = [v for k, v in slots.items() if k in "xy" and "{" + k + "}" in template]
        return Sentence(template.format(**slots), {x: where[x] for x in named})
