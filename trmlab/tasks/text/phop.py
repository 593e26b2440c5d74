"""p-hop induction over a short sequence of a small alphabet (Sanford et al. 2024; Saunshi et al. 2025).

    ddacadddcacaacdc, 2 hops  -> c

Start at the last token. One hop: find the previous occurrence of the current
token and move to the token right after it. After p hops the answer is the token
reached. In the example the last token is c (position 15, from 0); the c before
it is at 13, so hop 1 lands on d at 14; the d before that is at 7, so hop 2 lands
on c at 8. The solution field lists the positions visited ("15:c 14:d 8:c").

Difficulty = p. A sequence is kept only if every hop is defined and strictly moves
left (the previous occurrence is not the token just before the current one), so
p hops are p real look-ups; sequences are otherwise uniform. The answer is one
letter, so chance is about 1 / alphabet: `trmlab data stats phop` prints the
measured majority-answer rate (27.9% on 2000 training questions, 26.3% OOD, seed 0).
The OOD split asks for more hops than training.

Measured on the 2-core CPU (one thread, seed 0, the default preset's training settings:
batch 64, lr 2e-3):

    trmlab train --task phop --model transformer -o model.d_model=64 -o train.steps=4000 -o train.threads=1 --seed 0

- 2-layer transformer LM, d=64, 119,168 parameters, 4000 steps (~116 s of CPU): test 0.866
  (p=1: 0.994, p=2: 0.787, p=3: 0.820), OOD (p=4, 5) 0.356, near chance.
- The same model at the earlier default length 24, 1500 steps: test 0.334 (p=1: 0.368),
  OOD 0.302; hence the default length of 16.
- At `depth-cpu`'s base settings (lr 3e-3, batch 64, 1500 steps, seed 0): the LM 0.643 (p=1: 0.882,
  p=2: 0.500, p=3: 0.510; OOD 0.297); the 2-layer d=64 reasoner looped 4 times with full
  backpropagation (119,617 parameters) stays at chance, 0.277 (OOD 0.253). At lr 1e-3 and 2,000 steps it
  reaches 0.452 (results/depth-cpu/).
"""
from __future__ import annotations

import random
import string
from dataclasses import dataclass, replace

from ..base import Example, ProceduralTask, register

TEMPLATES = ["{s}, {p} hops", "{s} hop {p}"]


def split_sequence(question: str) -> tuple[str, str]:
    """(the sequence, the rest: ", 2 hops" or " hop 2")."""
    end = min(i for i in (question.find(","), question.find(" "), len(question)) if i >= 0)
    return question[:end], question[end:]


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
    length: int = 16
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

    def augment_example(self, example: Example, rng: random.Random) -> Example:
        """The alphabet relabelled by a random permutation, in the sequence and the answer (the hop
        positions are unchanged: a relabelling maps occurrences to occurrences)."""
        letters = string.ascii_lowercase[:self.alphabet_size]
        table = str.maketrans(letters, "".join(rng.sample(letters, len(letters))))
        seq, rest = split_sequence(example.question)
        return replace(example, question=seq.translate(table) + rest, answer=example.answer.translate(table),
                       solution=" ".join(f"{i}:{c.translate(table)}" for i, c in
                                         (step.split(":") for step in example.solution.split())))
