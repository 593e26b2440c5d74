"""Orca-Math-200k (Mitra et al. 2024): synthetic grade-school word problems, GPT-4 answers.

Columns `question` and `answer` (a free-text worked solution). The final numeric
answer is read from the solution (`real.final_number`); items with none are kept
as records without an answer, which the filter rejects and counts. Steps = the
solution's lines. There is no official test split: dev and test are carved out by
question hash. Read from a local .jsonl/.parquet/.csv file (knob `file`, or every
such file in orca_math/ under the data directory), else from the hub.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..base import register
from .base import (Record, RealTask, Row, fields_of, final_number, hub_available, read_hub, read_rows,
                   solution_steps, where)

HUB_NAME = "microsoft/orca-math-word-problems-200k"
SUFFIXES = (".jsonl", ".parquet", ".csv")


def parse_orca(row: Row) -> Record:
    question, answer = fields_of(row, ("question", "answer"))
    steps = solution_steps(answer)
    return Record(question.strip(), final_number(answer), len(steps), "; ".join(steps), where(row))


@register("orca_math")
@dataclass
class OrcaMath(RealTask):
    """Orca-Math-200k from a local file (or the hub). Knobs: file, filter, data_dir."""

    file: str = ""  # default: every .jsonl/.parquet/.csv file in <data_dir>/orca_math/

    folder = "orca_math"

    def sources(self) -> dict[str, list[Record]]:
        if self.file or self.has_local_data() or not hub_available():
            files = [Path(self.file)] if self.file else self._local_files()
            return {"train": [parse_orca(row) for path in files for row in read_rows(path)]}
        return {"train": [parse_orca(row) for row in read_hub(HUB_NAME, None, "train")]}

    def _local_files(self) -> list[Path]:
        folder = self.data_folder("*")
        files = sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES)
        if not files:
            raise FileNotFoundError(f"task {self.name!r}: no {'/'.join(SUFFIXES)} file in {folder}")
        return files

    def _other_ways(self) -> str:
        return f"; or give file=PATH; or pip install 'trmlab[hub]' to read {HUB_NAME} online"
