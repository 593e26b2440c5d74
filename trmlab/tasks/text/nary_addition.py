"""n-ary addition: the sum of n zero-padded numbers of d digits (Saunshi et al. 2025).

    31 + 12 + 04 + 82 =  -> 129

Difficulty = n, the number of operands. Every operand has exactly `digits` digits
(zero-padded), so the question's layout depends only on n, and the answer is the
plain sum (at most digits + 1 characters while n <= 10). Carries chain across all
n operands, which is why the depth a model needs grows with n. The OOD split adds
more operands than training had. The majority answer covers 1.1% of 2000 training
questions (seed 0).

Measured on the 2-core CPU (one thread, seed 0, the default preset's training settings:
batch 64, lr 2e-3, answer_len 4), default knobs:

    trmlab train --task nary_addition --model transformer -o model.d_model=64 -o train.steps=4000 -o train.threads=1 --seed 0

- 2-layer transformer LM, d=64, 119,168 parameters, 4000 steps (~100 s of CPU): test 0.412
  (n=2: 0.987, n=3: 0.145, n=4: 0.152), OOD (n=5, 6) 0.000. Two operands are learned,
  three and four are not. At 1500 steps: test 0.168 (n=2: 0.204).
- 4-layer LM, d=64 (-o model.n_layers=4), 226,048 parameters, 4000 steps (~110 s of CPU):
  test 0.216 (n=2: 0.420, n=3: 0.099, n=4: 0.146), OOD 0.002: still behind the
  2-layer model at this step count (dev 0.198 vs 0.404).
- One-digit operands (`digits=1`, n = 2-5, OOD 6-8), lr 3e-3, 1500 steps: the 2-layer LM scores
  0.990 in distribution and 0.000 OOD: in distribution this is not depth-limited.
- The 2-layer reasoner looped 4 times on the defaults (lr 3e-3): dev 0.067 after 500 steps,
  where the run was stopped.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..base import Example, ProceduralTask, register


@register("nary_addition")
@dataclass
class NaryAddition(ProceduralTask):
    """Sum of n zero-padded d-digit numbers. Knobs: operand-count ranges (difficulty), digits."""

    train_difficulty: tuple[int, int] = (2, 4)
    ood_difficulty: tuple[int, int] = (5, 6)
    digits: int = 2

    def generate(self, rng: random.Random, difficulty: int) -> Example:
        if difficulty < 2:
            raise ValueError(f"nary_addition: difficulty is the number of operands, at least 2 (got {difficulty})")
        operands = [rng.randrange(10 ** self.digits) for _ in range(difficulty)]
        question = " + ".join(f"{x:0{self.digits}d}" for x in operands) + " ="
        partial, steps = 0, []
        for x in operands:
            partial += x
            steps.append(str(partial))
        return Example(question, str(partial), difficulty, self.name, "; ".join(steps))
