"""`trmlab ...` with every chained sum replaced by a decoy: the same 9-chain, but the first column
does not carry (a0 + b0 <= 9), so every later sum digit is 9 and nothing carries. Used as
    python decoy.py eval RUN_DIR --split ood -k carry_chain=1 -k test_carry_chain=1 \
        -k ood_difficulty=[16,16] --n 200 [--steps 64 --until-settled 4]
(sizes 8, 16, 32; the looped runs with the --steps/--until-settled flags); output: decoy-output.txt."""
import random, sys
import trmlab.tasks.text.long_addition as la

def decoy_operands(rng: random.Random, n: int):
    a0 = rng.randint(0, 9)
    digits = [(a0, rng.randint(0, 9 - a0))]
    for i in range(1, n):
        x = rng.randint(1, 8) if i == n - 1 else rng.randint(0, 9)
        digits.append((x, 9 - x))
    return (int("".join(str(x) for x, _ in reversed(digits))), int("".join(str(y) for _, y in reversed(digits))))

la.chained_operands = decoy_operands
from trmlab.cli import main
sys.exit(main(sys.argv[1:]))
