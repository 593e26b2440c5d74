"""p-hop induction over a short sequence of a small alphabet (Sanford et al. 2024; Saunshi et al. 2025).

    dbdbadddcdadccdbcaccaacd, 2 hops  -> a

Start at the last token. One hop: find the previous occurrence of the current
token and move to the token right after it. After p hops the answer is the token
reached. In the example the last token is d (position 23, from 0); the d before
it is at 14, so hop 1 lands on b at 15; the b before that is at 3, so hop 2 lands
on a at 4. The solution field lists the positions visited ("23:d 15:b 4:a").

Difficulty = p. A sequence is kept only if every hop is defined and strictly moves
left (the previous occurrence is not the token just before the current one), so
p hops are p real look-ups; sequences are otherwise uniform. The answer is one
letter, so chance is about 1 / alphabet: `trmlab data stats phop` prints the
measured majority-answer rate. The OOD split asks for more hops than training.
"""
from __future__ import annotations

import random
import string
from dataclasses import dataclass

from .base import Example, ProceduralTask, register

TEMPLATES = ["{s}, {p} hops", "{s} hop {p}"]


def hop_path(seq: str, p: int) -> list[int] | None:
    """Positions visited by p hops from the last token; None if a hop is undefined or stalls."""
    path = [len(seq) - 1]
    for _ in range(p):
        here = path[-1]
        before = seq.rfind(seq[here], 0, here)
        if before < 0 or before + 1 == here:
            return None
        path.append(before + 1)
    return path


@register("phop")
@dataclass
class PHop(ProceduralTask):
    """p-hop induction. Knobs: hop-count ranges (difficulty), sequence length, alphabet size."""

    train_difficulty: tuple[int, int] = (1, 3)
    ood_difficulty: tuple[int, int] = (4, 5)
    length: int = 24
    alphabet_size: int = 4

    @property
    def chance(self) -> float:
        """Accuracy of a uniform guess; the majority answer's rate is close to it."""
        return 1 / self.alphabet_size

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        letters = string.ascii_lowercase[:self.alphabet_size]
        for _ in range(10_000):
            seq = "".join(rng.choice(letters) for _ in range(self.length))
            path = hop_path(seq, difficulty)
            if path is not None:
                question = rng.choice(TEMPLATES).format(s=seq, p=difficulty)
                solution = " ".join(f"{i}:{seq[i]}" for i in path)
                return Example(question, seq[path[-1]], difficulty, self.name, solution)
        raise ValueError(f"phop: no sequence of {self.length} over {self.alphabet_size} letters allows "
                         f"{difficulty} hops; lengthen the sequence")
