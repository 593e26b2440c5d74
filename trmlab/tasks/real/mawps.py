"""MAWPS (Koncel-Kedziorski et al. 2016), as the five cross-validation folds published with SVAMP.

CSV columns: `Question` with numbers replaced by number0, number1, ...; `Numbers`
(their values, space separated, in order); `Equation` (prefix notation over
number0...); `Answer`. The numbers are put back into the question, the equation
is evaluated into a step-by-step solution (steps = its operators), and the target
is `Answer`, normalised (decimals stay unless the filter asks for integers only).
Splits pool every fold and cut by question hash; knob `test_fold` (0..4) instead
makes one fold the test split.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..base import register
from .base import DataFormatError, Record, RealTask, Row, fields_of, number_text, read_rows, where

OPERATORS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
             "/": lambda a, b: a / b, "^": lambda a, b: a ** b}


def parse_mawps(row: Row) -> Record:
    question, numbers, equation, answer = fields_of(row, ("Question", "Numbers", "Equation", "Answer"))
    values = [number_text(v) for v in numbers.split()]

    def value_of(match: re.Match) -> str:
        i = int(match.group(1))
        if i >= len(values):
            raise DataFormatError(row[0], row[1], f"number{i} is used but Numbers has {len(values)} values")
        return values[i]

    text = re.sub(r"number(\d+)", value_of, question)
    text = re.sub(r"\s+([.,?!;:])", r"\1", text).strip()  # the folds put spaces before punctuation
    steps = _evaluate_prefix(re.sub(r"number(\d+)", value_of, equation).split(), row)
    return Record(text, number_text(answer), len(steps), "; ".join(steps), where(row))


def _evaluate_prefix(tokens: list[str], row: Row) -> list[str]:
    """The steps `a op b = c` of a prefix expression, in evaluation order."""
    stack: list[str] = []
    steps = []
    for token in reversed(tokens):
        if token not in OPERATORS:
            stack.append(token)
            continue
        if len(stack) < 2:
            raise DataFormatError(row[0], row[1], f"equation {' '.join(tokens)!r} is not valid prefix notation")
        a, b = stack.pop(), stack.pop()
        try:
            value = number_text(f"{OPERATORS[token](float(a), float(b)):.6f}")
        except (ValueError, ZeroDivisionError, OverflowError) as e:
            raise DataFormatError(row[0], row[1], f"equation {' '.join(tokens)!r}: {e}") from None
        steps.append(f"{a}{token}{b}={value}")
        stack.append(value)
    if len(stack) != 1:
        raise DataFormatError(row[0], row[1], f"equation {' '.join(tokens)!r} is not valid prefix notation")
    return steps


@register("mawps")
@dataclass
class MAWPS(RealTask):
    """MAWPS from its CSV folds. Knobs: folds folder, test fold, filter, data_dir."""

    folds_dir: str = ""  # default: <data_dir>/mawps
    test_fold: int = -1  # -1: test carved out by hash; 0..4: that fold is the test split

    folder = "mawps"

    def sources(self) -> dict[str, list[Record]]:
        folder = Path(self.folds_dir) if self.folds_dir else self.data_folder("fold*.csv")
        folds = sorted(folder.glob("fold*.csv"))
        if not folds:
            raise FileNotFoundError(f"task {self.name!r}: no fold*.csv files in {folder}")
        if self.test_fold >= len(folds):
            raise ValueError(f"mawps: test_fold={self.test_fold} but {folder} has {len(folds)} folds")
        records = [[parse_mawps(row) for row in read_rows(path)] for path in folds]
        if self.test_fold < 0:
            return {"train": [r for fold in records for r in fold]}
        return {"train": [r for i, fold in enumerate(records) if i != self.test_fold for r in fold],
                "test": records[self.test_fold]}
