"""Several tasks as one: `make_task("mawps+gsm8k", **knobs)`.

Every part keeps its own split assignment (each is disjoint by question hash), so the
mixture's splits are disjoint too. Knobs are handed to every part that has them (e.g. the
real sets' filter: max_chars, max_steps, integer_only, data_dir); a knob no part knows
is an error.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from .base import Example, Task


@dataclass
class Mixture(Task):
    parts: list[Task] = field(default_factory=list)

    def examples(self, split: str, n: int, seed: int = 0) -> list[Example]:
        """Up to n examples, an equal share asked of each part (a part may have fewer), shuffled."""
        share = -(-n // len(self.parts))
        pooled = [ex for part in self.parts for ex in part.examples(split, share, seed)]
        random.Random(f"{self.name}/{split}/{seed}").shuffle(pooled)
        return pooled[:n]

    def knobs(self) -> dict:
        return {part.name: part.knobs() for part in self.parts}


def make_mixture(name: str, make_part, knobs: dict) -> Mixture:
    names = [p.strip() for p in name.split("+")]
    parts = []
    for part in names:
        valid = make_part(part).knobs().keys()
        parts.append(make_part(part, **{k: v for k, v in knobs.items() if k in valid}))
    known = {k for p in parts for k in p.knobs()}
    unknown = set(knobs) - known
    if unknown:
        raise ValueError(f"task {name!r}: no part has knob {', '.join(sorted(unknown))}")
    return Mixture(name=name, parts=parts)
