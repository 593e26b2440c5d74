"""The task interface: a task yields `Example`s for named splits, deterministically.

Splits never share a question: every question is assigned to exactly one split by
a hash of its normalised text, so a test question cannot appear in training no
matter how many examples are drawn. The `ood` split draws from difficulties above
the training range (harder than anything the model saw).
"""
from __future__ import annotations

import hashlib
import random
import re
from dataclasses import asdict, dataclass, field

SPLITS = ("train", "dev", "test", "ood")
# Share of the hash space owned by each in-distribution split; ood shares the
# test bucket (its questions are harder, and the bucket keeps it out of training).
_BUCKETS = {"train": (0, 90), "dev": (90, 95), "test": (95, 100), "ood": (95, 100)}


@dataclass(frozen=True)
class Example:
    question: str
    answer: str
    difficulty: int
    family: str = ""
    solution: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def normalize_question(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def normalize_answer(text) -> str:
    """Canonical answer text: integers as plain digits, words lower-cased, spaces collapsed."""
    s = re.sub(r"\s+", " ", str(text).strip().lower())
    number = s.replace(",", "")
    if re.fullmatch(r"[-+]?\d+(\.0*)?", number):
        return str(int(float(number))) if "." in number else str(int(number))
    return s


def answers_match(predicted: str, target: str) -> bool:
    """The one scoring function: exact match after normalisation."""
    return normalize_answer(predicted) == normalize_answer(target)


def split_of(question: str) -> int:
    """Bucket 0..99 of a question, from a stable hash of its normalised text."""
    digest = hashlib.sha256(normalize_question(question).encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def in_split(question: str, split: str) -> bool:
    lo, hi = _BUCKETS[split]
    return lo <= split_of(question) < hi


@dataclass
class Task:
    """Base class of every task. Subclasses implement `examples(split, n, seed)`."""

    name: str = ""
    # Answered in place: the answer has one character per question character, read at the
    # question's own positions (grids, prefix parity, long addition). Its characters in `unscored`
    # are not scored; `filler` characters are scored in place but left out of an answer written
    # after the question (the LM's), where they would only pad.
    in_place = False
    unscored = ""
    filler = ""

    def examples(self, split: str, n: int, seed: int = 0) -> list[Example]:
        raise NotImplementedError

    def knobs(self) -> dict:
        """The task's settings, for reports and checkpoints."""
        return {k: v for k, v in asdict(self).items() if k != "name"}

    def score_predictions(self, examples: list[Example], predictions: list[str]) -> dict:
        """Scores of a set's predictions beyond exact (and cell) accuracy, merged into its evaluation
        summary: none by default; ARC adds pass@1 and pass@2 by voting over augmentations."""
        return {}


@dataclass
class ProceduralTask(Task):
    """A generator of examples with a difficulty knob.

    Subclasses implement `generate(rng, difficulty) -> Example`. Training, dev and test
    draw difficulties uniformly from `train_difficulty`; `ood` from `ood_difficulty`.
    """

    train_difficulty: tuple[int, int] = (1, 3)
    ood_difficulty: tuple[int, int] = (4, 5)

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        raise NotImplementedError

    def difficulty_range(self, split: str) -> tuple[int, int]:
        return tuple(self.ood_difficulty if split == "ood" else self.train_difficulty)

    def examples(self, split: str, n: int, seed: int = 0) -> list[Example]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
        lo, hi = self.difficulty_range(split)
        rng = random.Random(f"{self.name}/{split}/{seed}")
        return draw_distinct(
            n, split, lambda: self.generate(rng, rng.randint(lo, hi)), budget=200 * n + 1000,
            too_few=lambda made: f"task {self.name!r} could only make {made} distinct {split} questions "
                                 f"(asked for {n}) at difficulty {lo}..{hi}: widen the difficulty or number range")


def draw_distinct(n: int, split: str, draw, budget: int, too_few) -> list[Example]:
    """n examples from `draw()`, with distinct questions, all in `split`'s hash bucket;
    after `budget` draws, ValueError(too_few(number made))."""
    seen: set[str] = set()
    out: list[Example] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > budget:
            raise ValueError(too_few(len(out)))
        ex = draw()
        key = normalize_question(ex.question)
        if key in seen or not in_split(ex.question, split):
            continue
        seen.add(key)
        out.append(ex)
    return out


def augmented(task, example: Example, rng: random.Random, tries: int = 8) -> Example:
    """`task.augment_example(example, rng)`: a label-preserving relabelling (data.augment), drawn
    again, up to `tries` times, until its question hashes into the train split (so an augmented
    training question is never a dev or test question); the example itself if none does."""
    for _ in range(tries):
        out = task.augment_example(example, rng)
        if in_split(out.question, "train"):
            return out
    return example


_REGISTRY: dict[str, type[Task]] = {}


def register(name: str):
    def wrap(cls):
        cls.name = name
        _REGISTRY[name] = cls
        return cls
    return wrap


def task_names() -> list[str]:
    return sorted(_REGISTRY)
