"""Symbolic i-GSM: a small dependency graph of quantities computed mod a prime
(Ye et al. 2024, "Physics of language models 2.1"; the symbolic form of Saunshi et al. 2025).

    F#Y := 4. W#E := Q#O * S#I. S#I := F#Y. Q#O := S#I. G#R := 5. X#A := Q#O + F#Y. W#E?  -> 2

Each quantity is named `X#Y` and defined once: as a constant (1..modulus-1), a copy
of another quantity, or the sum, difference or product of two, all mod `modulus` (a
prime; products only of nonzero values, which keeps the answers near uniform: chance
about 1 / modulus). The statements are listed in random order, so reading one means
finding the definitions it uses. A quantity's depth is 0 for a constant, else one
more than its deepest input; the question asks for a quantity of depth = difficulty.
The graph always has `n_nodes` quantities, so deeper questions are not longer, only
deeper: the quantities off the asked one's path are distractors (some of them deeper
than it). The OOD split asks for deeper quantities. The majority answer covers 16.4%
of 2000 training questions (seed 0).

Measured on the 2-core CPU (one thread, seed 0, the default preset's training settings:
batch 64, lr 2e-3): the one small model tried did not learn it within the budget.

    trmlab train --task igsm --model transformer -o model.d_model=64 -o train.steps=1500 -o train.threads=1 --seed 0

- 2-layer transformer LM, d=64, 119,168 parameters, 1500 steps (~140 s of CPU), run with
  -o data.knobs.n_nodes=6 before 6 became the default: test 0.274 (depth 1: 0.331,
  2: 0.236, 3: 0.253), OOD 0.256; dev accuracy had stopped rising (0.298 at step 1000,
  0.296 at 1500). Start from fewer nodes, a smaller modulus or far longer training.
"""
from __future__ import annotations

import random
import string
from dataclasses import dataclass

from ..base import Example, ProceduralTask, register

OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


@dataclass(frozen=True)
class Quantity:
    inputs: tuple[int, ...]  # indices of the quantities it is computed from
    op: str  # "const", "copy", "+", "-" or "*"
    value: int
    depth: int


@register("igsm")
@dataclass
class IGSM(ProceduralTask):
    """Symbolic dependency graphs mod a prime. Knobs: depth ranges (difficulty), node count, modulus."""

    train_difficulty: tuple[int, int] = (1, 3)
    ood_difficulty: tuple[int, int] = (4, 5)
    n_nodes: int = 6
    modulus: int = 7

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        if difficulty >= self.n_nodes:
            raise ValueError(f"igsm: depth {difficulty} needs more than {self.n_nodes} quantities (n_nodes)")
        # Build the asked quantity's path (depth 0, 1, ..., difficulty) and the others interleaved.
        kinds = ["path"] * (difficulty + 1) + ["other"] * (self.n_nodes - difficulty - 1)
        rng.shuffle(kinds)
        nodes: list[Quantity] = []
        path: list[int] = []
        for kind in kinds:
            if kind == "path":
                nodes.append(self._path_node(rng, nodes, path[-1] if path else None))
                path.append(len(nodes) - 1)
            else:
                nodes.append(self._other_node(rng, nodes))
        names = _names(rng, len(nodes))
        lines = [f"{names[i]} := {self._expression(q, names)}." for i, q in enumerate(nodes)]
        query = path[-1]
        question = " ".join(rng.sample(lines, len(lines))) + f" {names[query]}?"
        solution = "; ".join(f"{names[i]}={nodes[i].value}" for i in path)
        return Example(question, str(nodes[query].value), difficulty, self.name, solution)

    def _path_node(self, rng: random.Random, nodes: list[Quantity], previous: int | None) -> Quantity:
        """The next node on the path: computed from `previous` and perhaps a node no deeper, so one deeper."""
        if previous is None:
            return self._constant(rng)
        shallower = [i for i, q in enumerate(nodes) if i != previous and q.depth <= nodes[previous].depth]
        if not shallower or rng.random() < 0.2:
            return self._combine(nodes, (previous,), "copy")
        inputs = [previous, rng.choice(shallower)]
        rng.shuffle(inputs)
        return self._combine(nodes, tuple(inputs), _op(rng, nodes, inputs))

    def _other_node(self, rng: random.Random, nodes: list[Quantity]) -> Quantity:
        if not nodes or rng.random() < 0.3:
            return self._constant(rng)
        if len(nodes) == 1 or rng.random() < 0.2:
            return self._combine(nodes, (rng.randrange(len(nodes)),), "copy")
        inputs = rng.sample(range(len(nodes)), 2)
        return self._combine(nodes, tuple(inputs), _op(rng, nodes, inputs))

    def _constant(self, rng: random.Random) -> Quantity:
        return Quantity((), "const", rng.randrange(1, self.modulus), 0)

    def _combine(self, nodes: list[Quantity], inputs: tuple[int, ...], op: str) -> Quantity:
        values = [nodes[i].value for i in inputs]
        value = values[0] if op == "copy" else OPS[op](*values) % self.modulus
        return Quantity(inputs, op, value, 1 + max(nodes[i].depth for i in inputs))

    @staticmethod
    def _expression(q: Quantity, names: list[str]) -> str:
        if q.op == "const":
            return str(q.value)
        return f" {q.op} ".join(names[i] for i in q.inputs) if q.op != "copy" else names[q.inputs[0]]


def _op(rng: random.Random, nodes: list[Quantity], inputs: list[int]) -> str:
    """+, - or *; * only of nonzero values, so zeros do not spread and answers stay near uniform."""
    return rng.choice(["+", "-", "*"] if all(nodes[i].value for i in inputs) else ["+", "-"])


def _names(rng: random.Random, n: int) -> list[str]:
    """n distinct names like `K#D`."""
    pairs = [a + "#" + b for a in string.ascii_uppercase for b in string.ascii_uppercase]
    return rng.sample(pairs, n)
