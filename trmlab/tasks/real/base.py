"""What every real data set shares: reading rows, one filter, and splits without overlap.

A real set is read into `Record`s (question, normalised final answer, solution
steps), filtered by one `RecordFilter` whose knobs every real task carries, and
split by the hash of the normalised question (base.split_of): train 90%, dev 5%,
test 5% -- or, when the set's official test file is given, that file for test and
all but dev for train. Questions are
de-duplicated across every split first (an official test question wins over a
training copy), so no dev or test question can appear in training. The `ood`
split holds the held-out questions rejected *only* for having more solution steps
than `max_steps`: harder than anything in training, and otherwise alike.

Files come from a task's knobs, else from its folder under the data directory
(knob `data_dir`, else the environment variable TRMLAB_DATA_DIR); a set on the
Hugging Face hub is read with `datasets` when nothing local is given.
"""
from __future__ import annotations

import csv
import json
import os
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable, Iterator

from ..base import SPLITS, Example, Task, in_split, normalize_answer, normalize_question

ENV_VAR = "TRMLAB_DATA_DIR"
CALCULATOR_NOTE = re.compile(r"<<([^<>]*)>>")
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


class DataFormatError(ValueError):
    """A malformed row of a data file; the message names the file and the line."""

    def __init__(self, source: str, line: int, problem: str):
        super().__init__(f"{source}, line {line}: {problem}")
        self.source, self.line = source, line


@dataclass(frozen=True)
class Record:
    question: str
    answer: str | None  # normalised final answer; None when the text holds none
    steps: int
    solution: str = ""
    where: str = ""  # "file, line N": for messages


Row = tuple[str, int, dict]  # (source, line number, fields)


# ----------------------------------------------------------------- reading rows

def read_rows(path: str | Path) -> Iterator[Row]:
    """Rows of a .jsonl, .csv or .parquet file, each with its line (or row) number."""
    path = Path(path)
    readers = {".jsonl": _read_jsonl, ".json": _read_jsonl, ".csv": _read_csv, ".parquet": _read_parquet}
    if path.suffix not in readers:
        raise ValueError(f"{path}: unknown file type; use one of {', '.join(readers)}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return readers[path.suffix](path)


def _read_jsonl(path: Path) -> Iterator[Row]:
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataFormatError(str(path), line_no, f"not valid JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise DataFormatError(str(path), line_no, "expected a JSON object")
            yield str(path), line_no, row


def _read_csv(path: Path) -> Iterator[Row]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        for row in reader:
            if None in row:  # more fields than the header names
                raise DataFormatError(str(path), reader.line_num, "more fields than the header has")
            yield str(path), reader.line_num, row


def _read_parquet(path: Path) -> Iterator[Row]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(f"reading {path} needs pyarrow: pip install pyarrow "
                          "(or pip install 'trmlab[hub]')") from None
    for i, row in enumerate(pq.read_table(path).to_pylist(), 1):
        yield str(path), i, row


def hub_available() -> bool:
    try:
        import datasets  # noqa: F401
    except ImportError:
        return False
    return True


def read_hub(name: str, config: str | None, split: str) -> Iterator[Row]:
    import datasets
    source = f"{name}[{split}]"
    for i, row in enumerate(datasets.load_dataset(name, config, split=split), 1):
        yield source, i, row


def fields_of(row: Row, names: Iterable[str]) -> list[str]:
    """The named text fields of a row, or a DataFormatError naming the missing ones."""
    source, line, values = row
    missing = [n for n in names if not isinstance(values.get(n), str)]
    if missing:
        raise DataFormatError(source, line, f"missing text field(s) {', '.join(missing)}; "
                                            f"fields present: {', '.join(map(str, values)) or 'none'}")
    return [values[n] for n in names]


# ----------------------------------------------------------------- answers and steps

def number_text(text: str) -> str:
    """A number as canonical text: no commas or $, no trailing zeros after a decimal point."""
    s = text.strip().replace(",", "").replace("$", "").rstrip(".")
    if re.fullmatch(r"-?\d*\.\d+", s):
        s = s.rstrip("0").rstrip(".") or "0"
    return normalize_answer(s)


def final_number(text: str) -> str | None:
    """The final numeric answer of a worked solution: a \\boxed{} value, a '#### N' line,
    an 'answer is N' phrase, else the last number in the text; None if there is none."""
    for pattern in (r"\\boxed\{([^{}]*)\}", r"####\s*([^\n]*)", r"answer is[:\s]*\$?([-\d.,]+)"):
        found = [m for m in re.findall(pattern, text) if NUMBER.search(m)]
        if found:
            return number_text(NUMBER.search(found[-1]).group())
    numbers = NUMBER.findall(text)
    return number_text(numbers[-1]) if numbers else None


def solution_steps(text: str) -> list[str]:
    """A worked solution's steps: its calculator notes (<<48/2=24>>), or else its lines."""
    notes = CALCULATOR_NOTE.findall(text)
    return notes or [line.strip() for line in text.splitlines() if line.strip()]


def is_integer(answer: str) -> bool:
    return re.fullmatch(r"-?\d+", answer) is not None


# ----------------------------------------------------------------- the filter

TOO_MANY_STEPS = "too many solution steps"


@dataclass
class FilterReport:
    """How many items a real set has, how many pass, and why the others were dropped."""

    total: int = 0
    passed: int = 0
    rejected: Counter = field(default_factory=Counter)  # reason -> count
    splits: dict = field(default_factory=dict)  # split -> examples available

    def lines(self) -> list[str]:
        out = [f"{self.passed} of {self.total} items pass the filter"]
        out += [f"  rejected, {reason}: {count}" for reason, count in self.rejected.most_common()]
        out += [f"  {split}: {count} examples" for split, count in self.splits.items()]
        return out


@dataclass
class RecordFilter:
    """What a tiny model can hold. Every limit is off (None/False) until set; a rejected
    item is counted once, under the first limit it breaks (in the order below)."""

    max_chars: int | None = None  # question length in characters
    max_tokens: int | None = None  # question length in char-tokenizer tokens
    max_steps: int | None = None  # solution steps
    integer_only: bool = False  # integer answers only
    max_answer: float | None = None  # largest |answer|

    def reject_reason(self, record: Record, ignore_steps: bool = False) -> str | None:
        from ...tokenizer import CharTokenizer

        if record.answer is None:
            return "no numeric final answer"
        if self.max_chars is not None and len(record.question) > self.max_chars:
            return "question too long (chars)"
        if self.max_tokens is not None and len(CharTokenizer().encode(record.question)) > self.max_tokens:
            return "question too long (tokens)"
        if not ignore_steps and self.max_steps is not None and record.steps > self.max_steps:
            return TOO_MANY_STEPS
        if self.integer_only and not is_integer(record.answer):
            return "answer not an integer"
        if self.max_answer is not None and abs(_as_float(record.answer)) > self.max_answer:
            return "answer too large"
        return None


def _as_float(answer: str) -> float:
    try:
        return float(answer)
    except ValueError:
        return float("inf")  # a non-numeric answer cannot be shown to be small: reject it


# ----------------------------------------------------------------- the tasks

@dataclass
class RealTask(RecordFilter, Task):
    """A real data set. Subclasses implement `sources()`: {"train": records[, "test": records]},
    "test" being an official test set (else test is carved out of "train" by hash)."""

    data_dir: str = ""  # default: $TRMLAB_DATA_DIR

    folder = ""  # the set's folder under the data directory

    def sources(self) -> dict[str, list[Record]]:
        raise NotImplementedError

    def examples(self, split: str, n: int, seed: int = 0) -> list[Example]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
        records = list(self._splits[0][split])
        random.Random(f"{self.name}/{split}/{seed}").shuffle(records)
        return [Example(r.question, r.answer, r.steps, self.name, r.solution) for r in records[:n]]

    def report(self) -> FilterReport:
        return self._splits[1]

    @cached_property
    def _splits(self) -> tuple[dict[str, list[Record]], FilterReport]:
        return build_splits(self.sources(), self)

    # ----- where the files are
    def data_folder(self, required: str) -> Path:
        """The set's folder under the data directory; a clear error when none is configured."""
        root = self.data_dir or os.environ.get(ENV_VAR, "")
        if not root:
            raise FileNotFoundError(
                f"task {self.name!r} needs its data: set the environment variable {ENV_VAR} or the "
                f"task knob data_dir (CLI: --data-dir) to the folder that holds {self.folder}/{required}"
                + self._other_ways())
        folder = Path(root).expanduser() / self.folder
        if not (folder / required).exists() and not any(folder.glob(required)):
            raise FileNotFoundError(f"task {self.name!r}: {folder / required} not found "
                                    f"(data directory {root!r}, from data_dir or {ENV_VAR})")
        return folder

    def has_local_data(self) -> bool:
        return bool(self.data_dir or os.environ.get(ENV_VAR))

    def _other_ways(self) -> str:
        return ""


def build_splits(sources: dict[str, list[Record]], rules: RecordFilter
                 ) -> tuple[dict[str, list[Record]], FilterReport]:
    """Split, de-duplicate and filter records; count what passed and why the rest did not."""
    report = FilterReport(total=sum(len(v) for v in sources.values()))
    seen: set[str] = set()

    def unique(records: list[Record]) -> list[Record]:
        out = []
        for r in records:
            key = normalize_question(r.question)
            if key in seen:
                report.rejected["duplicate question"] += 1
                continue
            seen.add(key)
            out.append(r)
        return out

    official_test = unique(sources["test"]) if "test" in sources else None  # first: the test copy wins
    pool = unique(sources["train"])
    dev = [r for r in pool if in_split(r.question, "dev")]
    if official_test is None:  # carve test out of the training source too
        test = [r for r in pool if in_split(r.question, "test")]
        train = [r for r in pool if in_split(r.question, "train")]
    else:  # all but dev trains
        test, train = official_test, [r for r in pool if not in_split(r.question, "dev")]
    splits = {}
    for split, records in (("train", train), ("dev", dev), ("test", test)):
        splits[split] = []
        for r in records:
            reason = rules.reject_reason(r)
            if reason:
                report.rejected[reason] += 1
            else:
                splits[split].append(r)
    splits["ood"] = [r for r in test if rules.reject_reason(r) == TOO_MANY_STEPS
                     and rules.reject_reason(r, ignore_steps=True) is None]
    report.passed = sum(len(splits[s]) for s in ("train", "dev", "test"))
    report.splits = {s: len(splits[s]) for s in SPLITS}
    return splits, report


def where(row: Row) -> str:
    return f"{row[0]}, line {row[1]}"
