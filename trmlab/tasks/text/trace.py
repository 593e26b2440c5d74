"""Chain-of-thought traces for the in-place state-tracking tasks (their `trace` knob): each input item
copied, an arrow, the state after it (`1>1 0>1 1>0`, `AB>B,CA>B`), written and read back here for
every such task."""
from __future__ import annotations

from ..base import Example, normalize_answer

TRACE_ARROW = ">"  # between an item's copied input and the state after it


def write_trace(inputs, states, separator: str) -> str:
    """`input>state` for every item, joined by the task's separator."""
    return separator.join(f"{i}{TRACE_ARROW}{s}" for i, s in zip(inputs, states, strict=True))


def read_trace(text: str, separator: str) -> tuple[list[str], list[str]] | None:
    """(copied inputs, states) of a written trace, normalised as `answers_match` reads answers;
    None when malformed (an item without exactly one arrow). Reads text only, never the generator."""
    items = [item.split(TRACE_ARROW) for item in normalize_answer(text).split(separator)]
    if any(len(item) != 2 for item in items):
        return None
    return [i for i, _ in items], [s for _, s in items]


def score_traces(examples: list[Example], predictions: list[str], separator: str, truth) -> dict:
    """Shares of predicted traces with every state right, the last state right, the inputs copied
    right; `truth(question)` gives the true (inputs, states). A malformed trace, or one with the
    wrong number of items, is wrong on all three."""
    right = {"states_accuracy": 0, "final_accuracy": 0, "copy_accuracy": 0}
    for ex, pred in zip(examples, predictions, strict=True):
        inputs, states = ([s.lower() for s in part] for part in truth(ex.question))
        read = read_trace(pred, separator)
        if read is None or len(read[1]) != len(states):
            continue
        right["states_accuracy"] += read[1] == states
        right["final_accuracy"] += read[1][-1] == states[-1]
        right["copy_accuracy"] += read[0] == inputs
    return {k: v / max(len(examples), 1) for k, v in right.items()}
