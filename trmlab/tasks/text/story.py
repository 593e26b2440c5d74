"""What the word-problem stories share (`math_story`, `logic_story`): a story is a few opening
sentences, `difficulty` events, irrelevant sentences mixed in, and one question; it is read one
word per token (the word tokenizer) and answered in place, one answer word per story word.

    story    Ben has 3 marbles . Ann gives Ben 2 marbles . How many marbles does Ben have ?
    final    _   _   _ _       _ _   _     _   _ _       _ _   _    _       _    _   _    5
    trace    3   _   _ _       _ 0   _     5   _ _       _ _   _    _       _    _   _    5

Two ways to supervise (the knob `supervision`): `final`, the answer only, at the question mark, as
in every word-problem data set; `trace`, also, at every mention of a tracked thing (a person, an
object), its state after that sentence: the story's own chain of thought, written where it
happens. Every other word's answer is the filler `_`. An LM writes the same answer after the
question with the fillers dropped (`5`, or `3 0 5 5`).

Difficulty = the number of events (irrelevant sentences are not counted); the OOD split tells longer
stories with the same numbers, names and sentences, so a longer story is harder only because it is
longer. The vocabulary is fixed by the task's word lists and templates, never by the data drawn.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

from ...tokenizer import word_pieces as words  # the story's pieces, as the word tokenizer reads them
from ..base import Example, ProceduralTask

FILLER = "_"
SUPERVISION = ("final", "trace")


@dataclass(frozen=True)
class Sentence:
    """One sentence: its text, and for each tracked thing it mentions, that thing's state after it."""
    text: str
    states: dict[str, str]  # mentioned word -> the state written at it (trace supervision)


def template_words(templates) -> set[str]:
    """Every fixed word of the templates (their {slots} left out)."""
    return {w for t in templates for w in words(re.sub(r"\{\w+\}", " ", t))}


@dataclass
class StoryTask(ProceduralTask):
    """A story answered in place (see the module). Subclasses implement `tell(rng, events)` ->
    (sentences, the question sentence, its answer) and `vocabulary`."""

    train_difficulty: tuple[int, int] = (1, 8)
    ood_difficulty: tuple[int, int] = (16, 16)
    supervision: str = "final"  # or "trace": the state at every mention, too
    distractors: float = 0.25  # chance of an irrelevant sentence after each event

    in_place = True
    filler = FILLER

    def __post_init__(self):
        if self.supervision not in SUPERVISION:
            raise ValueError(f"{self.name}: supervision={self.supervision!r}: choose from {', '.join(SUPERVISION)}")
        if not 0 <= self.distractors < 1:
            raise ValueError(f"{self.name}: distractors={self.distractors!r}: a chance in [0, 1)")

    def tell(self, rng: random.Random, events: int) -> tuple[list[Sentence], str, str]:
        raise NotImplementedError

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        sentences, question, answer = self.tell(rng, difficulty)
        written = [s.states.get(w, FILLER) if self.supervision == "trace" else FILLER
                   for s in sentences for w in words(s.text)]
        written += [FILLER] * (len(words(question)) - 1) + [answer]  # the answer at the question mark
        text = " ".join(s.text for s in sentences) + " " + question
        return Example(text, " ".join(written), difficulty, self.name, answer)

    def score_predictions(self, examples: list[Example], predictions: list[str]) -> dict:
        """The share of stories whose question is answered right, whatever the rest of the written
        answer (`accuracy` asks for every word, trace states included): the number a user of a
        word-problem data set reads. An LM's answer is its last word (the trace's last state)."""
        right = sum(bool(p.split()) and p.split()[-1].lower() == ex.solution.lower()
                    for ex, p in zip(examples, predictions, strict=True))
        return {"final_accuracy": right / max(len(examples), 1)}
