"""Watch a model think: its answer after every supervision step, with the halting probability.

One function, `think`, computes the steps; `trmlab solve` prints them and `trmlab demo`
draws them, so both always show the same numbers. Questions that the model cannot read
(empty, longer than its question field, characters its tokenizer does not know, a board
of the wrong size) raise `QuestionError` with a message meant for the user.
"""
from __future__ import annotations

import math

from dataclasses import dataclass

import torch

from ..tokenizer import EOS, SPECIALS, UNK


class QuestionError(ValueError):
    """A question this model cannot read; the message says why, `reason` names the kind
    (empty, unknown characters, too long, board size) for counting."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class Step:
    number: int  # 1-based supervision step
    answer: str  # decoded answer, as evaluation scores it (a grid: the whole board, row-major, '?' for a special token)
    halt_prob: float | None  # sigmoid of the halting logit; None for a model without a halting head
    residual: float | None = None  # |f(s) - s| / |f(s)| of this step's state (0 at a fixed point)
    slots: tuple[int, ...] = ()  # the raw token ids of the answer slots (or the LM's generated tokens)

    @property
    def ended(self) -> bool:
        """Whether the answer ends with an EOS inside the answer field; without one, the decoded
        answer is every slot's token (an unfinished answer, which evaluation scores as it is)."""
        return EOS in self.slots

    @property
    def halt_text(self) -> str:
        """The probability as `trmlab solve` and the demo show it."""
        return "" if self.halt_prob is None else f"{self.halt_prob:.3f}"


@dataclass
class Thinking:
    question: str  # as the model read it (a pasted board: its line breaks removed)
    steps: list[Step]
    grid_shape: tuple[int, int] | None  # (rows, cols) for a grid model, None for text

    @property
    def halt_step(self) -> int | None:
        """The first step whose halting probability passes 0.5 (where the head would stop), as in evaluation."""
        return next((s.number for s in self.steps if s.halt_prob is not None and s.halt_prob > 0.5), None)


def slot_tokens(ids, tokenizer) -> list[str]:
    """Each raw slot as text: a special token by its name (<eos>, <pad>), any other as the
    quoted text of that one token. What `trmlab solve --raw` prints."""
    return [SPECIALS[i] if i < len(SPECIALS) else repr(tokenizer.decode([i])) for i in map(int, ids)]


def question_limit(cfg) -> int:
    """The longest question (in tokens) this model reads: a fixed question width where the
    model has one (the mlp mixer); up to its positions for a model that answers in place and
    reads locally or without positions (`reads_any_length`); else the run's data limit."""
    fixed = getattr(cfg.model, "question_len", 0)
    if fixed:
        return fixed
    if reads_any_length(cfg):
        return cfg.model.max_positions - getattr(cfg.model, "n_registers", 0)
    return cfg.data.max_question_len


def reads_any_length(cfg) -> bool:
    """Whether a model reads questions longer than any it trained on as it reads the trained ones:
    answered in place (no answer field to outgrow) with a local attention window or no positions,
    so a longer question shows it nothing a trained one did not. Full attention over RoPE positions
    would meet distances it never saw."""
    m = cfg.model
    return (not m.answer_len and getattr(m, "mixer", "attention") == "attention"
            and (getattr(m, "window", 0) > 0 or getattr(m, "positions", "rope") == "none"))


def grid_shape(cfg) -> tuple[int, int] | None:
    """(rows, cols) of a grid model's boards; None for a text model (answered in place or not)."""
    if cfg.model.answer_len:
        return None
    from ..data import make_data_task
    task = make_data_task(cfg.data)
    return task.shape() if hasattr(task, "shape") else None


def encode_question(question: str, tokenizer, cfg, shape: tuple[int, int] | None = None) -> list[int]:
    """Token ids of a question, or QuestionError saying why the model cannot read it."""
    if not question.strip():
        raise QuestionError("the question is empty", "empty")
    ids = tokenizer.encode(question)
    if UNK in ids:  # a char tokenizer maps characters outside its alphabet to <unk>: never guess
        unknown = tokenizer.unknown(question)
        what = "word" if tokenizer.kind == "word" else "character"
        raise QuestionError(f"this model's tokenizer does not know the {what}(s) "
                            f"{' '.join(map(repr, unknown))}", f"unknown {what}s")
    if shape is not None and getattr(cfg.model, "grid_2d", False):  # any square board (model.grid_2d)
        if math.isqrt(len(ids)) ** 2 != len(ids):
            raise QuestionError(f"this model reads square boards of any side (row-major); got {len(ids)} cells",
                                "board size")
    elif shape is not None:
        rows, cols = shape
        if len(ids) != rows * cols:
            raise QuestionError(f"a board has {rows * cols} cells ({rows}x{cols}, row-major); got {len(ids)}",
                                "board size")
    limit = question_limit(cfg)
    if len(ids) > limit:
        why = ("its positions" if reads_any_length(cfg) else
               "the longest it trained on (data.max_question_len); only a model that answers in place with "
               "local attention or no positions reads longer ones")
        raise QuestionError(f"the question has {len(ids)} tokens; this model reads at most {limit}: {why}",
                            "too long")
    return ids


def board_input(text: str) -> str:
    """A pasted board as one row-major string: line breaks and blank lines are dropped, every
    other character is a cell (a maze's open cell is a space)."""
    lines = [line for line in text.replace("\r", "").split("\n") if line.strip()]
    return "".join(lines) if len(lines) > 1 else text.strip("\n")


@torch.no_grad()
def think(model, cfg, tokenizer, question: str, steps: int | None = None, until_settled: int = 0) -> Thinking:
    """The model's answer after each of `steps` supervision steps (default: its trained N_sup, or
    its size rule's count; more is allowed). With `until_settled` = k, the steps end where the
    answer has been the same for k iterations (at most `steps`, default SETTLE_CAP). A transformer
    LM has one step and no halting head."""
    from .evaluate import board_text, settle_steps
    if until_settled and cfg.model.recursive:
        steps = steps or SETTLE_CAP
    shape = grid_shape(cfg)
    if shape is not None:
        question = board_input(question)
    ids = encode_question(question, tokenizer, cfg, shape)
    if shape is not None and getattr(cfg.model, "grid_2d", False):  # the board's own side
        shape = (math.isqrt(len(ids)),) * 2
    if steps is not None and steps < 1:
        raise ValueError("steps must be at least 1")
    device = next(model.parameters()).device
    width = cfg.model.fixed_question_width or len(ids)
    batch = {"question": torch.zeros(1, width, dtype=torch.long, device=device),
             "question_len": torch.tensor([len(ids)], device=device)}
    batch["question"][0, :len(ids)] = torch.tensor(ids)
    out = model.predict(batch, steps if cfg.model.recursive else None)
    halts, residuals = out.get("halt_logits"), out.get("residuals")
    in_place = not cfg.model.answer_len  # one answer token per question token (a board, a bit string)
    decode = (lambda t: board_text(t, tokenizer)) if in_place else tokenizer.decode
    thought = [Step(i + 1, decode(tokens[0].cpu()), None if halts is None else torch.sigmoid(halts[i, 0]).item(),
                    None if residuals is None else residuals[i, 0].item(),
                    () if in_place else tuple(tokens[0].cpu().tolist()))  # in place: no slots, no EOS
               for i, tokens in enumerate(out["tokens"])]
    if until_settled and len(thought) > 1:
        changed = torch.tensor([[True]] + [[a.answer != b.answer] for a, b in zip(thought[1:], thought)])
        thought = thought[:int(settle_steps(changed, until_settled)[0])]
    return Thinking(question, thought, shape)


SETTLE_CAP = 256  # the most iterations `until_settled` runs when no step count is given
