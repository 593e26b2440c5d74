"""The report's test-time cost section: what each answer costs, beside how often it is right.

Models that think for different lengths (a loop for T(n) iterations, an LM writing a trace token by
token, an LSTM reading once) are compared on accuracy and on the FLOPs and milliseconds they spend per
question (`evaluation/cost.py`), and per *solved* question: the cost divided by the accuracy, the
price of one right answer (none where nothing is solved). Accuracy here is each model's headline
readout: the stop for a recursive model, every state of the trace right for a chain-of-thought model
(what the in-place models are scored on: every running state right), the one pass otherwise.
"""
from __future__ import annotations

from ..report import human, table
from ..stats import fmt
from .extrapolation import size_label, stop_key

STATES = "states_accuracy"  # a trace model's running states, all right (`score_predictions` of a trace task)


def headline_key(m) -> str:
    if any(s.get(STATES) is not None for _, s in m.evals("test")):
        return STATES
    return stop_key(m)


def costs(m, split: str, key: str) -> float | None:
    values = [s["cost"][key] for _, s in m.evals(split) if s.get("cost")]
    return sum(values) / len(values) if values else None


def section(view) -> list[str]:
    splits = [s for s in view.tested if any(costs(m, s, "flops_per_question") is not None for m in view.ms)]
    if not splits:
        return []
    labels = size_label(splits, view.ms[0])
    rows, solved = [], []
    for m in view.ms:
        key = headline_key(m)
        row, per_solved = [m.name], [m.name]
        for s in splits:
            acc, flops, ms = m.desc(s, key)["mean"], costs(m, s, "flops_per_question"), costs(m, s, "ms_per_question")
            steps = costs(m, s, "steps_per_question")
            row.append("—" if flops is None else f"{fmt(m.desc(s, key))} · {human(flops)} · {ms:.2f} ms · {steps:.0f}")
            per_solved.append("—" if flops is None else "none solved" if not acc else
                              f"{human(flops / acc)} · {ms / acc:.2f} ms")
        rows.append(row)
        solved.append(per_solved)
    lines = ["### The cost of an answer", "",
             "Per question, at each size: accuracy (the model's headline readout: the stop for a recursive "
             "model, every running state right for a trace-writing LM, the one pass otherwise) · test-time "
             "FLOPs (matmuls, the LM with its KV cache) · milliseconds (the set's first questions in one batch, "
             "one thread, this machine) · iterations, or tokens generated. Means over seeds.", "",
             table(["model"] + [labels[s] for s in splits], rows), "",
             "The price of a right answer: FLOPs and milliseconds per question divided by the accuracy.", "",
             table(["model"] + [labels[s] for s in splits], solved), ""]
    return lines + trace_scores(view, splits, labels)


def trace_scores(view, splits: list[str], labels: dict) -> list[str]:
    """A trace-writing model's three scores: the whole trace, its running states, its final state."""
    traced = [m for m in view.ms if headline_key(m) == STATES]
    if not traced:
        return []
    rows = [[m.name] + [" / ".join(fmt(m.desc(s, k)) for k in ("accuracy", STATES, "final_accuracy")) for s in splits]
            for m in traced]
    return ["Trace-writing models: the whole trace exact / every running state right / the final state right.", "",
            table(["model"] + [labels[s] for s in splits], rows), ""]

