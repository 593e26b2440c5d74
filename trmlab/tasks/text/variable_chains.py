"""Variable-assignment chains with distractors, in symbols and in words.

    a = 3. e = 5. b = a + 4. c = b. f = b - 6. d = c - 2. What is d?  -> 5
    Ann has 3 pens. Bo has 4 more than Ann. Cy has as many as Bo. How many pens does Cy have?  -> 7

Difficulty = dependency depth: the number of assignments between the asked
variable and the constant it comes from. Besides the chain, `distractors`
assignments are added that the answer does not depend on: constants, or values
derived from any earlier variable (the chain's included, so they cannot be spotted
by their form). Every variable is assigned once, so any order of the statements is
well-defined: with probability `shuffle` they are shuffled, otherwise written in a
random order that defines each variable before it is used. Values stay in
0..max_value (one character at the default 9): each derived value is drawn
uniformly there and written as a copy or as "4 more than" / "= b - 6", so answers
are uniform too (chance 1 / (max_value + 1); the majority answer covers 11.4% of 2000
training questions, seed 0). The OOD split asks for deeper chains.

Measured on the 2-core CPU (one thread, seed 0, the default preset's training settings:
batch 64, lr 2e-3): the small model tried did not learn even depth 1 well in budget.

    trmlab train --task variable_chains --model transformer -o model.d_model=64 -o train.steps=1500 -o train.threads=1 --seed 0

- 2-layer transformer LM, d=64, 119,168 parameters, 1500 steps (~270 s of CPU), default knobs:
  test 0.180 (depth 1: 0.246, 2: 0.178, 3: 0.108), OOD 0.134.
- The same model on symbols only with one distractor (-o data.knobs.words=0.0
  -o data.knobs.distractors=1), 3000 steps (~160 s of CPU): test 0.388 (depth 1: 0.625,
  2: 0.320, 3: 0.223), OOD 0.178; dev accuracy had levelled off (0.316 at step 2000, 0.324
  at 3000). Those knobs, longer training or a wider model are the place to start.

Pointer chasing (`arithmetic=0`: copies only; `chains=2`: a decoy chain as deep as the asked one,
so the answer is one of two constants and chance is 0.5; `terse`: `k=v r=p v=2 p=1 k?`;
`distractors=0`, depths 0-3, OOD 4-6), seed 0, lr 3e-3, batch 64: nothing learned it.
The 2-layer LM stayed at 0.49-0.51 dev through 4000 steps, a 6-layer LM at 0.50 through 1000,
and the 2-layer reasoner looped 4 times at 0.487 test after 1500 steps.
"""
from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass, replace

from ..base import Example, ProceduralTask, register
from .templates import NAMES, OBJECTS, by_length, people, phrase, renamed, shuffle_within

SYMBOLS = {"const": ["{a} = {k}."], "copy": ["{a} = {b}."], "+": ["{a} = {b} + {k}."], "-": ["{a} = {b} - {k}."],
           "ask": ["What is {a}?", "{a} = ?", "Find {a}."]}
WORDS = {"const": ["{a} has {k} {t}."], "copy": ["{a} has as many as {b}.", "{a} has the same as {b}."],
         "+": ["{a} has {k} more than {b}."], "-": ["{a} has {k} fewer than {b}.", "{a} has {k} less than {b}."],
         "ask": ["How many {t} does {a} have?", "How many {t} has {a}?"]}
TERSE = {"const": ["{a}={k}"], "copy": ["{a}={b}"], "+": ["{a}={b}+{k}"], "-": ["{a}={b}-{k}"], "ask": ["{a}?"]}


@dataclass(frozen=True)
class Assignment:
    var: int  # index into the names
    op: str  # "const", "copy", "+" or "-"
    k: int  # the constant, or the amount added or taken away
    parent: int | None  # the variable this one is computed from
    value: int


@register("variable_chains")
@dataclass
class VariableChains(ProceduralTask):
    """Assignment chains with distractors. Knobs: depth ranges (difficulty), distractors, values, order, wording."""

    train_difficulty: tuple[int, int] = (1, 3)
    ood_difficulty: tuple[int, int] = (4, 5)
    distractors: int = 2
    max_value: int = 9
    shuffle: float = 0.5  # share of questions whose statements are in random order
    words: float = 0.5  # share of questions told with people and objects instead of symbols
    terse: bool = False  # symbols without spaces or full stops (`a=3 b=a b?`): shorter questions
    arithmetic: float = 1.0  # share of derived steps that add or take away; 0: copies only (pointer chasing)
    chains: int = 1  # chains as deep as the asked one, from distinct constants; the others are decoys

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        if not 1 <= self.chains <= self.max_value + 1:
            raise ValueError(f"variable_chains: chains must be 1..{self.max_value + 1} (got {self.chains})")
        # Several chains need distinct constants; one is drawn as before, so the defaults' examples are unchanged.
        roots = rng.sample(range(self.max_value + 1), self.chains) if self.chains > 1 else [None]
        chains = []
        for root in roots:
            var = sum(map(len, chains))
            chain = [self._constant(rng, var) if root is None else Assignment(var, "const", root, None, root)]
            for _ in range(difficulty):
                chain.append(self._derive(rng, var + len(chain), chain[-1]))
            chains.append(chain)
        chain, statements = chains[0], [s for c in chains for s in c]
        for i in range(len(statements), len(statements) + self.distractors):
            statements.append(self._constant(rng, i) if rng.random() < 0.3
                              else self._derive(rng, i, rng.choice(statements)))
        statements = (rng.sample(statements, len(statements)) if rng.random() < self.shuffle
                      else _dependency_order(rng, statements))
        words = rng.random() < self.words
        names = people(rng, len(statements)) if words else rng.sample(string.ascii_lowercase, len(statements))
        question = _tell(rng, WORDS if words else TERSE if self.terse else SYMBOLS, statements, names, asked=chain[-1].var)
        solution = "; ".join(f"{names[s.var]}={s.value}" for s in chain)
        return Example(question, str(chain[-1].value), difficulty, self.name, solution)

    def augment_example(self, example: Example, rng: random.Random) -> Example:
        """Variables renamed consistently: symbols by a permutation of the letters, people within
        names of one length; the value asked for is unchanged."""
        letters = {c: c for c in string.ascii_lowercase}
        letters.update(zip(string.ascii_lowercase, rng.sample(string.ascii_lowercase, 26)))
        q = re.sub(r"\b[a-z]\b", lambda m: letters[m.group(0)], example.question)  # single lower-case letters
        return renamed(replace(example, question=q, solution=re.sub(r"\b[a-z](?==)", lambda m: letters[m.group(0)],
                                                                    example.solution)),
                       shuffle_within(rng, by_length(NAMES)))

    def _constant(self, rng: random.Random, var: int) -> Assignment:
        k = rng.randint(0, self.max_value)
        return Assignment(var, "const", k, None, k)

    def _derive(self, rng: random.Random, var: int, parent: Assignment) -> Assignment:
        """`parent` copied, or plus or minus an amount: the new value is uniform in 0..max_value,
        so the answer tells nothing by its size."""
        copy = self.arithmetic < 1 and rng.random() >= self.arithmetic
        value = parent.value if copy else rng.randint(0, self.max_value)
        op = "copy" if value == parent.value else "+" if value > parent.value else "-"
        return Assignment(var, op, abs(value - parent.value), parent.var, value)


def _tell(rng: random.Random, forms: dict, statements: list[Assignment], names: list[str], asked: int) -> str:
    fill = dict(t=rng.choice(OBJECTS))
    sentences = [phrase(rng, forms[s.op], a=names[s.var], k=s.k, b=names[s.parent] if s.parent is not None else "",
                        **fill) for s in statements]
    return " ".join(sentences + [phrase(rng, forms["ask"], a=names[asked], **fill)])


def _dependency_order(rng: random.Random, statements: list[Assignment]) -> list[Assignment]:
    """A random order in which every variable is assigned before it is used."""
    todo, done, out = list(statements), set(), []
    while todo:
        ready = [s for s in todo if s.parent is None or s.parent in done]
        s = rng.choice(ready)
        todo.remove(s)
        done.add(s.var)
        out.append(s)
    return out
