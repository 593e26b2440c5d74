"""Your own questions: a JSONL file of {"question", "answer"} lines as an evaluation split.

Answers are scored with the tasks' one rule (`answers_match`); a GSM8K-style worked
answer ending in `#### N` is scored on N. A model that answers in place (prefix parity, the
shell game, a board) is scored on the whole answer written over the question, one character per
question character, fillers included (`_` in the shell game), as its task scores it. A line the
model cannot read (question too long, characters its tokenizer does not know, an answer longer
than its answer field or not as long as an in-place question, a board of the wrong size) is left
out and counted with its reason, never truncated. Each line's size is its question's length in
tokens (`difficulty`), so `trmlab eval --file` reports accuracy by length when lines differ.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from ..data import EncodedSplit, encode, make_data_task
from ..tasks import Example
from ..tasks.real.base import number_text
from ..tokenizer import UNK
from .think import QuestionError, board_input, encode_question, grid_shape, question_limit


def read_question_file(path: str | Path, tokenizer, cfg) -> tuple[EncodedSplit, dict[str, list[int]]]:
    """(the lines that fit, as a split; {reason: line numbers} of those that do not).
    A line that is not a JSON object with string question and answer is an error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no question file at {path}")
    shape = grid_shape(cfg)
    kept, left_out = [], defaultdict(list)
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        example = _example(line, f"{path}:{number}")
        if shape is not None:  # a board may be written over several lines
            example = Example(board_input(example.question), board_input(example.answer), 0)
        problem = _problem(example, tokenizer, cfg, shape)
        if problem:
            left_out[problem].append(number)
        else:
            kept.append(Example(example.question, example.answer, len(tokenizer.encode(example.question))))
    if not kept:
        raise ValueError(f"{path}: no line fits this model" + (f" ({summary(left_out)})" if left_out else ""))
    unscored = make_data_task(cfg.data).unscored if not cfg.data.answer_len else ""  # e.g. ARC's padding
    return (encode(kept, tokenizer, cfg.data.answer_len, question_limit(cfg), "error", where=f"{path}: ",
                   unscored=unscored), dict(left_out))


def _example(line: str, where: str) -> Example:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}: not a JSON line ({e})") from e
    if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("question", "answer")):
        raise ValueError(f'{where}: each line needs {{"question": "...", "answer": "..."}} (strings)')
    answer = row["answer"]
    body, marker, final = answer.rpartition("####")
    if marker:  # GSM8K: a worked solution ending in "#### N"
        answer = number_text(final)
    return Example(row["question"], answer, difficulty=0)


def _problem(example: Example, tokenizer, cfg, shape) -> str | None:
    """Why the model cannot be scored on this line, or None."""
    try:
        encode_question(example.question, tokenizer, cfg, shape)
    except QuestionError as e:
        return f"question: {e.reason}"
    answer = tokenizer.encode(example.answer)
    if UNK in answer:
        return "answer: unknown characters"
    if shape is not None and len(answer) != len(example.question):
        return "answer: board size"
    if shape is None and not cfg.data.answer_len and len(answer) != len(tokenizer.encode(example.question)):
        return "answer: not one character per question character (this model answers in place)"
    if shape is None and cfg.data.answer_len and len(answer) + 1 > cfg.data.answer_len:  # + EOS
        return f"answer: longer than the model's {cfg.data.answer_len - 1}-token field"
    return None


def summary(left_out: dict[str, list[int]]) -> str:
    """'2 question: too long (lines 3, 5); 1 answer: unknown characters (line 7)'."""
    parts = []
    for reason, lines in sorted(left_out.items()):
        shown = ", ".join(map(str, lines[:8])) + (", ..." if len(lines) > 8 else "")
        parts.append(f"{len(lines)} {reason} (line{'s' if len(lines) > 1 else ''} {shown})")
    return "; ".join(parts)
