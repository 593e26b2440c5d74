"""GSM8K (Cobbe et al. 2021): grade-school math word problems with worked solutions.

One JSON object a line: `question`, and `answer` = a worked solution with calculator
notes `<<48/2=24>>` that ends with a line `#### 72`. The notes are the solution
trace and their count is the number of steps (the lines, when a solution has none).
Dev is carved out of the training file by question hash; `test` is the official
test file when given (knob test_file, or gsm8k/test.jsonl in the data directory),
else the training file's hash test bucket.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..base import register
from .base import (DataFormatError, Record, RealTask, Row, fields_of, hub_available, number_text,
                   read_hub, read_rows, solution_steps, where)

HUB_NAME, HUB_CONFIG = "openai/gsm8k", "main"


def parse_gsm8k(row: Row) -> Record:
    question, answer = fields_of(row, ("question", "answer"))
    body, marker, final = answer.rpartition("####")
    if not marker or not final.strip():
        raise DataFormatError(row[0], row[1], "answer does not end with a '#### N' line")
    steps = solution_steps(body)
    return Record(question.strip(), number_text(final), len(steps), "; ".join(steps), where(row))


@register("gsm8k")
@dataclass
class GSM8K(RealTask):
    """GSM8K from local JSONL files (or openai/gsm8k on the hub). Knobs: files, filter, data_dir."""

    train_file: str = ""  # default: <data_dir>/gsm8k/train.jsonl
    test_file: str = ""  # default: <data_dir>/gsm8k/test.jsonl when it exists

    folder = "gsm8k"

    def sources(self) -> dict[str, list[Record]]:
        if self.train_file or self.has_local_data() or not hub_available():
            train = Path(self.train_file) if self.train_file else self.data_folder("train.jsonl") / "train.jsonl"
            test = Path(self.test_file) if self.test_file else train.with_name("test.jsonl")
            out = {"train": [parse_gsm8k(row) for row in read_rows(train)]}
            if self.test_file or test.exists():
                out["test"] = [parse_gsm8k(row) for row in read_rows(test)]
            return out
        return {split: [parse_gsm8k(row) for row in read_hub(HUB_NAME, HUB_CONFIG, split)]
                for split in ("train", "test")}

    def _other_ways(self) -> str:
        return f"; or give train_file=PATH; or pip install 'trmlab[hub]' to read {HUB_NAME} online"
