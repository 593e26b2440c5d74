"""Syllogisms and simple propositional logic, over made-up words.

    Rex is a wug. All wugs are daxes. All daxes are feps. Is Rex a fep?  -> yes
    If Ann sings, Bo naps. If Bo naps, Cy hums. Cy does not hum. Does Ann sing?  -> no

Difficulty = number of rules chained (1..8); rules are shuffled. Every question is
decided by the text (entailed yes or entailed no, never "unknown"): categorical
chains end in "All" (yes) or "No" (no), implication chains run forwards (modus
ponens, yes) or backwards from a denied conclusion (modus tollens, no). Some
questions ask which entity has a property, with a distractor entity on another chain.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..base import Example, ProceduralTask, normalize_answer, register
from .templates import NAMES, NONSENSE, by_length, people, renamed, shuffle_within

VERBS = [("sings", "sing"), ("naps", "nap"), ("hums", "hum"), ("runs", "run"), ("swims", "swim"),
         ("reads", "read"), ("cooks", "cook"), ("waves", "wave"), ("claps", "clap"), ("jumps", "jump")]


def plural(word: str) -> str:
    return word + ("es" if word.endswith(("s", "x", "sh", "ch")) else "s")


def article(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


@register("syllogisms")
@dataclass
class Syllogisms(ProceduralTask):
    """Categorical chains and if-then chains with yes/no/entity answers. Knobs: difficulty ranges."""

    train_difficulty: tuple[int, int] = (1, 4)
    ood_difficulty: tuple[int, int] = (5, 8)

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        make = self._categorical if rng.random() < 0.5 else self._implication
        question, answer, solution = make(rng, difficulty)
        return Example(question, normalize_answer(answer), difficulty, self.name, solution)

    def augment_example(self, example: Example, rng: random.Random) -> Example:
        """People renamed within names of one length, and the made-up kinds within kinds of one
        length and plural (wug/wugs, dax/daxes): the same chain of rules, the same answer (a
        person's name renamed with them)."""
        kinds = by_length(NONSENSE, key=lambda w: (len(w), plural(w)[len(w):]))
        return renamed(example, shuffle_within(rng, by_length(NAMES) + kinds), plurals=True)

    def _categorical(self, rng: random.Random, difficulty: int) -> tuple[str, str, str]:
        words = rng.sample(NONSENSE, difficulty + 2)
        chain, stray = words[:difficulty + 1], words[-1]  # the distractor's kind is on no chain
        entity, other = people(rng, 2)
        negative = rng.random() < 0.4
        rules = [f"All {plural(a)} are {plural(b)}." for a, b in zip(chain[:-1], chain[1:])]
        if negative:
            rules[-1] = f"No {plural(chain[-2])} are {plural(chain[-1])}."
        facts = [f"{entity} is {article(chain[0])}."]
        ask_who = not negative and rng.random() < 0.4
        if ask_who:
            facts.append(f"{other} is {article(stray)}.")
        sentences = rules + facts
        rng.shuffle(sentences)
        if ask_who:
            question, answer = f"Who is {article(chain[-1])}: {' or '.join(rng.sample([entity, other], 2))}?", entity
        else:
            question, answer = f"Is {entity} {article(chain[-1])}?", "no" if negative else "yes"
        solution = " -> ".join([entity.lower()] + chain[:-1] + [("not " if negative else "") + chain[-1]])
        return " ".join(sentences + [question]), answer, solution

    def _implication(self, rng: random.Random, difficulty: int) -> tuple[str, str, str]:
        names = people(rng, difficulty + 1)
        verbs = [rng.choice(VERBS) for _ in names]
        rules = [f"If {a} {va[0]}, {b} {vb[0]}." for (a, va), (b, vb)
                 in zip(zip(names, verbs), zip(names[1:], verbs[1:]))]
        rng.shuffle(rules)
        first, last = (names[0], verbs[0]), (names[-1], verbs[-1])
        if rng.random() < 0.5:  # forwards: the first holds, so the last does
            fact = f"{first[0]} {first[1][0]}."
            question, answer = f"Does {last[0]} {last[1][1]}?", "yes"
            steps = [f"{n.lower()} {v[0]}" for n, v in zip(names, verbs)]
        else:  # backwards: the last fails, so the first cannot hold
            fact = f"{last[0]} does not {last[1][1]}."
            question, answer = f"Does {first[0]} {first[1][1]}?", "no"
            steps = [f"{n.lower()} does not {v[1]}" for n, v in reversed(list(zip(names, verbs)))]
        return " ".join(rules + [fact, question]), answer, " -> ".join(steps)
