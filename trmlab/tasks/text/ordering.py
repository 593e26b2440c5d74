"""Ordering and ranking: chains of comparisons, and positions in a race or a queue.

    Bo is taller than Cy. Ann is taller than Bo. Who is the shortest?  -> cy
    In a race, Ann is 5th. Bo is 2 behind Ann. How many are ahead of Bo?  -> 6

Chains: difficulty = number of comparison facts (shuffled, each phrased either way);
the answer is a name (lower-cased) or yes/no. Positions: difficulty = number of
arithmetic steps (relative moves, then the question's own step); the answer is a number.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..base import Example, ProceduralTask, normalize_answer, register
from .templates import NAMES, Trace, by_length, ordinal, people, renamed, shuffle_within

# (more, less, most, least)
SCALES = [("taller", "shorter", "tallest", "shortest"), ("older", "younger", "oldest", "youngest"),
          ("faster", "slower", "fastest", "slowest"), ("heavier", "lighter", "heaviest", "lightest")]
# (where, one place later, one place earlier)
LINES = [("In a race", "behind", "ahead of"), ("In a queue", "behind", "in front of")]


@register("ordering")
@dataclass
class Ordering(ProceduralTask):
    """Ranking chains and race/queue positions. Knobs: difficulty ranges, field size."""

    train_difficulty: tuple[int, int] = (1, 4)
    ood_difficulty: tuple[int, int] = (5, 8)
    max_people: int = 30  # runners in a race / people in a queue

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        make = self._chain if rng.random() < 0.5 else self._positions
        question, answer, solution = make(rng, difficulty)
        return Example(question, normalize_answer(answer), difficulty, self.name, solution)

    def augment_example(self, example: Example, rng: random.Random) -> Example:
        """People renamed within names of one length; the answer (a name, yes/no or a number) with them."""
        return renamed(example, shuffle_within(rng, by_length(NAMES)))

    def _chain(self, rng: random.Random, difficulty: int) -> tuple[str, str, str]:
        more, less, most, least = rng.choice(SCALES)
        order = people(rng, difficulty + 1)  # order[0] is the most
        facts = [f"{a} is {more} than {b}." if rng.random() < 0.5 else f"{b} is {less} than {a}."
                 for a, b in zip(order, order[1:])]
        rng.shuffle(facts)
        kind = rng.choice(["most", "least", "nth", "pair"])
        if kind == "most":
            question, answer = f"Who is the {most}?", order[0]
        elif kind == "least":
            question, answer = f"Who is the {least}?", order[-1]
        elif kind == "nth" and difficulty >= 2:
            i = rng.randint(1, difficulty - 1)
            question, answer = f"Who is the {ordinal(i + 1)} {most}?", order[i]
        else:
            i, j = rng.sample(range(difficulty + 1), 2)
            question, answer = f"Is {order[i]} {more} than {order[j]}?", "yes" if i < j else "no"
        return " ".join(facts + [question]), answer, " > ".join(order).lower()

    def _positions(self, rng: random.Random, difficulty: int) -> tuple[str, str, str]:
        where, later, earlier = rng.choice(LINES)
        final = rng.choice(["place", "before", "after"] if difficulty >= 2 else ["before", "after"])
        moves = difficulty - (0 if final == "place" else 1)
        for _ in range(100):
            total = rng.randint(max(5, difficulty + 3), self.max_people)
            walk = _walk(rng, moves, total)
            if walk:
                break
        else:
            raise ValueError(f"ordering: {moves} moves do not fit max_people={self.max_people}")
        names = people(rng, moves + 1)
        trace = Trace()
        sentences = [f"{where}, {names[0]} is {ordinal(walk[0])}."]
        for (a, b), pos, new in zip(zip(names, names[1:]), walk, walk[1:]):
            gap = abs(new - pos)
            sentences.append(f"{b} is {gap} {later if new > pos else earlier} {a}.")
            trace.apply(pos, "+" if new > pos else "-", gap)
        last, pos = names[-1], walk[-1]
        if final == "place":
            sentences.append(f"What place is {last}?")
            answer = pos
        elif final == "before":
            sentences.append(f"How many are {'ahead of' if rng.random() < 0.5 else 'before'} {last}?")
            answer = trace.apply(pos, "-", 1)
        else:
            sentences.append(f"There are {total} in all. How many are behind {last}?")
            answer = trace.apply(total, "-", pos)
        return " ".join(sentences), str(answer), str(trace) or f"{last} is {ordinal(pos)}"


def _walk(rng: random.Random, moves: int, total: int) -> list[int] | None:
    """A start position and `moves` nonzero moves, every position within 1..total."""
    walk = [rng.randint(1, total)]
    for _ in range(moves):
        options = [p for p in range(max(1, walk[-1] - 5), min(total, walk[-1] + 5) + 1) if p != walk[-1]]
        if not options:
            return None
        walk.append(rng.choice(options))
    return walk
